"""``make bench-quantise``: the penguins Keras model beside its float16 and int8 TFLite versions.

Trains the default penguins model (the bundled config) on 2007-2008, as the demo's bootstrap does,
quantises it both ways (int8 calibrated on the training window) and scores the full and the
quantised model on the same rows: the train step's held-out rows and the next year (2009). CPU
latency is the median of ``REPEATS`` timed passes. Writes bench/quantise-results.{json,md}.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from driftgate import optimise
from driftgate.components.train.core import TrainOutputs, train
from driftgate.components.validate.core import validate
from driftgate.integrity import verify
from driftgate.pipelines.config import load_config
from driftgate.pipelines.demo import penguins
from driftgate.registry import Registry
from driftgate.settings.optimisation import OptimisationSettings

HERE = Path(__file__).parent
REPEATS = 5
OUTPUTS = ("model", "eval.parquet", "window.parquet", "stats.pb", "sample.parquet", "tb", "s.pbtxt")


def _train(work: Path):
    config = load_config(None)
    frame = penguins()
    batch = work / "batch.parquet"
    pq.write_table(pa.Table.from_pandas(frame[frame.year <= 2008], preserve_index=False), batch)
    checked = validate(batch, work / "valid.parquet", config.data, config.validation)
    outputs = TrainOutputs(*(work / name for name in OUTPUTS))
    train(
        work / "valid.parquet",
        checked.schema,
        Registry(work / "registry", config.model_name),
        None,
        config.training,
        config.drift,
        outputs,
    )
    return verify(outputs.model_dir), outputs, frame[frame.year == 2009]


def _judge(model, flatbuffer, rows, settings) -> dict:
    reports = [
        optimise.evaluate(
            model.path,
            flatbuffer,
            rows,
            model.metadata["label"],
            model.metadata["classes"],
            settings,
        )
        for _ in range(REPEATS)
    ]
    first = reports[0]
    return {
        "rows": len(rows),
        "full_bytes": first.full.size_bytes,
        "quantised_bytes": first.quantised.size_bytes,
        "full_accuracy": first.full.accuracy,
        "quantised_accuracy": first.quantised.accuracy,
        "accuracy_delta": first.accuracy_delta,
        "full_ms_per_1000": statistics.median(r.full.ms_per_1000_rows for r in reports),
        "quantised_ms_per_1000": statistics.median(r.quantised.ms_per_1000_rows for r in reports),
        "accepted": first.accepted,
    }


def main() -> None:
    """Runs the benchmark and writes its results."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        model, outputs, next_year = _train(Path(tmp))
        window = pq.read_table(outputs.training_data).to_pandas()
        held_out = pq.read_table(outputs.eval_data).to_pandas()
        for mode in ("float16", "int8"):
            settings = OptimisationSettings(quantise=mode)
            flatbuffer = optimise.quantise(model.path, settings, window)
            for name, rows in (("held-out (2007-2008)", held_out), ("next year (2009)", next_year)):
                results.append(
                    {"mode": mode, "rows_from": name, **_judge(model, flatbuffer, rows, settings)}
                )
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_1min": round(os.getloadavg()[0], 1),
        "repeats": REPEATS,
        "max_accuracy_drop": OptimisationSettings().max_accuracy_drop,
    }
    (HERE / "quantise-results.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2) + "\n"
    )
    lines = [
        "# Quantisation of the penguins model",
        "",
        f"Written by `make bench-quantise` on {meta['date']} ({meta['machine']}, load average "
        f"{meta['load_average_1min']} at the end); latency is the median of {REPEATS} passes over "
        "the rows, on CPU, one call per pass (a small batch: per-call overhead dominates the full "
        "SavedModel's time). Accepted: within "
        f"{meta['max_accuracy_drop']} accuracy of the full model.",
        "",
        "| mode | rows | full bytes | quantised bytes | full accuracy | quantised accuracy | "
        "delta | full ms / 1,000 rows | quantised ms / 1,000 rows | accepted |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['mode']} | {r['rows_from']}, {r['rows']} | {r['full_bytes']:,} | "
            f"{r['quantised_bytes']:,} | {r['full_accuracy']:.4f} | "
            f"{r['quantised_accuracy']:.4f} | {r['accuracy_delta']:+.4f} | "
            f"{r['full_ms_per_1000']:.1f} | {r['quantised_ms_per_1000']:.1f} | "
            f"{'yes' if r['accepted'] else 'no'} |"
        )
    (HERE / "quantise-results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
