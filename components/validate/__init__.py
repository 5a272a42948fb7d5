"""Validate: check the batch against the deployed schema (inferred on the first run)."""
