"""driftgate: drift-gated retraining for Kubeflow Pipelines."""

__version__ = "0.1.0"
