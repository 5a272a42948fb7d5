"""``make bench``: driftgate's drift engine beside a scipy script and Evidently.

Every measured run is its own process (so its peak RSS is its own), single-threaded (numbers are
per core), limited to 10 minutes and 20 GiB of resident memory. A peer that fails at one size is
not tried at larger sizes of the same width. Results go to bench/results.json and
bench/results.md; the datasets are described in bench/data.py and bench/README.md.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench.data import dataset

HERE = Path(__file__).parent
DATA = HERE / "data"
SIZES = [100_000, 1_000_000, 10_000_000]
WIDTHS = [10, 100]
TIME_LIMIT_S = 600
MEMORY_LIMIT_MB = 20 * 1024
IN_MEMORY_MAX_VALUES = 100_000_000  # driftgate-memory only where both tables fit comfortably
LN2 = math.log(2.0)
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def say(text: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {text}", flush=True)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(peer: str, *args: object) -> dict:
    """Runs one peer in a fresh process and returns its result or why it has none."""
    out = DATA / f".{peer}-{'-'.join(map(str, args[:2]))}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.peers", peer, *map(str, args), str(out)]
    process = subprocess.Popen(command, cwd=HERE.parent, env={**os.environ, **SINGLE_THREAD})
    started = time.monotonic()
    while process.poll() is None:
        if time.monotonic() - started > TIME_LIMIT_S:
            process.kill()
            process.wait()
            return {"status": f"did not finish in {TIME_LIMIT_S // 60} min"}
        if _rss_mb(process.pid) > MEMORY_LIMIT_MB:
            process.kill()
            process.wait()
            return {"status": f"stopped above {MEMORY_LIMIT_MB // 1024} GiB of memory"}
        time.sleep(0.2)
    if process.returncode != 0 or not out.exists():
        return {"status": f"failed (exit {process.returncode})"}
    return {"status": "ok", **json.loads(out.read_text())}


def js_gap(driftgate: dict, scipy: dict) -> float:
    """Largest |JS(driftgate) − JS(scipy)| over the columns, on the same bins."""
    return max(
        abs(driftgate["columns"][c]["js"] - scipy["columns"][c]["js"]) for c in scipy["columns"]
    )


def agreement(aligned: dict, evidently: dict) -> dict:
    """Per-column verdicts of Evidently against driftgate set up like Evidently."""
    rows = []
    for column, theirs in sorted(
        evidently["columns"].items(), key=lambda kv: int(kv[0].split("_")[1])
    ):
        ours = aligned[column]
        value = ours["wasserstein"] if column.startswith("num") else math.sqrt(ours["js"] * LN2)
        rows.append(
            {
                "column": column,
                "method": theirs["method"],
                "evidently": theirs["value"],
                "driftgate": value,
                "threshold": theirs["threshold"],
                "evidently_drift": theirs["drift"],
                "driftgate_drift": ours["drift"],
            }
        )
    same = sum(r["evidently_drift"] == r["driftgate_drift"] for r in rows)
    return {"agree": same, "columns": len(rows), "rows": rows}


def main() -> None:
    """Runs every measurement and writes the results."""
    DATA.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": f"{platform.system()} {platform.machine()}",
        },
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "limits": {"time_s": TIME_LIMIT_S, "memory_mb": MEMORY_LIMIT_MB, "threads": 1},
        "runs": [],
    }
    say("kernel: numeric accumulation of 1e8 values in memory")
    results["kernel"] = measure("kernel")
    failed: set[tuple[str, int]] = set()
    for m in WIDTHS:
        for n in SIZES:
            say(f"{n:,} rows x {m} columns: preparing data")
            dataset(DATA, n, m)
            run = {"rows": n, "columns": m, "peers": {}}
            plan = ["driftgate-stream"]
            if n * m <= IN_MEMORY_MAX_VALUES:
                plan.append("driftgate-memory")
            plan += ["scipy", "evidently"]
            for peer in plan:
                if (peer, m) in failed:
                    run["peers"][peer] = {"status": "skipped: did not finish at a smaller size"}
                    continue
                extra = []
                memory = run["peers"].get("driftgate-memory", {})
                if peer == "scipy" and memory.get("status") == "ok":
                    extra = [json.dumps({"edges": memory["edges"], "vocab": memory["vocab"]})]
                say(f"{n:,} x {m}: {peer}")
                result = measure(peer, n, m, DATA, *extra)
                say(
                    f"  {result['status']}"
                    + (
                        f", {result['seconds']:.1f} s, {result['peak_rss_mb']:.0f} MB"
                        if result["status"] == "ok"
                        else ""
                    )
                )
                if result["status"] != "ok":
                    failed.add((peer, m))
                run["peers"][peer] = result
            results["runs"].append(run)
            (HERE / "results.json").write_text(json.dumps(summarise(results), indent=2))
    (HERE / "results.json").write_text(json.dumps(summarise(results), indent=2))
    (HERE / "results.md").write_text(markdown(summarise(results)))
    say(f"wrote {HERE / 'results.json'} and {HERE / 'results.md'}")


def summarise(results: dict) -> dict:
    """Adds throughput, speed-ups, JS equality and verdict agreement."""
    for run in results["runs"]:
        values = run["rows"] * run["columns"]
        peers = run["peers"]
        stream = peers.get("driftgate-stream", {})
        if stream.get("status") == "ok":
            run["gate_values_per_second"] = values / stream["batch_seconds"]
            run["stream_values_per_second"] = 2 * values / stream["seconds"]
        memory, scipy, evidently = (
            peers.get(p, {}) for p in ("driftgate-memory", "scipy", "evidently")
        )
        if memory.get("status") == "ok":
            for name, peer in (("scipy", scipy), ("evidently", evidently)):
                if peer.get("status") == "ok":
                    run[f"speedup_vs_{name}"] = peer["seconds"] / memory["seconds"]
            if scipy.get("status") == "ok":
                run["js_max_abs_difference_vs_scipy"] = js_gap(memory, scipy)
            if evidently.get("status") == "ok":
                run["verdicts_vs_evidently"] = agreement(memory["evidently_aligned"], evidently)
    return results


def markdown(results: dict) -> str:
    """The results as Markdown tables."""
    kernel = results["kernel"]
    lines = [
        "# Drift engine benchmark",
        "",
        f"{results['date']}, {results['machine']['cpus']} CPUs, "
        f"Python {results['machine']['python']}; one thread per run, "
        f"{results['limits']['time_s'] // 60} min and "
        f"{results['limits']['memory_mb'] // 1024} GiB per run. Regenerate with `make bench`.",
        "",
        "Numeric kernel, data in memory: "
        f"**{kernel.get('values_per_second', 0) / 1e6:.0f} M values/s** on one core "
        f"({kernel.get('values', 0):,} values in {kernel.get('seconds', 0):.2f} s).",
        "",
        "## Time and peak memory per run",
        "",
        "driftgate-stream reads both Parquet files (reference: sample, bins, counts; batch: one "
        "pass, the gate's cost once reference statistics are stored). The in-memory peers start "
        "from loaded tables; their RSS includes the data.",
        "",
        "| rows × cols | driftgate stream (ref + batch) | gate M values/s/core | stream RSS "
        "| driftgate in memory | scipy | Evidently | speed-up vs Evidently |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(peer: dict) -> str:
        if peer.get("status") != "ok":
            return peer.get("status", "–")
        return f"{peer['seconds']:.1f} s, {peer['peak_rss_mb']:.0f} MB"

    for run in results["runs"]:
        peers = run["peers"]
        stream = peers.get("driftgate-stream", {})
        stream_cell = (
            f"{stream['reference_seconds']:.1f} + {stream['batch_seconds']:.1f} s"
            if stream.get("status") == "ok"
            else cell(stream)
        )
        rss = f"{stream['peak_rss_mb']:.0f} MB" if stream.get("status") == "ok" else "–"
        gate = (
            f"{run['gate_values_per_second'] / 1e6:.0f}" if "gate_values_per_second" in run else "–"
        )
        speedup = f"{run['speedup_vs_evidently']:.0f}×" if "speedup_vs_evidently" in run else "–"
        lines.append(
            f"| {run['rows']:,} × {run['columns']} | {stream_cell} | {gate} | {rss} | "
            f"{cell(peers.get('driftgate-memory', {}))} | {cell(peers.get('scipy', {}))} | "
            f"{cell(peers.get('evidently', {}))} | {speedup} |"
        )
    lines += ["", "## Jensen–Shannon against scipy on the same bins", ""]
    for run in results["runs"]:
        if "js_max_abs_difference_vs_scipy" in run:
            lines.append(
                f"- {run['rows']:,} × {run['columns']}: largest difference "
                f"{run['js_max_abs_difference_vs_scipy']:.2e}"
            )
    lines += [
        "",
        "## Per-column verdicts against Evidently",
        "",
        "driftgate configured like Evidently's defaults for large data: normed Wasserstein ≥ 0.1 "
        "on numeric columns (driftgate's from 100 quantile bins, Evidently's exact), "
        "Jensen–Shannon distance (natural log) ≥ 0.1 on categorical ones.",
        "",
    ]
    for run in results["runs"]:
        verdicts = run.get("verdicts_vs_evidently")
        if not verdicts:
            continue
        agree = f"{verdicts['agree']} of {verdicts['columns']} agree"
        lines.append(f"### {run['rows']:,} × {run['columns']}: {agree}")
        lines += [
            "",
            "| column | method | Evidently | driftgate | threshold | Evidently says "
            "| driftgate says |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in verdicts["rows"]:
            mark = "" if row["evidently_drift"] == row["driftgate_drift"] else " **≠**"
            lines.append(
                f"| {row['column']} | {row['method']} | {row['evidently']:.4f} | "
                f"{row['driftgate']:.4f} | "
                f"{row['threshold']} | {'drift' if row['evidently_drift'] else 'ok'} | "
                f"{'drift' if row['driftgate_drift'] else 'ok'}{mark} |"
            )
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
