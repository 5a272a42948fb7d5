"""``driftgate replay --tune``: the gate's main settings, chosen on the earlier part of a history.

Every trial is the ``gate`` policy replayed over the whole history with candidate settings merged
over the config (a policy is causal: what it does at batch t depends on batches 0…t only).
Selection reads only the first ``split`` share of the batches (the fit part); the later batches
(the held-out part) report how the chosen settings and the current ones did on data the choice
never saw.

Trial 0 is the current settings. The others are a seeded random sample (``training.seed``) of
the grid :data:`GRID`, without repeats. ``gate.budget.gpu_hours`` is searched in retrains: a
factor k stands for k times the current settings' mean GPU-hours per training on the fit part.

Objective: the highest mean prequential primary metric on the fit part (accuracy; RMSE is
negated), among trials whose GPU-hours on the fit part stay within the limit: ``--max-gpu-hours``
for the whole history scaled to the fit part's share of the batches, or by default the current
settings' own spend on the fit part plus :data:`HEADROOM` (training seconds are wall-clock time,
so the same retrains never cost exactly the same twice). Ties go to fewer trainings, then to the
earlier trial (the current settings first); when no trial is within the limit, the current
settings stay.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from driftgate.errors import ConfigError
from driftgate.models.tasks import LOWER_IS_BETTER
from driftgate.pipelines.config import Config
from driftgate.pipelines.replay_record import BatchRecord

Value = float | None
GRID: dict[str, tuple[Value, ...]] = {
    "gate.min_expected_gain": (0.002, 0.005, 0.01, 0.02),
    "drift.thresholds.js": (0.05, 0.1, 0.2),
    "drift.thresholds.linf": (0.1, 0.2, 0.3),
    "gate.new_data_ratio": (1.0, 2.0, 4.0),
    "gate.budget.gpu_hours": (None, 2.0, 4.0, 8.0),  # in trainings' worth; None: no budget
}
BUDGET = "gate.budget.gpu_hours"
HEADROOM = 0.1  # the default limit: the current settings' fit-part GPU-hours × 1.1


@dataclass(frozen=True)
class TuneOptions:
    """The ``--tune`` flags: trials, the fit share of the batches, the GPU-hour limit."""

    trials: int = 8
    split: float = 0.67
    max_gpu_hours: float | None = None

    @classmethod
    def parse(cls, trials: str | None, split: str | None, max_gpu_hours: str | None):
        """Parses the flags' text; bad values raise one line naming the flag."""
        options = cls()
        if trials is not None:
            if not trials.isdigit() or int(trials) < 2:
                raise ConfigError(
                    f"{trials!r} is not an integer of 2 or more",
                    file="--trials",
                    hint="trial 0 is the current settings; give at least one candidate more",
                )
            options = cls(int(trials), options.split, options.max_gpu_hours)
        if split is not None:
            value = _number(split, "--tune-split", "a share between 0 and 1, such as 0.67")
            if not 0 < value < 1:
                raise ConfigError(f"{split!r} is not between 0 and 1", file="--tune-split")
            options = cls(options.trials, value, options.max_gpu_hours)
        if max_gpu_hours is not None:
            value = _number(max_gpu_hours, "--max-gpu-hours", "a positive number of GPU-hours")
            if value <= 0:
                raise ConfigError(f"{max_gpu_hours!r} is not positive", file="--max-gpu-hours")
            options = cls(options.trials, options.split, value)
        return options

    def fit_batches(self, batches: int) -> int:
        """How many of the first batches selection reads (the rest are held out).

        Raises:
            ConfigError: The split leaves fewer than 2 fit batches (the first has no model to
                score).
        """
        fit = int(batches * self.split)  # under ``batches``: one is held out at least
        if fit < 2:
            raise ConfigError(
                f"{self.split:g} of {batches} batch(es) gives {fit} to fit on and "
                f"{batches - fit} held out",
                file="--tune-split",
                hint="at least 2 batches to fit on and 1 held out are needed",
            )
        return fit


def _number(text: str, flag: str, hint: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not a number", file=flag, hint=f"give {hint}") from None


@dataclass
class Trial:
    """One candidate: its settings (dotted names; the budget in GPU-hours) and its replay."""

    name: str
    settings: dict[str, Value]
    records: list[BatchRecord] = field(default_factory=list)


def current_settings(config: Config) -> dict[str, Value]:
    """The config's values of the searched settings."""
    budget = config.gate.budget
    return {
        "gate.min_expected_gain": config.gate.min_expected_gain,
        "drift.thresholds.js": config.drift.thresholds.js,  # type: ignore[dict-item]
        "drift.thresholds.linf": config.drift.thresholds.linf,
        "gate.new_data_ratio": config.gate.new_data_ratio,
        BUDGET: budget.gpu_hours if budget else None,
    }


def shuffled_grid(seed: int) -> list[dict[str, Value]]:
    """Every grid point, in a seeded random order (the budget as a factor)."""
    points = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    random.Random(seed).shuffle(points)
    return points


def resolve_budget(point: dict[str, Value], per_training: float) -> dict[str, Value]:
    """The point with its budget factor turned into GPU-hours (no budget when it is 0)."""
    factor = point[BUDGET]
    hours = round(factor * per_training, 9) if factor and per_training > 0 else None
    return {**point, BUDGET: hours}


def with_settings(config: Config, settings: dict[str, Value]) -> Config:
    """The config with the searched settings replaced (validated as the config would be)."""
    from driftgate.settings.drift import Thresholds
    from driftgate.settings.gate import BudgetSettings, GateSettings

    hours = settings[BUDGET]
    period = config.gate.budget.period_days if config.gate.budget else 30.0
    gate = GateSettings.model_validate(
        {
            **config.gate.model_dump(),
            "min_expected_gain": settings["gate.min_expected_gain"],
            "new_data_ratio": settings["gate.new_data_ratio"],
            "budget": BudgetSettings(gpu_hours=hours, period_days=period) if hours else None,
        }
    )
    thresholds = Thresholds.model_validate(
        {
            **config.drift.thresholds.model_dump(),
            "js": settings["drift.thresholds.js"],
            "linf": settings["drift.thresholds.linf"],
        }
    )
    drift = config.drift.model_copy(update={"thresholds": thresholds})
    return config.model_copy(update={"gate": gate, "drift": drift})


def part_totals(records: Sequence[BatchRecord], metric: str, accelerators: int) -> dict:
    """Replay's totals over some of a trial's batches."""
    from driftgate.pipelines.replay_report import totals

    return totals(list(records), metric, accelerators)


def objective(totals: dict, metric: str) -> float | None:
    """What selection maximises: the mean primary metric, negated for an error such as RMSE."""
    mean = totals[f"mean_{metric}"]
    return None if mean is None else (-mean if metric in LOWER_IS_BETTER else mean)


def select(trials: Sequence[Trial], fit: int, metric: str, accelerators: int, limit: float) -> int:
    """The index of the chosen trial, read from the first ``fit`` batches of each only.

    Args:
        trials: The trials, the current settings first.
        fit: Batches in the fit part.
        metric: The primary metric.
        accelerators: GPUs per training (``platform.gpu.count``).
        limit: Most GPU-hours a trial may spend on the fit part.

    Returns:
        The best objective within the limit (ties, to 6 decimals: fewer trainings, then the
        earlier trial, so that equal results keep the current settings; measured seconds are
        not compared, since the first trial also pays for imports); 0, the current settings,
        when no trial is within it.
    """
    best, key = 0, None
    for index, trial in enumerate(trials):
        totals = part_totals(trial.records[:fit], metric, accelerators)
        score = objective(totals, metric)
        if score is None or totals["gpu_hours"] > limit:
            continue
        candidate = (round(score, 6), -totals["retrains"])
        if key is None or candidate > key:
            best, key = index, candidate
    return best


def gpu_limit(
    current: Trial, fit: int, total: int, options: TuneOptions, metric: str, accelerators: int
) -> float:
    """The fit part's GPU-hour limit: ``--max-gpu-hours`` scaled, or the current spend + 10 %."""
    if options.max_gpu_hours is not None:
        return options.max_gpu_hours * fit / total
    spent = part_totals(current.records[:fit], metric, accelerators)["gpu_hours"]
    return spent * (1 + HEADROOM)


def run_trials(
    config: Config,
    batches: list[str],
    options: TuneOptions,
    output: Path,
    label_delay: int = 0,
    say: Callable[[str], None] = print,
    jobs: int = 1,
) -> tuple[list[Trial], str, int]:
    """Replays the current settings, then the sampled candidates (``jobs`` at once).

    The candidates are drawn once the current settings' cost per training is known, since the
    budget is searched in trainings' worth.

    Returns:
        The trials (the current settings first), the primary metric and the fit batches.
    """
    from driftgate.pipelines.policies import Policy
    from driftgate.pipelines.replay_cli import primary_metric
    from driftgate.pipelines.replay_jobs import run_policies

    fit = options.fit_batches(len(batches))
    accelerators = config.platform.gpu.count
    say(f"tune: {options.trials} trial(s); fit on batches 0-{fit - 1}, hold out {fit}-"
        f"{len(batches) - 1}")  # fmt: skip
    trials = [Trial("current", current_settings(config))]

    def replay(start: int) -> str:
        """Replays ``trials[start:]`` and returns the primary metric."""
        group = trials[start:]
        for number, trial in enumerate(group, start + 1):
            say(f"trial {number}/{options.trials} ({trial.name}): {describe(trial.settings)}")
        policies = [Policy(t.name, "gate", with_settings(config, t.settings)) for t in group]
        runs = run_policies(config, batches, policies, output, label_delay, jobs, say)
        for trial in group:
            trial.records = runs[trial.name]
        metric = primary_metric({t.name: t.records for t in trials})
        for number, trial in enumerate(group, start + 1):
            fitted = part_totals(trial.records[:fit], metric, accelerators)
            say(f"trial {number}/{options.trials} ({trial.name}): fit mean "
                f"{metric} {_fmt(fitted[f'mean_{metric}'])}, {fitted['gpu_hours']:.4f} "
                f"GPU-hours, {fitted['retrains']} training(s)")  # fmt: skip
        return metric

    metric = replay(0)
    trained = part_totals(trials[0].records[:fit], metric, accelerators)
    per_training = trained["gpu_hours"] / max(1, trained["retrains"])
    for settings in (resolve_budget(p, per_training) for p in shuffled_grid(config.training.seed)):
        if len(trials) == options.trials:
            break
        if settings not in (t.settings for t in trials):
            trials.append(Trial(f"trial-{len(trials)}", settings))  # the grid may run out first
    if len(trials) > 1:
        metric = replay(1)
    return trials, metric, fit


def merged(base: dict, over: dict) -> dict:
    """``over`` merged into ``base``, nested mappings key by key (neither is changed)."""
    out = dict(base)
    for key, value in over.items():
        nested = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if nested else value
    return out


def difference(new: dict, old: dict) -> dict:
    """The entries of ``new`` that differ from ``old``, nested mappings key by key."""
    out = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            if inner := difference(value, before):
                out[key] = inner
        elif value != before:
            out[key] = value
    return out


def describe(settings: dict[str, Value]) -> str:
    """The settings in one line."""
    return ", ".join(f"{k.split('.', 1)[1]} {_fmt(v, 6)}" for k, v in settings.items())


def _fmt(value: Value | str, digits: int = 4) -> str:
    if value is None:
        return "–"
    return value if isinstance(value, str) else f"{value:.{digits}g}"
