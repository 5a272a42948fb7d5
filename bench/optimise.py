"""``make bench-optimise``: the penguins Keras model beside its pruned and quantised TFLite models.

Trains the penguins model on 2007-2008, as the demo's bootstrap does, twice: with the default
layers (32-16, about 1,000 weights) and wider (256-128, about 36,000 weights), since pruning and
quantisation shrink weights and the small model's flatbuffer is mostly its lookup tables. Each
model is optimised every way below (int8 calibrated on the training window, pruning fine-tuned on
it less the held-out rows) and scored beside the full model on the same rows: the train step's
held-out rows and the next year (2009). CPU latency is the median of ``REPEATS`` timed passes.
Writes bench/optimise-results.{json,md}.
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

from driftgate.components.evaluate.optimised import not_held_out
from driftgate.components.train.core import TrainOutputs, train
from driftgate.components.validate.core import validate
from driftgate.models import optimise, pruning
from driftgate.pipelines.config import load_config
from driftgate.pipelines.demo import penguins
from driftgate.registry.integrity import verify
from driftgate.registry.store import Registry
from driftgate.settings.optimisation import OptimisationSettings, PruningSettings

HERE = Path(__file__).parent
REPEATS = 5
OUTPUTS = ("model", "eval.parquet", "window.parquet", "stats.pb", "sample.parquet", "tb", "s.pbtxt")
LAYERS = {"32-16": [32, 16], "256-128": [256, 128]}
METHODS = [
    OptimisationSettings(quantise="float16"),
    OptimisationSettings(quantise="int8"),
    OptimisationSettings(prune=PruningSettings(sparsity=0.5)),
    OptimisationSettings(prune=PruningSettings(sparsity=0.8)),
    OptimisationSettings(prune=PruningSettings(sparsity=0.8), quantise="float16"),
    OptimisationSettings(prune=PruningSettings(sparsity=0.5), quantise="int8"),
]


def _train(work: Path, layers: list[int]):
    config = load_config(None)
    training = config.training.model_copy(
        update={"keras": config.training.keras.model_copy(update={"hidden_units": layers})}
    )
    frame = penguins()
    batch = work / "batch.parquet"
    pq.write_table(pa.Table.from_pandas(frame[frame.year <= 2008], preserve_index=False), batch)
    checked = validate(batch, work / "valid.parquet", config.data, config.validation)
    outputs = TrainOutputs(*(work / name for name in OUTPUTS))
    registry = Registry(work / "registry", config.model_name)
    train(work / "valid.parquet", checked.schema, registry, None, training, config.drift, outputs)
    return verify(outputs.model_dir), outputs, frame[frame.year == 2009]


def _judge(model, flatbuffer, rows, settings, sparsity) -> dict:
    reports = [
        optimise.evaluate(
            model.path,
            flatbuffer,
            rows,
            model.metadata["label"],
            model.metadata["classes"],
            settings,
            sparsity,
        )
        for _ in range(REPEATS)
    ]
    first = reports[0]
    return {
        "rows": len(rows),
        "full_bytes": first.full.size_bytes,
        "full_gzip_bytes": first.full.gzip_bytes,
        "optimised_bytes": first.optimised.size_bytes,
        "optimised_gzip_bytes": first.optimised.gzip_bytes,
        "full_accuracy": first.full.accuracy,
        "optimised_accuracy": first.optimised.accuracy,
        "accuracy_delta": first.accuracy_delta,
        "full_ms_per_1000": statistics.median(r.full.ms_per_1000_rows for r in reports),
        "optimised_ms_per_1000": statistics.median(r.optimised.ms_per_1000_rows for r in reports),
        "accepted": first.accepted,
    }


def _optimise(model, window, held_out, settings: OptimisationSettings, work: Path):
    """The flatbuffer, the pruned sparsity (or None) and the pruning seconds (or None)."""
    if settings.prune is None:
        return optimise.convert(model.path, settings, window), None, None
    rows, label = not_held_out(window, held_out), model.metadata["label"]
    pruned = pruning.prune(model.path, rows, label, settings.prune, work / settings.method())
    return optimise.convert(pruned.path, settings, window), pruned.sparsity, pruned.seconds


def _measure() -> list[dict]:
    results = []
    for layers_name, layers in LAYERS.items():
        with tempfile.TemporaryDirectory() as tmp:
            model, outputs, next_year = _train(Path(tmp), layers)
            window = pq.read_table(outputs.training_data).to_pandas()
            held_out = pq.read_table(outputs.eval_data).to_pandas()
            for settings in METHODS:
                flatbuffer, sparsity, seconds = _optimise(
                    model, window, held_out, settings, Path(tmp)
                )
                for name, rows in (("held-out", held_out), ("next year", next_year)):
                    results.append(
                        {
                            "layers": layers_name,
                            "method": settings.method(),
                            "sparsity": sparsity,
                            "pruning_seconds": seconds,
                            "rows_from": name,
                            **_judge(model, flatbuffer, rows, settings, sparsity),
                        }
                    )
    return results


def _markdown(meta: dict, results: list[dict]) -> str:
    lines = [
        "# Pruning and quantisation of the penguins model",
        "",
        f"Written by `make bench-optimise` on {meta['date']} ({meta['machine']}, load average "
        f"{meta['load_average_1min']} at the end). Trained on 2007-2008; rows: the train step's "
        "held-out rows (2007-2008) and the next year (2009). Bytes: the full SavedModel's files "
        "or the TFLite flatbuffer, as stored and gzip-compressed. Latency is the median of "
        f"{REPEATS} passes over the rows, on CPU, one call per pass (a small batch: per-call "
        "overhead dominates the full SavedModel's time). Pruning fine-tunes 4 epochs on the "
        "training window less its held-out rows. Accepted: within "
        f"{meta['max_accuracy_drop']} accuracy of the full model.",
        "",
        "| layers | method | rows | full bytes (gzip) | optimised bytes (gzip) | full accuracy | "
        "optimised accuracy | delta | full ms / 1,000 rows | optimised ms / 1,000 rows | "
        "pruning s | accepted |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        seconds = f"{r['pruning_seconds']:.1f}" if r["pruning_seconds"] is not None else "-"
        lines.append(
            f"| {r['layers']} | {r['method']} | {r['rows_from']}, {r['rows']} | "
            f"{r['full_bytes']:,} ({r['full_gzip_bytes']:,}) | "
            f"{r['optimised_bytes']:,} ({r['optimised_gzip_bytes']:,}) | "
            f"{r['full_accuracy']:.4f} | {r['optimised_accuracy']:.4f} | "
            f"{r['accuracy_delta']:+.4f} | {r['full_ms_per_1000']:.1f} | "
            f"{r['optimised_ms_per_1000']:.1f} | {seconds} | {'yes' if r['accepted'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Runs the benchmark and writes its results."""
    results = _measure()
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_1min": round(os.getloadavg()[0], 1),
        "repeats": REPEATS,
        "max_accuracy_drop": OptimisationSettings().max_accuracy_drop,
    }
    (HERE / "optimise-results.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2) + "\n"
    )
    text = _markdown(meta, results)
    (HERE / "optimise-results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
