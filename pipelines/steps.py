"""The pipeline's steps in DAG order, and which of them need what on the cluster."""

STEPS = ("ingest", "validate", "check", "decide", "train", "evaluate", "push", "notify")
# Train, evaluate and push need TensorFlow or TFMA (the train image); the rest, the gate image.
TRAIN_STEPS = ("train", "evaluate", "push")
GATE_STEPS = tuple(step for step in STEPS if step not in TRAIN_STEPS)
# Never cached: a recurring run with the same parameters reads fresh data.
ALWAYS_FRESH = ("ingest", "validate", "check")
# Send alerts (the webhook Secret).
ALERTING = ("validate", "decide", "evaluate", "notify")
# Log to MLflow (its credentials Secret).
TRACKING = ("train", "evaluate", "push")
# Verify, load, write or sign model directories (the signing-key Secret, when signing is on).
MODEL_STEPS = ("validate", "check", "train", "evaluate", "push")
