"""Writes requirements-gate.txt, the gate image's subset of requirements.lock.

The gate's steps (ingest, validate, check, decide, notify) import, besides the standard library
and driftgate itself, only the ROOTS below; the subset is their dependency closure as the
installed packages declare it, with each package pinned as in requirements.lock. No pin is
chosen here. Run from the project's virtual environment:

    .venv/bin/python scripts/gate_requirements.py            # rewrite requirements-gate.txt
    .venv/bin/python scripts/gate_requirements.py --check    # fail when it is out of date
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
OUTPUT = ROOT / "requirements-gate.txt"
ROOTS = (
    "kfp",  # the KFP executor that runs each step
    "pydantic",  # settings
    "pyarrow",  # tables, CSV and Parquet
    "numpy",
    "scipy",  # KS test in the drift check
    "scikit-learn",  # metrics; scoring a deployed scikit-learn model
    "pandas",  # scoring a deployed scikit-learn model
    "tensorflow-metadata",  # Schema, Anomalies and Statistics protos
    "PyYAML",
    "prometheus-client",  # Pushgateway metrics
)
HEADER = (
    "# The gate image's packages (ingest, validate, check, decide, notify): no TensorFlow,\n"
    "# TFMA or Beam. Generated from requirements.lock by scripts/gate_requirements.py.\n"
)


def canonical(name: str) -> str:
    """A distribution name in PEP 503 normal form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: tuple[str, ...]) -> set[str]:
    """Every installed distribution that ``roots`` need, extras and markers evaluated."""
    needed: set[str] = set()
    todo = [canonical(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonical(requirement.name))
    return needed


def subset() -> str:
    """The lines of requirements-gate.txt."""
    needed = closure(ROOTS)
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            pins[canonical(line.split("==")[0])] = line
    missing = sorted(needed - pins.keys())
    if missing:
        sys.exit(f"requirements.lock: no pin for {', '.join(missing)}; run `make lock`")
    return HEADER + "".join(pins[name] + "\n" for name in sorted(needed))


def main(argv: list[str]) -> int:
    """Writes or checks requirements-gate.txt."""
    text = subset()
    if argv[1:] == ["--check"]:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(
                f"{OUTPUT.name} is out of date with requirements.lock: run "
                ".venv/bin/python scripts/gate_requirements.py",
                file=sys.stderr,
            )
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
