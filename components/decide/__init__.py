"""Decide: whether this run spends a GPU on retraining, and why."""
