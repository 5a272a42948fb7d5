"""The test servers' own virtual environments (MLflow, MLServer), whose pins clash with ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def build_env(venv: Path, *requirements: str) -> None:
    """A fresh virtual environment at ``venv`` with ``requirements`` (pip arguments) installed.

    It gets no pip of its own: this environment's pip installs into it (``pip --python``), and
    bytecode is not compiled up front, since a server imports a fraction of what it installs
    and Python compiles that on first import. For requirements-mlflow.lock this takes 9 s
    instead of 43 s.
    """
    subprocess.run(
        [sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], check=True
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python",
         str(venv / "bin" / "python"), "install", "--quiet", "--no-compile", *requirements],
        check=True,
    )  # fmt: skip
