"""Evaluate: TFMA comparison of the candidate with the deployed model; decides the blessing."""
