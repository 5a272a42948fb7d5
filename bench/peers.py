"""One measured run per process: driftgate (streaming or in memory), scipy, or Evidently.

``python -m bench.peers PEER N M DATA_DIR OUT_JSON`` runs one peer on one dataset and writes its
timings, peak RSS and per-column results. Loading data into memory is not timed for the
in-memory peers; the streaming driftgate run is timed from the Parquet files.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.data import dataset, layout

LN2 = math.log(2.0)


def kinds(m: int):
    from driftgate.data.schema import FeatureKinds

    numeric, categorical = layout(m)
    return FeatureKinds(None, tuple(numeric), tuple(categorical))


def evidently_aligned_settings(m: int):
    """driftgate set up like Evidently's defaults for large data: normed Wasserstein 0.1 on
    numeric columns, Jensen-Shannon distance (natural log) 0.1 on categorical ones."""
    from driftgate.stats import DriftSettings

    numeric, _ = layout(m)
    per_numeric = {name: {"js": None} for name in numeric}
    return DriftSettings(
        bins=100,
        thresholds={"js": 0.01 / LN2, "linf": None, "wasserstein": 0.1},
        features=per_numeric,
    )


def driftgate_results(ref, cur, settings) -> dict:
    from driftgate.stats import compare

    drift = compare(ref, cur, settings)
    return {
        f.name: {
            "js": f.metrics["js"],
            "wasserstein": f.metrics.get("wasserstein"),
            "drift": f.drifted,
        }
        for f in drift.features
    }


def run_driftgate_stream(n: int, m: int, root: Path) -> dict:
    """Reference statistics (two passes) and the gate's pass over the batch, from Parquet."""
    from driftgate.data.tabular.parquetfile import iter_parquet
    from driftgate.stats import DriftSettings, compute_stats, reference_stats

    reference, current = dataset(root, n, m)
    settings = DriftSettings()
    started = time.perf_counter()
    ref, _ = reference_stats(
        lambda: iter_parquet(str(reference), dictionary=True), kinds(m), settings
    )
    middle = time.perf_counter()
    cur, _ = compute_stats(iter_parquet(str(current), dictionary=True), ref.binning)
    results = driftgate_results(ref, cur, settings)
    done = time.perf_counter()
    return {
        "reference_seconds": middle - started,
        "batch_seconds": done - middle,
        "seconds": done - started,
        "columns": results,
    }


def _tables(n: int, m: int, root: Path) -> tuple[pa.Table, pa.Table]:
    reference, current = dataset(root, n, m)
    return pq.read_table(reference), pq.read_table(current)


def run_driftgate_memory(n: int, m: int, root: Path) -> dict:
    """Everything from tables already in memory: bins, both statistics, the comparison."""
    from driftgate.stats import DriftSettings, compute_stats, reference_stats

    ref_table, cur_table = _tables(n, m, root)
    started = time.perf_counter()
    ref, _ = reference_stats(lambda: ref_table.to_batches(), kinds(m), DriftSettings())
    cur, _ = compute_stats(cur_table.to_batches(), ref.binning)
    results = driftgate_results(ref, cur, DriftSettings())
    seconds = time.perf_counter() - started
    aligned = evidently_aligned_settings(m)
    ref_aligned, _ = reference_stats(lambda: ref_table.to_batches(), kinds(m), aligned)
    cur_aligned, _ = compute_stats(cur_table.to_batches(), ref_aligned.binning)
    return {
        "seconds": seconds,
        "columns": results,
        "evidently_aligned": driftgate_results(ref_aligned, cur_aligned, aligned),
        "edges": {
            name: list(b.edges) for name, b in ref.binning.features.items() if hasattr(b, "edges")
        },
        "vocab": {
            name: list(b.values) for name, b in ref.binning.features.items() if hasattr(b, "values")
        },
    }


def run_scipy(
    n: int, m: int, root: Path, edges: dict | None = None, vocab: dict | None = None
) -> dict:
    """The usual script: ks_2samp plus jensenshannon over np.histogram, feature by feature."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp

    ref_table, cur_table = _tables(n, m, root)
    numeric, categorical = layout(m)
    ref = {c: ref_table.column(c).to_numpy() for c in numeric}
    cur = {c: cur_table.column(c).to_numpy() for c in numeric}
    ref_cat = {c: ref_table.column(c).to_pandas() for c in categorical}
    cur_cat = {c: cur_table.column(c).to_pandas() for c in categorical}
    started = time.perf_counter()
    results = {}
    for column in numeric:
        inner = (
            np.asarray(edges[column])
            if edges
            else np.quantile(ref[column], np.linspace(0, 1, 11)[1:-1])
        )
        bounds = np.concatenate([[-np.inf], inner, [np.inf]])
        p, q = np.histogram(ref[column], bounds)[0], np.histogram(cur[column], bounds)[0]
        pvalue = ks_2samp(ref[column], cur[column]).pvalue
        results[column] = {
            "js": float(jensenshannon(p, q, base=2) ** 2),
            "ks_pvalue": float(pvalue),
        }
    for column in categorical:
        keys = vocab[column] if vocab else sorted(set(ref_cat[column]) | set(cur_cat[column]))
        p_counts, q_counts = ref_cat[column].value_counts(), cur_cat[column].value_counts()
        p = [p_counts.get(k, 0) for k in keys] + [
            len(ref_cat[column]) - p_counts.reindex(keys).fillna(0).sum()
        ]
        q = [q_counts.get(k, 0) for k in keys] + [
            len(cur_cat[column]) - q_counts.reindex(keys).fillna(0).sum()
        ]
        results[column] = {"js": float(jensenshannon(p, q, base=2) ** 2)}
    return {"seconds": time.perf_counter() - started, "columns": results}


def run_evidently(n: int, m: int, root: Path) -> dict:
    """Evidently's DataDriftPreset on pandas frames."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref_table, cur_table = _tables(n, m, root)
    ref, cur = ref_table.to_pandas(), cur_table.to_pandas()
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    seconds = time.perf_counter() - started
    results = {}
    for metric in snapshot.dict()["metrics"]:
        name = metric["metric_name"]
        if name.startswith("ValueDrift("):
            fields = dict(part.split("=", 1) for part in name[len("ValueDrift(") : -1].split(","))
            value, threshold = float(metric["value"]), float(fields["threshold"])
            p_value_test = "p_value" in fields["method"]
            results[fields["column"]] = {
                "method": fields["method"],
                "value": value,
                "threshold": threshold,
                "drift": value < threshold if p_value_test else value >= threshold,
            }
    return {"seconds": seconds, "columns": results}


def kernel(rows: int = 10_000_000, columns: int = 10, repeats: int = 3) -> dict:
    """Numeric throughput of the accumulator on data already in memory, one core."""
    from driftgate.stats.accumulator import DatasetStats
    from driftgate.stats.binning import Binning, NumericBins

    rng = np.random.default_rng(0)
    table = pa.table({f"x{i}": rng.normal(size=rows) for i in range(columns)})
    edges = tuple(
        float(e) for e in np.quantile(rng.normal(size=100_000), np.linspace(0, 1, 11)[1:-1])
    )
    binning = Binning({f"x{i}": NumericBins(edges) for i in range(columns)})
    best = math.inf
    for _ in range(repeats):
        stats = DatasetStats(binning)
        started = time.perf_counter()
        stats.add(table)
        best = min(best, time.perf_counter() - started)
    return {"values": rows * columns, "seconds": best, "values_per_second": rows * columns / best}


RUNNERS = {
    "driftgate-stream": run_driftgate_stream,
    "driftgate-memory": run_driftgate_memory,
    "scipy": run_scipy,
    "evidently": run_evidently,
}


def main(argv: list[str]) -> None:
    """Runs one peer and writes its result, peak RSS included."""
    peer, out = argv[0], Path(argv[-1])
    if peer == "kernel":
        result = kernel()
    else:
        n, m, root = int(argv[1]), int(argv[2]), Path(argv[3])
        extra = json.loads(argv[4]) if len(argv) > 5 else {}
        result = RUNNERS[peer](n, m, root, **extra)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    main(sys.argv[1:])
