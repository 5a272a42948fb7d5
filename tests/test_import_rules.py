"""The layout's import rules, checked on the source.

The library (``driftgate/``) never imports the steps or the pipelines, a step
(``components/``) never imports the pipelines, and the steps that run while the gate is closed
load neither TensorFlow nor TFMA.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLOSED_GATE_STEPS = ("ingest", "validate", "check", "decide", "notify")
HEAVY = ("tensorflow", "tensorflow_model_analysis")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name a file imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def breaches(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    """``file: module`` for each import under ``folder`` of a forbidden package."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in sorted(imported_modules(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)}: {name}")
    return found


def test_the_library_never_imports_the_steps_or_the_pipelines():
    assert breaches("driftgate", ("driftgate.components", "driftgate.pipelines")) == []


def test_the_steps_never_import_the_pipelines():
    assert breaches("components", ("driftgate.pipelines",)) == []


def test_the_rule_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "step.py"
    source.write_text("def run():\n    from driftgate.pipelines.config import Config\n")
    assert "driftgate.pipelines.config" in imported_modules(source)


@pytest.mark.parametrize("step", CLOSED_GATE_STEPS)
def test_a_closed_gate_step_loads_neither_tensorflow_nor_tfma(step):
    probe = (
        "import importlib, sys\n"
        f"importlib.import_module('driftgate.components.{step}.core')\n"
        f"importlib.import_module('driftgate.components.{step}.component')\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{step} loads {result.stdout.strip()}"
