"""Late labels: ``driftgate labels`` joins them to a processed batch and scores its model."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from driftgate.pipelines.local_run import run_local
from driftgate.registry.ledger import Ledger
from driftgate.registry.store import Registry

pytestmark = pytest.mark.slow


def test_late_labels_are_scored_against_the_estimate_and_written_for_the_gate(
    deployed_registry, tmp_path, config, penguins_frame
):
    season = penguins_frame[penguins_frame.year == 2009].reset_index(drop=True)
    season["flipper_length_mm"] /= 10  # the deployed version 2 learned centimetres
    season.insert(0, "row_id", [f"r{i}" for i in range(len(season))])
    season.drop(columns=["species"]).to_csv(tmp_path / "unlabelled.csv", index=False)
    season[["row_id", "species"]].iloc[::-1].to_csv(tmp_path / "labels.csv", index=False)
    keyed = config.model_copy(update={"data": config.data.model_copy(update={"key": "row_id"})})
    summary = run_local(
        keyed, str(tmp_path / "unlabelled.csv"), str(deployed_registry), output_root=tmp_path / "r"
    )
    assert summary.succeeded, summary.error
    details = summary.json_artifact("check", "details")
    assert details["performance"] is None and details["estimate"]["accuracy"]["value"] > 0.5
    config_file = tmp_path / "keyed.yaml"
    config_file.write_text(
        "model_name: penguins\ndata: {label: species, exclude: [year], key: row_id}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "driftgate.pipelines.cli", "labels", "--batch", "unlabelled.csv",
         "--labels", str(tmp_path / "labels.csv"), "--registry", str(deployed_registry),
         "--config", str(config_file), "--output", str(tmp_path / "labelled.parquet")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "realised:  accuracy" in done.stdout and "estimated: accuracy" in done.stdout
    entry = Ledger(Registry(deployed_registry, "penguins")).entries()[-1]
    assert entry["realised"]["rows"] == len(season)
    assert entry["realised"]["metrics"]["accuracy"] > 0.9
    joined = pq.read_table(tmp_path / "labelled.parquet")
    assert joined.num_rows == len(season) and "species" in joined.column_names
    bad = subprocess.run(
        [sys.executable, "-m", "driftgate.pipelines.cli", "labels", "--batch", "nothing.csv",
         "--labels", str(tmp_path / "labels.csv"), "--registry", str(deployed_registry),
         "--config", str(config_file)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 1 and "--batch nothing.csv: matches no processed batch" in bad.stderr
    assert json.dumps(entry)  # the ledger entry stays plain JSON
