"""``driftgate versions``, ``rollback`` and ``prune``: a model's versions in the registry."""

from __future__ import annotations

import argparse

from driftgate.pipelines.cli_options import add_registry_options, say


def add_parser(sub: argparse._SubParsersAction, config_help: str) -> None:
    """Registers ``versions``, ``rollback`` and ``prune`` on the CLI's sub-command parser."""
    for name, text in (
        ("versions", "list a model's versions: metrics, creation time, production"),
        ("rollback", "point production at an earlier verified version"),
        ("prune", "delete all but the newest versions (never production, its parent or previous)"),
    ):
        command = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        add_registry_options(command, config_help)
        if name == "versions":
            command.add_argument(
                "--verify", action="store_true", help="check every file's checksum too"
            )
            command.add_argument("--json", action="store_true", help="print JSON")
            command.set_defaults(func=cmd_versions)
        elif name == "prune":
            command.add_argument(
                "--keep", type=int, required=True, help="how many of the newest versions to keep"
            )
            command.set_defaults(func=cmd_prune)
        else:
            command.add_argument(
                "--to", type=int, help="the version to serve (default: the one before production)"
            )
            command.set_defaults(func=cmd_rollback)


def _registry(args: argparse.Namespace):
    from driftgate.pipelines.config import load_config
    from driftgate.registry.store import Registry

    model = args.model or load_config(args.config).model_name
    return Registry(args.registry, model)


def cmd_versions(args: argparse.Namespace) -> int:
    """Lists a model's versions with their metrics, creation time and production flag."""
    import json

    from driftgate.registry.versions import describe

    registry = _registry(args)
    rows = describe(registry, check=args.verify)
    if args.json:
        say(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    if not rows:
        say(f"no versions of {registry.model} in {registry.base}")
        return 0
    say(
        f"{'':2}{'version':>7}  {'created (UTC)':<25} {'accuracy':>8} {'f1':>6} {'parent':>6}  "
        f"{'format':<11} integrity"
    )
    for row in rows:
        accuracy, f1 = (_metric(row.metrics.get(m)) for m in ("accuracy", "f1"))
        parent = "–" if row.parent is None else row.parent
        say(
            f"{'* ' if row.production else '  '}{row.version:>7}  {row.created_at:<25} "
            f"{accuracy:>8} "
            f"{f1:>6} {parent:>6}  {row.format:<11} {row.integrity}"
        )
    say("* production")
    return 1 if args.verify and any(row.integrity != "verified" for row in rows) else 0


def cmd_prune(args: argparse.Namespace) -> int:
    """Deletes old versions, never production, its parent or the previous production version."""
    from driftgate.registry.retention import prune

    registry = _registry(args)
    deleted = prune(registry, args.keep)
    listed = ", ".join(map(str, deleted)) if deleted else "none"
    say(f"{registry.model}: deleted versions {listed}; kept {registry.versions()}")
    return 0


def _metric(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def cmd_rollback(args: argparse.Namespace) -> int:
    """Points production at an earlier, verified version."""
    from driftgate.observe.tracking import follow_production
    from driftgate.pipelines.config import load_config

    registry = _registry(args)
    previous, current = registry.rollback(args.to)
    say(
        f"{registry.model}: production moved from version {previous} to {current}; "
        "TF Serving switches "
        "within its config poll interval"
    )
    for line in follow_production(load_config(args.config).tracking, registry):
        say(line)
    return 0
