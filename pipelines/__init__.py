"""The retraining pipeline: its DAG, typed config and command-line interface."""
