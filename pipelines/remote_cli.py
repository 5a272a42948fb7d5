"""``driftgate submit`` and ``schedule``: runs on a Kubeflow Pipelines endpoint."""

from __future__ import annotations

import argparse
import os
import sys

from driftgate.pipelines.cli_options import say


def add_parser(sub: argparse._SubParsersAction, config_help: str) -> None:
    """Registers ``submit`` and ``schedule`` on the CLI's sub-command parser."""
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
        say(remote.preview_json(request))
        return 0
    created = remote.send(request)
    if args.command == "submit":
        link = f"{args.host.rstrip('/')}/#/runs/details/{created}"
        say(f"started run {created} in experiment {args.experiment}: {link}")
    else:
        cron = request.body.trigger.cron_schedule.cron
        say(f"created recurring run {created} ({cron}) in experiment {args.experiment}")
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
