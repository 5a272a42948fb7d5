"""The ``driftgate`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from driftgate import __version__
from driftgate.errors import DriftgateError

DESCRIPTION = """\
driftgate keeps ML models fresh on Kubeflow Pipelines: each run validates a new data batch,
checks it for drift and for a drop in the deployed model's quality, and only then spends a GPU
on retraining, evaluates the candidate against the deployed model, and pushes it if it is better.

Start with `driftgate demo`; then `driftgate run --local --batch FILE --config YOURS.yaml`.
"""


def _say(line: str) -> None:
    print(line, flush=True)


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
    _say(f"driftgate run: model {config.model_name}, batch {args.batch}, registry {args.registry}")
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
        _say(line)
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
            _say(f"  {line}")
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

    summaries = run_demo(config, Path(args.workdir), _say, args.verbose, on_run)
    _say("\n== the story ==")
    for title, decision, version, seconds in story:
        pushed = f"pushed v{version}" if version is not None else "nothing pushed"
        _say(f"{title:<28} {seconds:5.1f} s  {pushed:<15} {decision}")
    _say(
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
    _say(f"wrote {path}: upload it in the Kubeflow UI or run `driftgate submit`")
    return 0


def _registry(args: argparse.Namespace):
    from driftgate.pipelines.config import load_config
    from driftgate.registry import Registry

    model = args.model or load_config(args.config).model_name
    return Registry(args.registry, model)


def cmd_versions(args: argparse.Namespace) -> int:
    """Lists a model's versions with their metrics, creation time and production flag."""
    import json

    registry = _registry(args)
    rows = registry.describe(check=args.verify)
    if args.json:
        _say(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    if not rows:
        _say(f"no versions of {registry.model} in {registry.base}")
        return 0
    _say(
        f"{'':2}{'version':>7}  {'created (UTC)':<25} {'accuracy':>8} {'f1':>6} {'parent':>6}  "
        f"{'format':<11} integrity"
    )
    for row in rows:
        accuracy, f1 = (_metric(row.metrics.get(m)) for m in ("accuracy", "f1"))
        parent = "–" if row.parent is None else row.parent
        _say(
            f"{'* ' if row.production else '  '}{row.version:>7}  {row.created_at:<25} "
            f"{accuracy:>8} "
            f"{f1:>6} {parent:>6}  {row.format:<11} {row.integrity}"
        )
    _say("* production")
    return 1 if args.verify and any(row.integrity != "verified" for row in rows) else 0


def cmd_prune(args: argparse.Namespace) -> int:
    """Deletes old versions, never production, its parent or the previous production version."""
    registry = _registry(args)
    deleted = registry.prune(args.keep)
    listed = ", ".join(map(str, deleted)) if deleted else "none"
    _say(f"{registry.model}: deleted versions {listed}; kept {registry.versions()}")
    return 0


def _metric(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def cmd_rollback(args: argparse.Namespace) -> int:
    """Points production at an earlier, verified version."""
    from driftgate.pipelines.config import load_config
    from driftgate.tracking import follow_production

    registry = _registry(args)
    previous, current = registry.rollback(args.to)
    _say(
        f"{registry.model}: production moved from version {previous} to {current}; "
        "TF Serving switches "
        "within its config poll interval"
    )
    for line in follow_production(load_config(args.config).tracking, registry):
        _say(line)
    return 0


def _input_kinds(files: list[str], config):
    """Feature kinds of the first input file by column type, minus the label and excludes."""
    import pyarrow as pa

    from driftgate.schema import kinds_from_arrow
    from driftgate.tabular import consume_csv, data_columns, detect_format, open_parquet, resolve

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

    from driftgate.pipelines.config import load_config
    from driftgate.report import drift_html, drift_markdown
    from driftgate.schema import FeatureKinds
    from driftgate.stats import compare
    from driftgate.stats.beam import read_proto, run_stats
    from driftgate.tabular import expand

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
    _say(
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
    _say(f"wrote {args.output}: {stats.rows:,} rows in {time.monotonic() - started:.1f} s")
    if reference is not None:
        result = compare(reference, stats, config.drift)
        _say(drift_markdown(result))
        if args.report:
            Path(args.report).write_text(
                drift_html(
                    result, "Drift", {"reference": args.reference, "batch": " ".join(args.input)}
                )
            )
            _say(f"wrote {args.report}")
    return 0


def _remote_request(args: argparse.Namespace, kind: str):
    from driftgate.pipelines import remote
    from driftgate.pipelines.config import load_config
    from driftgate.pipelines.cron import parse_cron

    if not args.host:
        raise SystemExit(
            f"driftgate {kind}: pass --host URL (or set KFP_HOST), e.g. http://ml-pipeline.kubeflow:8888"
        )
    config = load_config(args.config)
    package = remote.compile_package(config)
    params = remote.parse_params(package, args.param)
    where = {"host": args.host, "namespace": args.namespace, "experiment": args.experiment}
    if kind == "submit":
        return remote.run_request(config, package, params, run_name=args.run_name, **where)
    cron = parse_cron(args.cron)
    if cron.notice:
        print(f"notice: {cron.notice}", file=sys.stderr)
    return remote.recurring_request(
        config,
        package,
        params,
        name=args.name,
        cron=cron,
        max_concurrency=args.max_concurrency,
        no_catchup=args.no_catchup,
        start=args.start,
        end=args.end,
        enabled=not args.disable,
        **where,
    )


def cmd_remote(args: argparse.Namespace) -> int:
    """Starts a run (submit) or creates a recurring run (schedule) on a KFP endpoint."""
    from driftgate.pipelines import remote

    request = _remote_request(args, args.command)
    if args.dry_run:
        _say(remote.preview_json(request))
        return 0
    created = remote.send(request)
    if args.command == "submit":
        link = f"{args.host.rstrip('/')}/#/runs/details/{created}"
        _say(f"started run {created} in experiment {args.experiment}: {link}")
    else:
        cron = request.body.trigger.cron_schedule.cron
        _say(f"created recurring run {created} ({cron}) in experiment {args.experiment}")
    return 0


def _add_remote_options(parser: argparse.ArgumentParser, config_help: str) -> None:
    parser.add_argument(
        "--host",
        default=os.environ.get("KFP_HOST"),
        help="KFP API endpoint, e.g. http://ml-pipeline.kubeflow:8888 (default: $KFP_HOST)",
    )
    parser.add_argument("--namespace", help="Kubeflow profile namespace (multi-user clusters)")
    parser.add_argument(
        "--experiment",
        default="driftgate",
        help="experiment, created if missing (default: %(default)s)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pipeline parameter: batch_uri, registry_uri or force (repeatable)",
    )
    parser.add_argument("--config", help=config_help)
    parser.add_argument(
        "--dry-run", action="store_true", help="print the exact request instead of sending it"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per action."""
    from driftgate.pipelines.demo import __doc__ as demo_story
    from driftgate.pipelines.labels_cli import add_parser as add_labels_parser
    from driftgate.pipelines.replay_cli import add_parser as add_replay_parser
    from driftgate.pipelines.schema_cli import add_parser as add_schema_parser

    parser = argparse.ArgumentParser(
        prog="driftgate",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"driftgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_help = "pipeline config YAML (default: the embedded penguins example)"

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
        default=".driftgate/registry",
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

    add_replay_parser(sub, config_help)
    add_schema_parser(sub, config_help)
    add_labels_parser(sub, config_help)

    comp = sub.add_parser("compile", help="write the pipeline as KFP v2 YAML")
    comp.add_argument(
        "-o", "--output", default="pipeline.yaml", help="output file (default: %(default)s)"
    )
    comp.add_argument("--config", help=config_help)
    comp.set_defaults(func=cmd_compile)

    for name, text in (
        ("versions", "list a model's versions: metrics, creation time, production"),
        ("rollback", "point production at an earlier verified version"),
        ("prune", "delete all but the newest versions (never production, its parent or previous)"),
    ):
        command = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument(
            "--registry",
            default=".driftgate/registry",
            help="registry directory (default: %(default)s)",
        )
        command.add_argument("--model", help="model name (default: the config's model_name)")
        command.add_argument("--config", help=config_help)
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

    submit = sub.add_parser(
        "submit",
        help="start one run on a Kubeflow Pipelines endpoint",
        description="Compiles the pipeline from the config and starts a run with kfp.Client.",
    )
    _add_remote_options(submit, config_help)
    submit.add_argument("--run-name", help="display name of the run (default: MODEL-TIMESTAMP)")
    submit.set_defaults(func=cmd_remote)

    schedule = sub.add_parser(
        "schedule",
        help="create a recurring run on a Kubeflow Pipelines endpoint",
        description="Creates a KFP recurring run. KFP's cron has a leading seconds field "
        "(`0 0 3 * * *` is 03:00 daily); a five-field expression is converted with a notice.",
    )
    _add_remote_options(schedule, config_help)
    schedule.add_argument(
        "--cron", required=True, help="cron: six fields (with seconds), five fields, or @daily"
    )
    schedule.add_argument("--name", help="display name of the recurring run")
    schedule.add_argument(
        "--max-concurrency", type=int, default=1, help="runs allowed at once (default: %(default)s)"
    )
    schedule.add_argument(
        "--no-catchup", action="store_true", help="skip runs missed while paused or down"
    )
    schedule.add_argument(
        "--start", help="first possible run, ISO date or time (UTC unless an offset is given)"
    )
    schedule.add_argument("--end", help="last possible run, ISO date or time")
    schedule.add_argument("--disable", action="store_true", help="create it paused")
    schedule.set_defaults(func=cmd_remote)
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
