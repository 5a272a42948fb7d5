"""Logging for pipeline steps: plain INFO lines on stdout, which KFP shows as the task log."""

from __future__ import annotations

import logging
import os
import platform
import sys
import warnings

from driftgate import __version__


def setup() -> None:
    """Sends INFO and above to stdout and logs where the step runs.

    TensorFlow's start-up chatter is silenced; the version, interpreter and user are logged, so a
    task log tells which image ran it.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    for noisy in ("absl", "apache_beam", "tensorflow", "h5py", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("driftgate").info(
        "driftgate %s, Python %s at %s, uid %d",
        __version__,
        platform.python_version(),
        sys.executable,
        os.getuid(),
    )
