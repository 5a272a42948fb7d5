"""Replay runs the pipeline's own steps: the same batches through ``driftgate run --local`` and
through replay give the same decisions and pushed versions."""

from __future__ import annotations

import pytest

from driftgate.pipelines.config import load_config
from driftgate.pipelines.demo import prepare
from driftgate.pipelines.local_run import run_local
from driftgate.pipelines.policies import parse_policies
from driftgate.pipelines.replay_cli import replay
from driftgate.registry.store import Registry

pytestmark = pytest.mark.slow


def test_replay_matches_local_runs_of_the_pipeline(tmp_path):
    config = load_config(None)
    config = config.model_copy(
        update={"training": config.training.model_copy(update={"family": "sklearn"})}
    )
    batches = [str(step.batch) for step in prepare(tmp_path / "demo")]  # the demo's story
    local = []
    for batch in batches:
        summary = run_local(
            config, batch, str(tmp_path / "registry"), output_root=tmp_path / "runs"
        )
        assert summary.succeeded, summary.error
        local.append((summary.output("decide", "Output"), summary.output("push", "version")))
    replayed = replay(
        config, batches, parse_policies(["gate"], config, None), tmp_path / "replay", 0,
        lambda line: None,
    )["policies"]["gate"]["batches"]  # fmt: skip
    assert [(e["decision"] != "skip", e["deployed_version"] if e["pushed"] else None)
            for e in replayed] == local  # fmt: skip
    # bootstrap, no drift, drift that does not hurt, the same batch again, a real drop
    assert [d for d, _ in local] == [True, False, False, False, True]
    ours = Registry(tmp_path / "replay" / "policies" / "gate" / "registry", config.model_name)
    theirs = Registry(tmp_path / "registry", config.model_name)
    assert ours.versions() == theirs.versions() == [1, 2]
    for version in (1, 2):
        assert ours.metadata(version)["metrics"] == theirs.metadata(version)["metrics"]
