"""Benchmark streams for ``driftgate replay``: river's synthetic generators with known drift points,
and one real dataset with a natural time order.

Every stream is a list of batches (pandas frames) written as ``batch-NNN.parquet``; the config is
the default config apart from ``data.label`` and the stream's ``settings`` (only ``regression``
has any: ``training.family: sklearn``, since the default Keras family builds classifiers only).
Generators, seeds, batch sizes and drift points are in ``STREAMS`` below and in bench/README.md.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from driftgate.pipelines.tune import merged

BATCHES = 20
ROWS = 2000


@dataclass(frozen=True)
class Stream:
    """One benchmark stream."""

    name: str
    label: str
    description: str
    make: Callable[[], list[pd.DataFrame]]
    settings: dict = field(default_factory=dict)  # config settings besides data.label


def _agrawal_rows(function: int, seed: int) -> Iterator[dict]:
    from river.datasets import synth

    for x, y in synth.Agrawal(classification_function=function, seed=seed):
        yield _agrawal_record(x, y)


def _agrawal_record(x: dict, y: int) -> dict:
    """Agrawal's nominal features as text (car, zipcode), the rest as numbers."""
    row = dict(x)
    row["car"], row["zipcode"] = f"car{x['car']:02d}", f"zip{x['zipcode']}"
    row["class"] = f"group_{'ab'[y]}"
    return row


def _take(rows: Iterator[dict], n: int) -> pd.DataFrame:
    return pd.DataFrame([next(rows) for _ in range(n)])


def abrupt() -> list[pd.DataFrame]:
    """Agrawal function 0 for batches 0–7, function 2 from batch 8: same features, new labels."""
    before, after = _agrawal_rows(0, seed=7), _agrawal_rows(2, seed=8)
    return [_take(before if b < 8 else after, ROWS) for b in range(BATCHES)]


def gradual() -> list[pd.DataFrame]:
    """SEA variant 0 → variant 3 through river's ConceptDriftStream, centred on batch 10.

    The sigmoid switch spans 6 batches (width 12,000 rows): batches 7–13 mix both concepts.
    """
    from river.datasets import synth

    stream = synth.ConceptDriftStream(
        stream=synth.SEA(variant=0, seed=21, noise=0.0),
        drift_stream=synth.SEA(variant=3, seed=22, noise=0.0),
        position=10 * ROWS,
        width=6 * ROWS,
        seed=23,
    )
    rows = ({"x0": x[0], "x1": x[1], "x2": x[2], "class": "yes" if y else "no"} for x, y in stream)
    return [_take(rows, ROWS) for _ in range(BATCHES)]


def feature_drift() -> list[pd.DataFrame]:
    """Agrawal function 0 (class depends on age only) throughout; from batch 5 on, salary,
    loan and house value shift upwards step by step, and car makes concentrate.

    Rows are drawn from the generator and kept by rejection: in batch b ≥ 5 a row is kept only
    if its salary is over 20,000 + 8,000·(b−4) and its loan over 25,000·(b−4); the car make
    keeps car ≤ 20 − (b−4)/2. The labelling function never changes.
    """
    rows = _agrawal_rows(0, seed=31)
    batches = []
    for b in range(BATCHES):
        shift = max(0, b - 4)
        kept = []
        while len(kept) < ROWS:
            row = next(rows)
            if (
                row["salary"] >= 20_000 + 8_000 * shift
                and row["loan"] >= 25_000 * shift
                and int(row["car"][3:]) <= 20 - shift // 2
            ):
                kept.append(row)
        batches.append(pd.DataFrame(kept))
    return batches


def stable() -> list[pd.DataFrame]:
    """Agrawal function 0, one seed, 20 batches: no drift at all."""
    rows = _agrawal_rows(0, seed=41)
    return [_take(rows, ROWS) for _ in range(BATCHES)]


def stable_small() -> list[pd.DataFrame]:
    """Agrawal function 1, one seed, 16 batches: no drift at all, but a small bootstrap batch
    (500 rows, then 1,500 rows a batch), so the first model is far from what the data gathered
    later would give it.
    """
    rows = _agrawal_rows(1, seed=71)
    return [_take(rows, 500 if b == 0 else 1500) for b in range(16)]


def regression() -> list[pd.DataFrame]:
    """River's Friedman regression generator (y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 +
    5 x4 + N(0, 1) noise; x0-x9 uniform on [0, 1], x5-x9 irrelevant), one seed, 16 batches of
    1,500 rows: a stable concept with a numeric label (every value distinct: a regression).
    """
    from river.datasets import synth

    stream = synth.Friedman(seed=81)
    rows = ({**{f"x{k}": v for k, v in x.items()}, "target": y} for x, y in stream)
    return [_take(rows, 1500) for _ in range(16)]


def sp500() -> list[pd.DataFrame]:
    """River's bundled S&P 500 daily returns (Feb 2013 – Feb 2018, 1,257 trading days).

    Features: that day's returns of ten stocks; label: whether an equal-weighted portfolio of
    the ten rises the next trading day (``up``/``down``). Batches: 10 consecutive blocks of
    about 126 trading days (half a year), in date order.
    """
    import river.datasets

    path = Path(river.datasets.__file__).parent / "sp500.csv.gz"
    with gzip.open(path, "rt") as handle:
        frame = pd.read_csv(handle)
    frame["direction"] = np.where(frame.pop("next_day_return") > 0, "up", "down")
    frame = frame.drop(columns=["date"])
    return [frame.iloc[rows].reset_index(drop=True) for rows in np.array_split(frame.index, 10)]


def new_class() -> list[pd.DataFrame]:
    """River's RandomRBF (4 classes seen from the start, 6 features, 20 centroids); a fifth
    class appears at batch 4 with only 4 rows (like a first foggy day), and from batch 5 on it
    comes at its natural rate. Batches of 1,000 rows, 16 batches.
    """
    from river.datasets import synth

    generator = synth.RandomRBF(
        seed_model=51, seed_sample=52, n_classes=5, n_features=6, n_centroids=20
    )
    rows = ({**{f"x{k}": v for k, v in x.items()}, "weather": f"w{y}"} for x, y in generator)
    batches = []
    for b in range(16):
        allowed_new = 0 if b < 4 else (4 if b == 4 else 1000)
        kept: list[dict] = []
        while len(kept) < 1000:
            row = next(rows)
            if row["weather"] == "w4":
                if allowed_new == 0:
                    continue
                allowed_new -= 1
            kept.append(row)
        batches.append(pd.DataFrame(kept))
    return batches


def boundary_shift() -> list[pd.DataFrame]:
    """SEA variant 0 (x0 + x1 ≤ 8, 5 % label noise) throughout; from batch 6 on the rows
    concentrate near the class boundary (rejection with acceptance exp(−|x0 + x1 − 8| / s),
    s = 4 / (b − 5)): the features drift and the deployed model's accuracy falls, although
    the labelling function never changes. Used with ``--label-delay 3``.
    """
    from river.datasets import synth

    rng = np.random.default_rng(61)
    stream = synth.SEA(variant=0, seed=62, noise=0.05)
    rows = ({"x0": x[0], "x1": x[1], "x2": x[2], "class": "yes" if y else "no"} for x, y in stream)
    batches = []
    for b in range(BATCHES):
        scale = 4 / (b - 5) if b > 5 else None
        kept: list[dict] = []
        while len(kept) < ROWS:
            row = next(rows)
            distance = abs(row["x0"] + row["x1"] - 8)
            if scale is None or rng.random() < np.exp(-distance / scale):
                kept.append(row)
        batches.append(pd.DataFrame(kept))
    return batches


STREAMS = {
    s.name: s
    for s in (
        Stream("abrupt", "class", abrupt.__doc__ or "", abrupt),
        Stream("gradual", "class", gradual.__doc__ or "", gradual),
        Stream("feature_drift", "class", feature_drift.__doc__ or "", feature_drift),
        Stream("stable", "class", stable.__doc__ or "", stable),
        Stream("stable_small", "class", stable_small.__doc__ or "", stable_small),
        Stream(
            "regression",
            "target",
            regression.__doc__ or "",
            regression,
            {"training": {"family": "sklearn"}},
        ),
        Stream("sp500", "direction", sp500.__doc__ or "", sp500),
        Stream("new_class", "weather", new_class.__doc__ or "", new_class),
        Stream("boundary_shift", "class", boundary_shift.__doc__ or "", boundary_shift),
    )
}


def stream_settings(stream: Stream, extra: dict | None = None) -> dict:
    """The stream's config settings (its label and ``settings``), with ``extra`` merged over."""
    return merged({"data": {"label": stream.label}, **stream.settings}, extra or {})


def write_stream(stream: Stream, directory: Path) -> Path:
    """Writes a stream's batches and its config (default but for its settings) to ``directory``."""
    batches = directory / "batches"
    batches.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(stream.make()):
        frame.to_parquet(batches / f"batch-{i:03d}.parquet", index=False)
    config = directory / "config.yaml"
    config.write_text(yaml.safe_dump(stream_settings(stream), sort_keys=False))
    return config
