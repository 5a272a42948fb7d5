"""``driftgate schema show`` and ``driftgate schema diff``.

They print the deployed schema, and what a batch would change in it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tensorflow_metadata.proto.v0 import schema_pb2

from driftgate.pipelines.cli_options import add_registry_options

DOMAIN_SHOWN = 8


def add_parser(sub: argparse._SubParsersAction, config_help: str) -> None:
    """Registers ``schema show`` and ``schema diff`` on the CLI's sub-command parser."""
    schema = sub.add_parser(
        "schema",
        help="show the deployed schema, or what a batch would change in it",
        description="The schema stored with the production version is the schema of its "
        "training window: every class and category the deployed model has seen. Later runs "
        "validate against it.",
    )
    actions = schema.add_subparsers(dest="schema_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the production version's schema")
    diff = actions.add_parser(
        "diff",
        help="validate a batch against it and list what the batch would add",
        description="Validates a batch against the production schema without running anything "
        "and lists new classes, new categories, missing and unexpected columns.",
    )
    diff.add_argument("--batch", required=True, help="CSV or Parquet file, local or s3://")
    for action in (show, diff):
        add_registry_options(action, config_help)
        action.set_defaults(func=cmd_schema)


def _deployed(args: argparse.Namespace):
    from driftgate.data.schema import load_schema
    from driftgate.errors import RegistryError
    from driftgate.pipelines.config import load_config
    from driftgate.registry.store import SCHEMA_FILE, Registry

    config = load_config(args.config)
    registry = Registry(args.registry, args.model or config.model_name)
    version = registry.production()
    if version is None:
        raise RegistryError(
            f"has no production version of {registry.model}",
            file=str(registry.base),
            hint="run the pipeline once, or pass --registry and --model",
        )
    return config, version, load_schema(registry.verified(version).path / SCHEMA_FILE)


def _domain(feature) -> str:
    if not feature.HasField("string_domain"):
        return "numeric" if feature.type == schema_pb2.FLOAT else "text, no domain"
    values = list(feature.string_domain.value)
    more = f", … ({len(values)} values)" if len(values) > DOMAIN_SHOWN else ""
    return ", ".join(values[:DOMAIN_SHOWN]) + more


def cmd_schema(args: argparse.Namespace) -> int:
    """Prints the deployed schema, or a batch's differences from it."""
    import pyarrow.parquet as pq

    from driftgate.components.ingest.core import ingest
    from driftgate.components.train.window import window_schema
    from driftgate.components.validate.core import validate
    from driftgate.data.schema import feature_kinds

    config, version, schema = _deployed(args)
    if args.schema_command == "show":
        print(f"schema of version {version} (its training window)")
        for feature in schema.feature:
            presence = feature.presence.min_fraction
            print(f"  {feature.name:<24} present ≥ {presence:.0%}  {_domain(feature)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        ingest(args.batch, Path(tmp) / "batch.parquet", config.data)
        result = validate(
            Path(tmp) / "batch.parquet",
            Path(tmp) / "validated.parquet",
            config.data,
            config.validation,
            schema,
            args.batch,
        )
        table = pq.read_table(Path(tmp) / "validated.parquet")
    learned = window_schema(schema, table, feature_kinds(schema))
    before = {f.name: set(f.string_domain.value) for f in schema.feature}
    changes = [
        f"  {f.name}: + {', '.join(sorted(set(f.string_domain.value) - before[f.name]))}"
        for f in learned.feature
        if set(f.string_domain.value) - before[f.name]
    ]
    print(f"{args.batch} against the schema of version {version}:")
    print("\n".join(changes) if changes else "  adds no class and no category")
    for anomaly in result.anomalies:
        severity = "blocks" if anomaly.blocking else "warns"
        print(f"  {severity}: {anomaly.column or '(dataset)'}: {anomaly.message}")
    return 1 if result.blocking else 0
