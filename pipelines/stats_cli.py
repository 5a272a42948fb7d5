"""``driftgate stats``: dataset statistics with Apache Beam, and their drift."""

from __future__ import annotations

import argparse
from pathlib import Path

from driftgate.pipelines.cli_options import say


def add_parser(sub: argparse._SubParsersAction, config_help: str) -> None:
    """Registers ``stats`` on the CLI's sub-command parser."""
    stats = sub.add_parser(
        "stats",
        help="dataset statistics with Apache Beam (DirectRunner, Dataflow, Flink, Spark)",
        description="Computes mergeable statistics (TFMD DatasetFeatureStatisticsList) of CSV or "
        "Parquet files with Apache Beam. Without --reference, bins are placed from a sample of "
        "the input (a reference); with --reference, the input is binned like the reference and "
        "compared with it.",
    )
    stats.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="PATTERN",
        help="file or glob: local, gs://, s3:// (repeatable)",
    )
    stats.add_argument(
        "--output", required=True, help="where to write the statistics (binary proto)"
    )
    stats.add_argument("--reference", help="reference statistics to bin by and compare with")
    stats.add_argument("--report", help="with --reference: write the HTML drift report here")
    stats.add_argument("--config", help=config_help + "; its data and drift sections apply")
    stats.add_argument(
        "--runner", default="DirectRunner", help="Beam runner (default: %(default)s)"
    )
    stats.add_argument(
        "--direct-num-workers",
        type=int,
        metavar="N",
        help="run DirectRunner with N worker processes (multi_processing mode): the same "
        "worker boundary and serialisation as a distributed runner",
    )
    stats.add_argument(
        "--beam-option",
        action="append",
        default=[],
        metavar="OPTION",
        help="a Beam pipeline option, e.g. --beam-option=--project=my-project (repeatable)",
    )
    stats.set_defaults(func=cmd_stats)


def _input_kinds(files: list[str], config):
    """Feature kinds of the first input file by column type, minus the label and excludes."""
    import pyarrow as pa

    from driftgate.data.schema import kinds_from_arrow
    from driftgate.data.tabular.csvfile import consume_csv
    from driftgate.data.tabular.files import detect_format, resolve
    from driftgate.data.tabular.parquetfile import data_columns, open_parquet

    source = resolve(files[0])
    if detect_format(source) == "parquet":
        parquet = open_parquet(source)
        arrow_schema = pa.schema([parquet.schema_arrow.field(n) for n in data_columns(parquet)])
    else:
        arrow_schema = consume_csv(
            source, config.data.csv_options(), lambda batches: next(batches).schema
        )
    data = config.data
    return kinds_from_arrow(
        arrow_schema,
        label=data.label,
        features=data.features or None,
        exclude=data.not_features,
        categorical=data.categorical,
    )


def _direct_workers(args: argparse.Namespace) -> list[str]:
    """DirectRunner options for --direct-num-workers: worker processes, not threads."""
    if args.direct_num_workers is None:
        return []
    if args.runner != "DirectRunner" or args.direct_num_workers < 1:
        raise SystemExit(
            "driftgate stats: --direct-num-workers needs --runner DirectRunner and a count >= 1"
        )
    return [
        f"--direct_num_workers={args.direct_num_workers}",
        "--direct_running_mode=multi_processing",
    ]


def cmd_stats(args: argparse.Namespace) -> int:
    """Computes dataset statistics with Apache Beam; with --reference, also their drift."""
    import time

    from driftgate.data.schema import FeatureKinds
    from driftgate.data.tabular.files import expand
    from driftgate.observe.report import drift_html, drift_markdown
    from driftgate.pipelines.config import load_config
    from driftgate.stats import compare
    from driftgate.stats.beam import read_proto, run_stats

    config = load_config(args.config)
    files = expand(args.input)
    if not files:
        raise SystemExit(f"driftgate stats: no file matches {' '.join(args.input)}")
    reference = read_proto(args.reference) if args.reference else None
    if reference is not None:
        binning = reference.binning
        kinds = FeatureKinds(
            config.data.label, tuple(binning.numeric()), tuple(binning.categorical())
        )
    else:
        binning, kinds = None, _input_kinds(files, config)
    say(
        f"driftgate stats: {len(files)} file(s), {len(kinds.numeric)} numeric and "
        f"{len(kinds.categorical)} categorical features, runner {args.runner}"
    )
    started = time.monotonic()
    stats = run_stats(
        files,
        kinds,
        config.data.csv_options(),
        args.output,
        [f"--runner={args.runner}", *_direct_workers(args), *args.beam_option],
        binning=binning,
        bins=config.drift.bins,
        top_k=config.drift.top_k,
        sample_size=config.drift.sample_size,
    )
    say(f"wrote {args.output}: {stats.rows:,} rows in {time.monotonic() - started:.1f} s")
    if reference is not None:
        result = compare(reference, stats, config.drift)
        say(drift_markdown(result))
        if args.report:
            Path(args.report).write_text(
                drift_html(
                    result, "Drift", {"reference": args.reference, "batch": " ".join(args.input)}
                )
            )
            say(f"wrote {args.report}")
    return 0
