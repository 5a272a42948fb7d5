"""What the ``driftgate`` command modules share: console output and the registry options."""

from __future__ import annotations

import argparse

DEFAULT_REGISTRY = ".driftgate/registry/store"


def say(line: str) -> None:
    """Prints a line of command output at once (progress lines interleave with task logs)."""
    print(line, flush=True)


def add_registry_options(parser: argparse.ArgumentParser, config_help: str) -> None:
    """Adds ``--registry``, ``--model`` and ``--config`` to a command that reads a registry."""
    parser.add_argument(
        "--registry",
        default=DEFAULT_REGISTRY,
        help="registry directory (default: %(default)s)",
    )
    parser.add_argument("--model", help="model name (default: the config's model_name)")
    parser.add_argument("--config", help=config_help)
