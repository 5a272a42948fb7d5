"""Writes the config and CLI reference pages from the code, so they cannot drift from it.

``python scripts/docs_reference.py OUT_DIR`` writes ``OUT_DIR/config.md`` (every field of the
pipeline config: dotted name, type, default, description) and ``OUT_DIR/cli.md`` (every
sub-command with its usage and options). ``make docs`` runs it before ``mkdocs build``; the docs
pages include both files. Descriptions come from each settings class's Google-style
``Attributes:`` docstring section (or a pydantic ``Field(description=...)``); a field with
neither fails the script with its name.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python
from typing_extensions import is_typeddict

SECTION = re.compile(r"^(?P<indent>\s*)(?P<title>[A-Z][A-Za-z ]*):\s*$")
ENTRY = re.compile(r"^(?P<name>\w+)(?: \([^)]*\))?:\s*(?P<text>.*)$")
ROLE = re.compile(r":(?:mod|class|func|meth|attr|data|obj):`~?([^`]+)`")
LIST_ITEM = re.compile(r"^\s*(\d+\.|[-*]) ")
UNDESCRIBED = "(undescribed)"


@dataclass(frozen=True)
class FieldDoc:
    """One config field as the reference lists it.

    Attributes:
        name: Dotted name from the top of the config (``*`` stands for a mapping's key, ``[]``
            for a list's items).
        type: The field's type, as it reads in YAML terms.
        default: The default, or ``required``.
        description: The sentence(s) from its class's docstring.
        owner: ``module.Class.field``, where the description lives.
    """

    name: str
    type: str
    default: str
    description: str
    owner: str


def attribute_docs(cls: type) -> dict[str, str]:
    """The ``Attributes:`` section of a class's Google-style docstring, name to text."""
    lines = (inspect.getdoc(cls) or "").splitlines()
    found: dict[str, str] = {}
    inside, entry_indent, current = False, None, None
    for line in lines:
        header = SECTION.match(line)
        if header and not inside and header["title"] == "Attributes":
            inside = True
            continue
        if not inside:
            continue
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if header and indent == 0:
            break
        entry_indent = indent if entry_indent is None else entry_indent
        match = ENTRY.match(line.strip())
        if indent == entry_indent and match:
            current = match["name"]
            found[current] = match["text"]
        elif indent > entry_indent and current:
            found[current] += " " + line.strip()
        else:
            break
    return found


def _unwrap(annotation: Any) -> Any:
    """``annotation`` without its ``Annotated`` wrappers."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def type_name(annotation: Any) -> str:
    """A short, readable name of a field's type (``int | 'auto'``, ``list[str]``)."""
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        parts = [type_name(a) for a in get_args(annotation) if a is not NoneType]
        optional = NoneType in get_args(annotation)
        return " | ".join(parts + (["null"] if optional else []))
    if origin is Literal:
        return " | ".join(
            json.dumps(v) if isinstance(v, str) else str(v) for v in get_args(annotation)
        )
    if origin in (list, dict, tuple):
        return f"{origin.__name__}[{', '.join(type_name(a) for a in get_args(annotation))}]"
    if annotation is Any:
        return "any"
    if annotation is NoneType:
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _models(annotation: Any, suffix: str = "") -> list[tuple[type, str]]:
    """The settings classes inside a field's type, each with the name suffix its fields take."""
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return [m for a in get_args(annotation) for m in _models(a, suffix)]
    if origin is dict:
        return _models(get_args(annotation)[1], suffix + ".*")
    if origin is list:
        return _models(get_args(annotation)[0], suffix + "[]")
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return [(annotation, suffix)] if is_model or is_typeddict(annotation) else []


def _yaml(value: Any) -> str:
    """A default as it would be written in the YAML config."""
    if isinstance(value, BaseModel):
        return "(see its fields)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value) if value == "" else value
    return json.dumps(to_jsonable_python(value), ensure_ascii=False)


def _fields(cls: type) -> list[tuple[str, Any, str, str | None]]:
    """Name, type, default and ``Field`` description of each field of a model or TypedDict."""
    if is_typeddict(cls):
        return [
            (n, a, "(the default above)", None)
            for n, a in get_type_hints(cls, include_extras=True).items()
        ]
    rows = []
    for name, info in cls.model_fields.items():
        if info.is_required():
            default = "required"
        elif info.default_factory is not None:
            default = _yaml(info.default_factory())
        else:
            default = _yaml(info.default if info.default is not PydanticUndefined else None)
        rows.append((name, info.annotation, default, info.description))
    return rows


def config_fields(root: type, prefix: str = "") -> list[FieldDoc]:
    """Every field under ``root``, depth first, nested fields right after their parent."""
    docs = attribute_docs(root)
    rows: list[FieldDoc] = []
    for name, annotation, default, described in _fields(root):
        owner = f"{root.__module__}.{root.__qualname__}.{name}"
        text = described or docs.get(name) or UNDESCRIBED
        rows.append(FieldDoc(prefix + name, type_name(annotation), default, text, owner))
        for model, suffix in _models(annotation):
            rows += config_fields(model, f"{prefix}{name}{suffix}.")
    return rows


def check_described(rows: list[FieldDoc]) -> None:
    """Raises for every field without a description, naming each.

    Raises:
        SystemExit: A field has no description.
    """
    missing = sorted(f"{r.name} ({r.owner})" for r in rows if r.description == UNDESCRIBED)
    if missing:
        raise SystemExit(
            "docs_reference: config field(s) without a description: "
            + "; ".join(missing)
            + ": add each to its class's Attributes: docstring section"
        )


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (RST roles and pipes removed)."""
    return ROLE.sub(r"`\1`", text).replace("|", "\\|").replace("\n", " ")


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-")


def config_page(rows: list[FieldDoc]) -> str:
    """The config reference: the top-level fields, then one table per section."""
    tops = [r.name for r in rows if "." not in r.name and "[" not in r.name]
    sections = {r.name.split(".")[0] for r in rows if "." in r.name}
    groups: dict[str, list[FieldDoc]] = {"": []}
    for row in rows:
        top = row.name.split(".")[0]
        groups.setdefault(top if top in sections else "", []).append(row)
    out = []
    for top in ["", *(t for t in tops if t in sections)]:
        out += ["", f"## `{top}`" if top else "## Top-level fields", ""]
        out += ["| field | type | default | description |", "| --- | --- | --- | --- |"]
        for row in groups[top]:
            name = f'<span id="{_anchor(row.name)}"></span>`{row.name}`'
            default = row.default if row.default[0] == "(" else f"`{_cell(row.default)}`"
            default = "required" if row.default == "required" else default
            out.append(f"| {name} | `{_cell(row.type)}` | {default} | {_cell(row.description)} |")
    return "\n".join(out).lstrip() + "\n"


def _paragraphs(text: str) -> list[str]:
    """A command's description as Markdown: paragraphs joined, numbered lists kept."""
    out = []
    for block in re.split(r"\n\s*\n", inspect.cleandoc(text)):
        lines = block.splitlines()
        if LIST_ITEM.match(lines[0]):
            out.append("\n".join(ROLE.sub(r"`\1`", line) for line in lines))
        else:
            out.append(ROLE.sub(r"`\1`", " ".join(line.strip() for line in lines)))
    return out


def commands(
    parser: argparse.ArgumentParser, path: str = "driftgate"
) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """Every sub-command under ``parser``, depth first: its full name, help and parser."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, sub in action.choices.items():
                full = f"{path} {name}"
                found.append((full, helps.get(name, ""), sub))
                found += commands(sub, full)
    return found


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """The option table of one command (positional arguments included)."""
    formatter = parser._get_formatter()
    rows = ["| option | default | help |", "| --- | --- | --- |"]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        flags = ", ".join(action.option_strings) or action.dest
        if action.nargs != 0:
            metavar = action.metavar or (
                "{" + ",".join(map(str, action.choices)) + "}"
                if action.choices
                else action.dest.upper()
            )
            flags += f" {metavar}" if action.option_strings else ""
        required = " (required)" if action.required and action.option_strings else ""
        default = action.default
        shown = "" if default in (None, False, argparse.SUPPRESS) else f"`{_cell(str(default))}`"
        text = formatter._expand_help(action) if action.help else ""
        rows.append(f"| `{_cell(flags)}`{required} | {shown} | {_cell(text)} |")
    return rows


def cli_page(parser: argparse.ArgumentParser) -> str:
    """The CLI reference: the top-level usage, then each sub-command."""
    out = ["```text", parser.format_help().rstrip(), "```"]
    for full, text, sub in commands(parser):
        out += ["", f"## `{full}`", ""]
        if text:
            out += [text[0].upper() + text[1:].rstrip(".") + ".", ""]
        if sub.description and sub.description != text:
            out += [p for paragraph in _paragraphs(sub.description) for p in (paragraph, "")]
        out += ["```text", sub.format_usage().strip(), "```", ""]
        out += _options(sub)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Writes ``config.md`` and ``cli.md`` into the folder named on the command line."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("output", type=Path, help="folder the generated pages go to")
    args = cli.parse_args(argv)
    os.environ["COLUMNS"] = "100"  # argparse wraps usage to the terminal width
    from driftgate.pipelines.cli import build_parser
    from driftgate.pipelines.config import Config

    rows = config_fields(Config)
    check_described(rows)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "config.md").write_text(config_page(rows))
    parser = build_parser()
    (args.output / "cli.md").write_text(cli_page(parser))
    print(
        f"wrote {args.output}/config.md ({len(rows)} fields) and cli.md "
        f"({len(commands(parser))} commands)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
