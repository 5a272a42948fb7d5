"""``driftgate run``, ``demo`` and ``compile``: the pipeline on one batch, its story, its YAML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from driftgate.pipelines.cli_options import DEFAULT_REGISTRY, say


def add_parser(sub: argparse._SubParsersAction, config_help: str) -> None:
    """Registers ``run``, ``demo`` and ``compile`` on the CLI's sub-command parser."""
    from driftgate.pipelines.demo import __doc__ as demo_story

    run = sub.add_parser(
        "run",
        help="run the pipeline once on a batch (KFP local runner)",
        description="Runs ingest → validate → check → decide and, if the gate opens, "
        "train → evaluate → push, each task as a local subprocess.",
    )
    run.add_argument(
        "--local", action="store_true", help="run with KFP's local subprocess runner (required)"
    )
    run.add_argument(
        "--batch",
        required=True,
        help="CSV or Parquet file, a directory (its oldest unprocessed batch), or an s3:// URI",
    )
    run.add_argument("--config", help=config_help)
    run.add_argument(
        "--registry",
        default=DEFAULT_REGISTRY,
        help="model registry directory (default: %(default)s)",
    )
    run.add_argument("--force", action="store_true", help="retrain even if the gate stays closed")
    run.add_argument(
        "--output-dir",
        default=".driftgate/runs",
        help="where task outputs go (default: %(default)s)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="stream every task's log")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser(
        "demo",
        help="the gate's story on the bundled penguins data: bootstrap, no drift, drift that "
        "does not hurt, a rerun, a real drop",
        description=demo_story,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--workdir",
        default=".driftgate/demo",
        help="scratch directory, emptied first (default: %(default)s)",
    )
    demo.add_argument("-v", "--verbose", action="store_true", help="stream every task's log")
    demo.set_defaults(func=cmd_demo)

    comp = sub.add_parser("compile", help="write the pipeline as KFP v2 YAML")
    comp.add_argument(
        "-o", "--output", default="pipeline.yaml", help="output file (default: %(default)s)"
    )
    comp.add_argument("--config", help=config_help)
    comp.set_defaults(func=cmd_compile)


def cmd_run(args: argparse.Namespace) -> int:
    """Runs the pipeline once on a batch with KFP's local runner."""
    from driftgate.pipelines.config import load_config
    from driftgate.pipelines.local_run import run_local
    from driftgate.pipelines.summary import format_summary

    if not args.local:
        raise SystemExit(
            "driftgate run: only --local runs exist here; use `driftgate submit` for a cluster"
        )
    config = load_config(args.config)
    say(f"driftgate run: model {config.model_name}, batch {args.batch}, registry {args.registry}")
    summary = run_local(
        config,
        args.batch,
        args.registry,
        force=args.force,
        output_root=args.output_dir,
        verbose=args.verbose,
        progress=sys.stdout,
    )
    for line in format_summary(summary):
        say(line)
    if summary.error:
        print(f"driftgate: error: {summary.error}", file=sys.stderr)
    return 0 if summary.succeeded else 1


def cmd_demo(args: argparse.Namespace) -> int:
    """Tells the demo's story on the bundled penguins data (see ``pipelines/demo.py``)."""
    from driftgate.pipelines.config import load_config
    from driftgate.pipelines.demo import run_demo
    from driftgate.pipelines.summary import decision_line, format_summary

    config = load_config(None)
    story = []

    def on_run(step, summary) -> None:
        for line in format_summary(summary):
            say(f"  {line}")
        if summary.error:
            print(f"driftgate: error: {summary.error}", file=sys.stderr)
        story.append(
            (
                step.title,
                decision_line(summary),
                summary.output("push", "version"),
                summary.wall_seconds,
            )
        )

    summaries = run_demo(config, Path(args.workdir), say, args.verbose, on_run)
    say("\n== the story ==")
    for title, decision, version, seconds in story:
        pushed = f"pushed v{version}" if version is not None else "nothing pushed"
        say(f"{title:<28} {seconds:5.1f} s  {pushed:<15} {decision}")
    say(
        f"\nregistry: {Path(args.workdir) / 'registry'}; next: `driftgate versions --registry "
        f"{Path(args.workdir) / 'registry'} --model {config.model_name}`"
    )
    ok = bool(summaries) and all(s.succeeded for s in summaries)  # it stops at a failure
    return 0 if ok else 1


def cmd_compile(args: argparse.Namespace) -> int:
    """Compiles the pipeline to KFP v2 YAML."""
    from driftgate.pipelines.config import load_config
    from driftgate.pipelines.retrain import compile_pipeline

    path = compile_pipeline(load_config(args.config), args.output)
    say(f"wrote {path}: upload it in the Kubeflow UI or run `driftgate submit`")
    return 0
