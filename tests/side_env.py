"""The test servers' own virtual environments (MLflow, MLServer), whose pins clash with ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from driftgate.registry.locking import file_lock

LOCKS = Path(__file__).resolve().parent.parent / ".cache"


def ensure_env(venv: Path, pins: Path, *requirements: str) -> Path:
    """The environment at ``venv``, built with ``requirements`` (pip arguments) when missing.

    It is rebuilt when ``pins`` has changed since it was built, and a lock in ``.cache`` keeps two
    test workers from building it at the same time. It gets no pip of its own: this
    environment's pip installs into it (``pip --python``), and bytecode is not compiled up
    front, since a server imports a fraction of what it installs and Python compiles that on
    first import. For requirements-mlflow.lock this takes 9 s instead of 43 s.

    Returns:
        The environment's ``bin`` folder.
    """
    stamp = venv / ".installed"
    LOCKS.mkdir(exist_ok=True)
    with file_lock(LOCKS / f"{venv.name}.lock", timeout=1800, holder="another test worker"):
        if not stamp.is_file() or stamp.read_text() != pins.read_text():
            subprocess.run(
                [sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], check=True
            )
            subprocess.run(
                [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python",
                 str(venv / "bin" / "python"), "install", "--quiet", "--no-compile",
                 *requirements],
                check=True,
            )  # fmt: skip
            stamp.write_text(pins.read_text())
    return venv / "bin"
