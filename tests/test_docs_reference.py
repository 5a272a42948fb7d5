"""The generated docs references list every config field and every CLI command, and nothing else."""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import pytest
from pydantic import BaseModel
from typing_extensions import is_typeddict

from driftgate.pipelines.cli import build_parser
from driftgate.pipelines.config import Config

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "docs_reference.py"
LISTED = re.compile(r'^\| <span id="[^"]*"></span>`([^`]+)`', re.MULTILINE)


def _load_script():
    spec = importlib.util.spec_from_file_location("docs_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("reference")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {name: (out / f"{name}.md").read_text() for name in ("config", "cli")}


def _settings_fields(cls: Any, prefix: str = "") -> list[str]:
    """Every field's dotted name, from the classes themselves (``*``: a key, ``[]``: an item)."""
    if is_typeddict(cls):
        fields = get_type_hints(cls, include_extras=True)
    else:
        fields = {name: info.annotation for name, info in cls.model_fields.items()}
    names = []
    for name, annotation in fields.items():
        names.append(prefix + name)
        stack = [(annotation, "")]
        while stack:
            node, suffix = stack.pop()
            origin = get_origin(node)
            if origin in (Annotated, Union, UnionType):
                args = get_args(node)[:1] if origin is Annotated else get_args(node)
                stack += [(a, suffix) for a in args]
            elif origin is dict:
                stack.append((get_args(node)[1], suffix + ".*"))
            elif origin is list:
                stack.append((get_args(node)[0], suffix + "[]"))
            elif (isinstance(node, type) and issubclass(node, BaseModel)) or is_typeddict(node):
                names += _settings_fields(node, f"{prefix}{name}{suffix}.")
    return names


def test_the_config_reference_lists_every_settings_field_and_nothing_else(pages):
    listed = LISTED.findall(pages["config"])
    expected = _settings_fields(Config)
    assert len(listed) == len(set(listed)), "a field is listed twice"
    assert set(listed) == set(expected), {
        "missing": sorted(set(expected) - set(listed)),
        "extra": sorted(set(listed) - set(expected)),
    }
    for name in ("gate.budget.gpu_hours", "drift.features.*.js", "data.label"):
        assert name in listed


def test_the_config_reference_gives_type_default_and_description(pages):
    row = next(line for line in pages["config"].splitlines() if "`gate.budget.period_days`" in line)
    _, kind, default, text = (cell.strip() for cell in row.strip("| ").split(" | "))
    assert (kind, default) == ("`float`", "`30.0`")
    assert text.startswith("The trailing period"), row


def _commands(parser: argparse.ArgumentParser, path: str) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[f"{path} {name}"] = sub
                found |= _commands(sub, f"{path} {name}")
    return found


def test_the_cli_reference_has_every_sub_command_and_its_options(pages):
    sections = dict(
        re.findall(r"^## `(driftgate[^`]*)`\n(.*?)(?=^## |\Z)", pages["cli"], re.M | re.S)
    )
    commands = _commands(build_parser(), "driftgate")
    assert {"driftgate run", "driftgate replay", "driftgate schema diff"} <= set(commands)
    assert set(sections) == set(commands)
    for name, parser in commands.items():
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert flag in sections[name], f"{name}: {flag} is not in the reference"


def test_a_field_without_a_description_fails_with_its_name():
    script = _load_script()

    class Documented(BaseModel):
        """A settings class.

        Attributes:
            level: How high, over
                two lines.
        """

        level: int = 1
        colour: str = "red"

    rows = script.config_fields(Documented)
    assert rows[0].description == "How high, over two lines."
    with pytest.raises(SystemExit, match=r"colour .*Documented\.colour"):
        script.check_described(rows)
    script.check_described(rows[:1])  # every field described: no error
