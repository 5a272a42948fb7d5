import json
import os
import time

import pytest

from driftgate.errors import IntegrityError, RegistryError
from driftgate.registry.integrity import verify
from driftgate.registry.store import STAGING_PREFIX, Registry


def push(registry, parent, content="weights", fmt="saved_model"):
    with registry.staging() as staged:
        (staged / "saved_model.pb").write_text(content)
        (staged / "variables").mkdir()
        (staged / "variables" / "variables.index").write_text(content * 2)
        return registry.push(staged, {"format": fmt, "metrics": {"accuracy": 0.9}}, parent)


def test_push_publishes_numbered_complete_versions_and_moves_production(tmp_path):
    registry = Registry(tmp_path, "m")
    first = push(registry, None)
    second = push(registry, 1, "better")
    assert (first.version, first.promoted, second.version, second.promoted) == (1, True, 2, True)
    assert registry.versions() == [1, 2] and registry.production() == 2
    meta = registry.verified(2).metadata
    assert meta["parent_version"] == 1 and meta["version"] == 2
    assert set(meta["files"]) == {"saved_model.pb", "variables/variables.index"}
    assert not list(tmp_path.joinpath("m").glob(f"{STAGING_PREFIX}*"))
    pointer = json.loads((tmp_path / "m" / "production.json").read_text())
    assert pointer["previous"] == 1


def test_serving_config_serves_each_models_production_version(tmp_path):
    push(Registry(tmp_path, "a"), None)
    push(Registry(tmp_path, "a"), 1)
    push(Registry(tmp_path, "b"), None)
    push(Registry(tmp_path, "skl"), None, fmt="sklearn")
    config = (tmp_path / "models.config").read_text()
    assert 'name: "a"' in config and "versions: 2" in config
    assert 'base_path: "/models/b"' in config
    assert "skl" not in config  # TF Serving cannot serve pickled scikit-learn models


def test_a_push_against_a_stale_parent_is_stored_but_not_promoted(tmp_path):
    registry = Registry(tmp_path, "m")
    push(registry, None)
    push(registry, 1)
    late = push(registry, 1)  # this run compared against version 1, but production is now 2
    assert (late.version, late.promoted) == (3, False)
    assert "production moved from 1 to 2" in late.message
    assert registry.production() == 2


def test_rollback_moves_production_and_refuses_unverifiable_versions(tmp_path):
    registry = Registry(tmp_path, "m")
    for parent in (None, 1, 2):
        push(registry, parent, f"v{parent}")
    assert registry.rollback() == (3, 2)
    assert registry.rollback(to=1) == (2, 1)
    with pytest.raises(RegistryError, match="version 9 does not exist"):
        registry.rollback(to=9)
    (tmp_path / "m" / "3" / "saved_model.pb").write_text("tampered")
    with pytest.raises(IntegrityError, match="does not match the checksum"):
        registry.rollback(to=3)
    assert registry.production() == 1


def test_verification_refuses_changed_missing_added_and_renamed_files(tmp_path):
    registry = Registry(tmp_path, "m")
    push(registry, None)
    push(registry, 1, "two")
    version = tmp_path / "m" / "1"
    (version / "extra.py").write_text("import os")
    with pytest.raises(IntegrityError, match="was added after"):
        verify(version)
    (version / "extra.py").unlink()
    (version / "variables" / "variables.index").unlink()
    with pytest.raises(IntegrityError, match="is missing"):
        verify(version)
    os.rename(tmp_path / "m" / "2", tmp_path / "m" / "7")
    with pytest.raises(IntegrityError, match="holds the files of version 2, not 7"):
        registry.verified(7)


def test_stale_staging_directories_are_removed_by_the_next_push(tmp_path):
    registry = Registry(tmp_path, "m")
    stale = tmp_path / "m" / f"{STAGING_PREFIX}crashed"
    stale.mkdir(parents=True)
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    fresh = tmp_path / "m" / f"{STAGING_PREFIX}in-progress"
    fresh.mkdir()
    push(registry, None)
    assert not stale.exists() and fresh.exists()


def test_object_store_uris_are_refused_with_the_reason(tmp_path):
    with pytest.raises(RegistryError, match="no atomic rename"):
        Registry("gs://bucket/registry", "m")
