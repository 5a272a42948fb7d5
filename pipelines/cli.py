"""The ``driftgate`` command line: the parser and the entry point.

Each group of commands lives in its own module with its parser: ``run_cli`` (run, demo,
compile), ``replay_cli``, ``schema_cli``, ``labels_cli``, ``registry_cli`` (versions, rollback,
prune), ``stats_cli`` and ``remote_cli`` (submit, schedule).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from driftgate import __version__
from driftgate.errors import DriftgateError

DESCRIPTION = """\
driftgate keeps ML models fresh on Kubeflow Pipelines: each run validates a new data batch,
checks it for drift and for a drop in the deployed model's quality, and only then spends a GPU
on retraining, evaluates the candidate against the deployed model, and pushes it if it is better.

Start with `driftgate demo`; then `driftgate run --local --batch FILE --config YOURS.yaml`.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per action."""
    from driftgate.pipelines import (
        labels_cli,
        registry_cli,
        remote_cli,
        replay_cli,
        run_cli,
        schema_cli,
        stats_cli,
    )

    parser = argparse.ArgumentParser(
        prog="driftgate",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"driftgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_help = "pipeline config YAML (default: the embedded penguins example)"

    for commands in (
        run_cli,
        replay_cli,
        schema_cli,
        labels_cli,
        registry_cli,
        stats_cli,
        remote_cli,
    ):
        commands.add_parser(sub, config_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``driftgate`` console script."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DriftgateError as exc:
        print(f"driftgate: error: {exc.one_line()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("driftgate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: nothing left to say
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
