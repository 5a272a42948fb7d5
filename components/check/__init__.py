"""Check: drift against the reference statistics and performance of the deployed model."""
