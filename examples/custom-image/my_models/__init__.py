"""The team's own model code, importable in the training image as ``my_models``."""
