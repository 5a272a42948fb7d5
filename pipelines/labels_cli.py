"""``driftgate labels``: labels that arrive after their batch was processed."""

from __future__ import annotations

import argparse
from pathlib import Path

from driftgate.pipelines.cli_options import add_registry_options


def add_parser(sub: argparse._SubParsersAction, config_help: str) -> None:
    """Registers ``labels`` on the CLI's sub-command parser."""
    labels = sub.add_parser(
        "labels",
        help="join late labels to a processed batch and score the model that served it",
        description="Joins a labels file to a batch the pipeline processed (on the config's "
        "data.key column), scores the version that served the batch, records the realised "
        "metrics next to the gate's estimate in the batch ledger, and writes the labelled "
        "batch: run the pipeline on it to let the gate act on what is realised.",
    )
    labels.add_argument(
        "--batch", required=True, help="the processed batch: its file name or a hash prefix"
    )
    labels.add_argument(
        "--labels", required=True, help="CSV or Parquet with the key and label columns"
    )
    labels.add_argument(
        "--output", help="where the labelled batch goes (default: BATCH-labelled.parquet here)"
    )
    add_registry_options(labels, config_help)
    labels.set_defaults(func=cmd_labels)


def _fmt(metrics: dict | None) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in (metrics or {}).items() if v == v) or "–"


def cmd_labels(args: argparse.Namespace) -> int:
    """Runs ``driftgate labels``."""
    from driftgate.pipelines.config import load_config
    from driftgate.pipelines.realised import join_labels
    from driftgate.registry.ledger import Ledger
    from driftgate.registry.store import Registry

    config = load_config(args.config)
    ledger = Ledger(Registry(args.registry, args.model or config.model_name))
    name = Path(args.batch).stem
    output = Path(args.output or f"{name}-labelled.parquet")
    found = join_labels(ledger, args.batch, args.labels, config.data, config.performance, output)
    print(f"{found.source}: {found.rows} labelled row(s), served by version {found.version}")
    print(f"  realised:  {_fmt(found.metrics)}")
    estimate = {m: e["value"] for m, e in (found.estimate or {}).items()}
    print(f"  estimated: {_fmt(estimate) if estimate else 'no estimate (the batch had labels)'}")
    if found.degraded:
        print(f"  degraded on {', '.join(found.degraded)}")
    print(f"wrote {found.output}; `driftgate run --local --batch {found.output}` lets the gate act")
    return 0
