"""Logging for pipeline steps: plain INFO lines on stdout, which KFP shows as the task log."""

from __future__ import annotations

import logging
import os
import sys
import warnings


def setup() -> None:
    """Sends INFO and above to stdout and silences TensorFlow's C++ start-up chatter."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    for noisy in ("absl", "apache_beam", "tensorflow", "h5py", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
