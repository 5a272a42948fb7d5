"""What ``driftgate replay --tune`` writes and prints: the trials, the choice, the held-out part.

Files in ``--output``: ``tuned-gate.yaml`` (the chosen ``gate:`` and ``drift:`` fields that differ
from the config), ``tuned-config.yaml`` (the config with them merged in), ``tune.json`` and
``tune.md`` (the trials and the held-out comparison), and ``replay.json`` / ``.md`` / ``.html``
with every trial's replay, batch by batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import yaml

from driftgate.errors import ConfigError
from driftgate.pipelines.config import DEFAULT_CONFIG, Config
from driftgate.pipelines.tune import (
    BUDGET,
    GRID,
    HEADROOM,
    Trial,
    TuneOptions,
    difference,
    gpu_limit,
    merged,
    part_totals,
    run_trials,
    select,
    with_settings,
)

SNIPPET, FULL = "tuned-gate.yaml", "tuned-config.yaml"


def raw_config(path: str | None) -> dict:
    """The config as its YAML says (the embedded example's when ``path`` is None)."""
    if path is None:
        text = resources.files("driftgate.pipelines").joinpath(DEFAULT_CONFIG).read_text()
    else:
        text = Path(path).read_text()
    return yaml.safe_load(text) or {}


def snippet(config: Config, chosen: Config) -> dict:
    """The chosen ``gate`` and ``drift`` fields that differ from the config's."""
    out = {}
    for section in ("gate", "drift"):
        new = getattr(chosen, section).model_dump(mode="json")
        changed = difference(new, getattr(config, section).model_dump(mode="json"))
        if changed:
            out[section] = changed
    return out


def tune(
    config: Config,
    raw: dict,
    batches: list[str],
    options: TuneOptions,
    output: Path,
    label_delay: int = 0,
    say: Callable[[str], None] = print,
    jobs: int = 1,
) -> dict:
    """Runs the trials, chooses on the fit part, and writes the outputs.

    Args:
        config: The user's config.
        raw: The same config as its YAML reads (``tuned-config.yaml`` merges into it).
        batches: The history, oldest first.
        options: Trials, split and GPU-hour limit.
        output: The folder the files go to.
        label_delay: As ``--label-delay``.
        say: Where progress lines go.
        jobs: As ``--jobs``: trials replayed at once, after the current settings'.

    Returns:
        The ``tune.json`` document.
    """
    from driftgate.pipelines.replay_report import to_json, write_outputs

    trials, metric, fit = run_trials(config, batches, options, output, label_delay, say, jobs)
    accelerators = config.platform.gpu.count
    limit = gpu_limit(trials[0], fit, len(batches), options, metric, accelerators)
    chosen = trials[select(trials, fit, metric, accelerators, limit)]
    changes = snippet(config, with_settings(config, chosen.settings))
    rule = (
        f"--max-gpu-hours {options.max_gpu_hours:g} x {fit}/{len(batches)} batches"
        if options.max_gpu_hours is not None
        else f"the current settings' fit-part spend + {HEADROOM:.0%}"
    )
    document = {
        "primary_metric": metric,
        "batches": len(batches),
        "fit_batches": fit,
        "split": options.split,
        "gpu_hours_limit": round(limit, 9),
        "limit_rule": rule,
        "grid": {k: list(v) for k, v in GRID.items()},
        "trials": [_trial_entry(t, fit, metric, accelerators, limit) for t in trials],
        "chosen": chosen.name,
        "snippet": changes,
    }
    output.mkdir(parents=True, exist_ok=True)
    runs = {t.name: t.records for t in trials}
    write_outputs(
        to_json(runs, metric, accelerators), output, f"Tuning trials of {config.model_name}"
    )
    (output / "tune.json").write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    (output / "tune.md").write_text(markdown(document))
    header = f"# driftgate replay --tune: {chosen.name} chosen on batches 0-{fit - 1}\n"
    if not changes:
        header += "# the current settings won: nothing to change\n"
    (output / SNIPPET).write_text(header + (yaml.safe_dump(changes, sort_keys=False) or ""))
    full = merged(raw, changes)
    (output / FULL).write_text(
        "# the config with tuned-gate.yaml merged in (relative paths resolve from this folder)\n"
        + yaml.safe_dump(full, sort_keys=False)
    )
    return document


def _trial_entry(trial: Trial, fit: int, metric: str, accelerators: int, limit: float) -> dict:
    fitted = part_totals(trial.records[:fit], metric, accelerators)
    return {
        "name": trial.name,
        "settings": trial.settings,
        "fit": fitted,
        "held_out": part_totals(trial.records[fit:], metric, accelerators),
        "within_limit": fitted["gpu_hours"] <= limit,
        "trained_at": [i for i, r in enumerate(trial.records) if r.decision in _TRAININGS],
    }


_TRAININGS = ("bootstrap", "retrain")


def _cell(value: float | str | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    return value if isinstance(value, str) else f"{value:.{digits}g}"


def markdown(document: dict) -> str:
    """The trials table and the held-out comparison."""
    metric, fit, total = document["primary_metric"], document["fit_batches"], document["batches"]
    names = [k.split(".", 1)[1] for k in GRID]
    lines = [
        f"## Trials (fit part: batches 0-{fit - 1}; GPU-hour limit "
        f"{document['gpu_hours_limit']:.4g}: {document['limit_rule']})",
        "",
        "| trial | " + " | ".join(names) + f" | fit mean {metric} | fit GPU-hours | "
        "fit trainings | |",
        "|" + "---|" * (len(names) + 5),
    ]
    for t in document["trials"]:
        mark = "chosen" if t["name"] == document["chosen"] else ""
        mark = mark or ("" if t["within_limit"] else "over the limit")
        cells = [_cell(t["settings"][k], 6) for k in GRID]
        lines.append(
            f"| {t['name']} | " + " | ".join(cells) + f" | {_cell(t['fit'][f'mean_{metric}'])} "
            f"| {t['fit']['gpu_hours']:.4f} | {t['fit']['retrains']} | {mark} |"
        )
    by_name = {t["name"]: t for t in document["trials"]}
    shown = dict.fromkeys(["current", document["chosen"]])
    lines += [
        "",
        f"## Held out: batches {fit}-{total - 1} (never read by the selection)",
        "",
        f"| settings | mean {metric} | trainings | GPU-hours | trains at batches |",
        "|---|---|---|---|---|",
    ]
    for name in shown:
        held = by_name[name]["held_out"]
        at = [str(i) for i in by_name[name]["trained_at"] if i >= fit]
        label = "current" if name == "current" else f"chosen ({name})"
        lines.append(
            f"| {label} | {_cell(held[f'mean_{metric}'])} | {held['retrains']} | "
            f"{held['gpu_hours']:.4f} | {', '.join(at) or '–'} |"
        )
    budget = BUDGET.split(".", 1)[1]
    lines += [
        "",
        f"{budget} in GPU-hours (the grid searches it in trainings' worth of the current "
        "settings' fit part).",
    ]
    return "\n".join(lines) + "\n"


def cmd_tune(args, config: Config, batches: list[str], say: Callable[[str], None]) -> int:
    """Runs ``driftgate replay --tune`` from the parsed flags."""
    from driftgate.pipelines.config_checks import check_batch_columns
    from driftgate.pipelines.replay_cli import check_labels

    if args.policy:
        raise ConfigError("--tune replays the gate only", file="--policy", hint="leave it out")
    if args.label_delay < 0:
        raise ConfigError("must be 0 or more", file="--label-delay")
    options = TuneOptions.parse(args.trials, args.tune_split, args.max_gpu_hours)
    options.fit_batches(len(batches))  # a bad split fails before any training
    check_labels(batches, config)
    check_batch_columns(config, batches[0])
    output = Path(args.output)
    document = tune(
        config, raw_config(args.config), batches, options, output, args.label_delay, say, args.jobs
    )
    say("")
    say((output / "tune.md").read_text().rstrip())
    advice = "merge it into your config" if document["snippet"] else "no change"
    say(f"\nwrote {output / SNIPPET} ({advice}), {FULL}, tune.md, tune.json and replay.html")
    return 0
