"""``driftgate replay``: what would a retraining policy have done on our history of batches?"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from driftgate.errors import ConfigError, DataError
from driftgate.pipelines.config import Config
from driftgate.pipelines.config_checks import check_batch_columns

DESCRIPTION = """\
Replays retraining policies over a history of batches, one batch per scheduled run, and measures
what each keeps and what it costs. Batches are taken in file-name order (name them by date), and
each is one run of the pipeline's own steps: ingest, validate, check, decide and, when the policy
retrains, train, evaluate and push, in one process. Each policy gets a fresh registry of its own;
only the gate differs between policies.

Per batch: the deployed model's prequential metrics (scored before anything trains on the batch),
the decision and its reason, the largest drift, training seconds, blessing, push and the deployed
version afterwards. Writes replay.json, replay.md and replay.html (timelines) into --output.

policies:
  never            bootstrap only
  always           retrain on every labelled batch
  every:K          retrain on every K-th batch (0, K, 2K, ...)
  gate             the config's own gate
  gate:OTHER.yaml  another config's gate (drift, performance and gate settings)

--tune searches the gate's main settings (gate.min_expected_gain, drift.thresholds.js and .linf,
gate.new_data_ratio, gate.budget.gpu_hours) over these batches: trial 0 is the config's own
settings, the others a seeded random sample of a small grid, each the gate policy replayed over
every batch. The choice reads only the first --tune-split of the batches; the later batches are
held out and report the chosen and the current settings side by side. Writes tuned-gate.yaml (the
fields that changed), tuned-config.yaml, tune.md and tune.json into --output.
"""


def add_parser(sub: argparse._SubParsersAction, config_help: str) -> None:
    """Registers ``replay`` on the CLI's sub-command parser."""
    from driftgate.pipelines.policies import DEFAULT_POLICIES

    replay = sub.add_parser(
        "replay",
        help="replay retraining policies over past batches and compare them",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument(
        "--batches",
        required=True,
        metavar="PATH_OR_GLOB",
        help="a directory of batch files, a file, or a quoted glob ('data/*.parquet'); "
        "s3:// and gs:// work too. Hidden, _-prefixed and partial (.tmp, .part) files are skipped",
    )
    replay.add_argument("--config", help=config_help)
    replay.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="P",
        help=f"a policy to replay (repeatable; default: {' '.join(DEFAULT_POLICIES)})",
    )
    replay.add_argument(
        "--label-delay",
        type=int,
        default=0,
        metavar="K",
        help="labels of batch t become visible with batch t+K; the gate sees each batch "
        "without labels (default: %(default)s, labels arrive with their batch)",
    )
    replay.add_argument(
        "--output",
        default=".driftgate/replay",
        metavar="DIR",
        help="where replay.json, replay.md, replay.html and each policy's registry go "
        "(default: %(default)s)",
    )
    replay.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="replay up to N policies at once, each in a process of its own (default: "
        "%(default)s); decisions and metrics are the same for any N, and each process needs "
        "about the memory of one policy's training",
    )
    tune = replay.add_argument_group("tuning the gate (--tune)")
    tune.add_argument(
        "--tune",
        action="store_true",
        help="search the gate's main settings on the earlier batches, report on the later ones "
        "(replays the gate only: no --policy)",
    )
    tune.add_argument(
        "--trials",
        metavar="N",
        help="trials, the current settings included; each replays every batch (default: 8)",
    )
    tune.add_argument(
        "--tune-split",
        metavar="F",
        help="share of the batches, oldest first, that selection reads; the rest are held out "
        "(default: 0.67)",
    )
    tune.add_argument(
        "--max-gpu-hours",
        metavar="H",
        help="most GPU-hours over the whole history, scaled to the fit part's share of the "
        "batches (default: the current settings' spend on the fit part + 10 %%)",
    )
    replay.set_defaults(func=cmd_replay)


def check_labels(batches: list[str], config: Config) -> None:
    """Fails early when no batch carries the label column.

    Raises:
        ConfigError: ``data.label`` is absent from every batch.
    """
    from driftgate.data.tabular.files import column_names

    label, options = config.data.label, config.data.csv_options()
    if not any(label in column_names(path, options) for path in batches):
        raise ConfigError(
            f"data.label is {label!r}, but none of the {len(batches)} batch(es) has that column "
            f"(the first has {', '.join(column_names(batches[0], options)[:8])})",
            file=batches[0].rsplit("/", 1)[0] or ".",
            hint="set data.label to the label column of your batches",
        )


def primary_metric(runs: dict) -> str:
    """The task's primary metric: RMSE when the deployed models were regressors."""
    from driftgate.models import tasks

    scored = [r.metrics for records in runs.values() for r in records if r.metrics]
    regression = any(tasks.PRIMARY[tasks.REGRESSION] in m for m in scored)
    return tasks.PRIMARY[tasks.REGRESSION if regression else tasks.CLASSIFICATION]


def replay(
    config: Config,
    batches: list[str],
    policies: list,
    output: Path,
    label_delay: int = 0,
    say: Callable[[str], None] = print,
    jobs: int = 1,
) -> dict:
    """Replays every policy over the batches (``jobs`` at once) and writes the outputs.

    Returns:
        The ``replay.json`` document.
    """
    from driftgate.pipelines.replay_jobs import run_policies
    from driftgate.pipelines.replay_report import to_json, write_outputs

    if label_delay < 0:
        raise ConfigError("must be 0 or more", file="--label-delay")
    check_labels(batches, config)
    check_batch_columns(config, batches[0])
    runs = run_policies(config, batches, policies, output, label_delay, jobs, say)
    # GPU-hours: what the train step's accelerator request (platform.gpu.count) would cost
    document = to_json(runs, primary_metric(runs), config.platform.gpu.count)
    title = f"Replay of {config.model_name}: {len(batches)} batches"
    if label_delay:
        title += f", labels {label_delay} batch(es) late"
    write_outputs(document, output, title)
    return document


def cmd_replay(args: argparse.Namespace) -> int:
    """Runs ``driftgate replay``."""
    from driftgate.data.batches import list_batches
    from driftgate.pipelines.config import load_config
    from driftgate.pipelines.policies import parse_policies
    from driftgate.pipelines.replay_report import markdown

    def say(line: str) -> None:
        print(line, flush=True)

    config = load_config(args.config)
    tuning = {"--trials": args.trials, "--tune-split": args.tune_split,
              "--max-gpu-hours": args.max_gpu_hours}  # fmt: skip
    stray = next((flag for flag, value in tuning.items() if value is not None), None)
    if stray and not args.tune:
        raise ConfigError("needs --tune", file=stray)
    if args.jobs < 1:
        raise ConfigError(f"{args.jobs} is not 1 or more", file="--jobs")
    config_dir = Path(args.config).parent if args.config else None
    policies = [] if args.tune else parse_policies(args.policy, config, config_dir)
    try:
        batches = list_batches(args.batches)
    except DataError as exc:
        raise DataError(exc.problem, file=f"--batches {args.batches}", hint=exc.hint) from exc
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.tune:
        from driftgate.pipelines.tune_cli import cmd_tune

        return cmd_tune(args, config, batches, say)
    document = replay(
        config, batches, policies, Path(args.output), args.label_delay, say, args.jobs
    )
    say("")
    say(markdown(document, "totals").split("\n", 2)[2].rstrip())
    say(f"\nwrote {Path(args.output) / 'replay.html'}, replay.json and replay.md")
    return 0
