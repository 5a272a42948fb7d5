"""Notify: the pipeline's exit handler; alerts when any step of the run failed."""
