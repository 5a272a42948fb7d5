"""The registry on real volumes: foreign directories, names, generations, retention, locks,
a models.config built under one lock, and signed manifests."""

import errno
import fcntl
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from test_registry import push

from driftgate.errors import ConfigError, IntegrityError, RegistryError
from driftgate.models.scoring import load_scorer
from driftgate.pipelines.cli import main
from driftgate.registry import locking
from driftgate.registry.integrity import sha256_file, verify
from driftgate.registry.retention import prune
from driftgate.registry.store import SERVING_CONFIG, Registry

NOBODY = 65534


def _as_nobody(action) -> int:
    """Runs ``action`` in a forked child without root's right to read any directory."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            action()
            code = 0
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.fixture
def shared_dir():
    """A directory that a process without root's rights can reach (tmp_path's parents are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="registry-"))
    yield path
    shutil.rmtree(path)


def test_a_lost_and_found_directory_does_not_break_pushes(shared_dir):
    base = shared_dir
    base.chmod(0o777)
    (base / "lost+found").mkdir(mode=0o700)  # what mkfs.ext4 leaves, root's only
    (base / "lost+found").chmod(0o700)
    registry = Registry(base, "m")
    if os.geteuid() == 0:  # pods run as non-root: push as nobody, who cannot read lost+found
        os.chown(base / "lost+found", 0, 0)
        assert _as_nobody(lambda: push(registry, None)) == 0
    else:
        (base / "lost+found").chmod(0)
        push(registry, None)
    assert registry.production() == 1 and 'name: "m"' in (base / SERVING_CONFIG).read_text()
    assert "lost+found" not in (base / SERVING_CONFIG).read_text()


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "lost+found", "x" * 129])
def test_model_names_that_leave_the_registry_are_refused(tmp_path, name):
    with pytest.raises(RegistryError, match="is not allowed"):
        Registry(tmp_path / "registry", name)


@pytest.mark.parametrize("command", ["versions", "rollback", "prune"])
def test_every_cli_model_option_is_checked_before_touching_disk(tmp_path, capsys, command):
    base = tmp_path / "registry"
    base.mkdir()
    extra = ["--keep", "1"] if command == "prune" else []
    assert main([command, "--registry", str(base), "--model", "../escaped", *extra]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model name '../escaped' is not allowed" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry"]
    assert not any(base.iterdir())


def test_push_rollback_push_cannot_fool_compare_and_swap(tmp_path):
    registry = Registry(tmp_path, "m")
    push(registry, None)
    seen = registry.production_state()  # a run reads production: version 1, generation 1
    assert seen == (1, 1)
    push(registry, 1, "two")  # meanwhile another run promotes version 2 ...
    registry.rollback(to=1)  # ... and someone rolls back to 1
    assert registry.production_state() == (1, 3)
    with registry.staging() as staged:
        (staged / "saved_model.pb").write_text("late")
        late = registry.push(staged, {"format": "saved_model"}, seen[0], parent_generation=seen[1])
    assert (late.version, late.promoted) == (3, False)
    assert "moved away from 1 and back (generation 1 to 3)" in late.message
    assert registry.production() == 1


def test_retention_keeps_the_newest_production_its_parent_and_the_previous(tmp_path):
    registry = Registry(tmp_path, "m", keep_versions=2)
    for parent in (None, 1, 2, 3):
        push(registry, parent, f"v{parent}")
    assert registry.versions() == [3, 4]
    registry.rollback(to=3)  # production 3, previous 4
    push(registry, 3, "five")  # production 5, parent 3, previous 3
    assert registry.versions() == [3, 4, 5]
    stale = push(registry, 3, "six")  # not promoted: 4 goes, 3 stays as production's parent
    assert not stale.promoted and registry.production() == 5
    assert registry.versions() == [3, 5, 6]
    assert [p.name for p in (tmp_path / "m").iterdir() if p.name.startswith(".pruned")] == []
    for version in registry.versions():
        registry.verified(version)
    assert prune(Registry(tmp_path, "m"), 1) == []  # 6 newest, 5 production, 3 its parent


def test_the_cli_prunes_and_says_what_it_deleted(tmp_path, capsys):
    registry = Registry(tmp_path, "m")
    for parent in (None, 1, 2, 3):
        push(registry, parent, f"v{parent}")
    assert main(["prune", "--registry", str(tmp_path), "--model", "m", "--keep", "1"]) == 0
    assert "deleted versions 1, 2" in capsys.readouterr().out
    assert registry.versions() == [3, 4]
    assert main(["prune", "--registry", str(tmp_path), "--model", "m", "--keep", "0"]) == 1
    assert "cannot keep 0 versions" in capsys.readouterr().err
    assert registry.versions() == [3, 4]


@pytest.fixture
def broken_locks(monkeypatch):
    """Makes flock behave like a volume without working locks; returns a setter."""
    real = fcntl.flock

    def set_mode(mode):
        def flock(handle, operation):
            if mode == "refused":
                raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))
            if operation & fcntl.LOCK_UN:
                return real(handle, operation)
            return None  # granted, never enforced (SMB mounted with nobrl)

        monkeypatch.setattr(locking.fcntl, "flock", flock)

    return set_mode


def test_a_probe_waits_for_another_process_probing_the_same_volume(tmp_path):
    errors: list[BaseException] = []

    def probe():
        try:
            locking.check_locking(tmp_path)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    with open(tmp_path / locking.PROBE, "a+") as other:  # another run's probe, mid-check
        fcntl.flock(other, fcntl.LOCK_EX)
        waiting = threading.Thread(target=probe)
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive() and not errors  # it waits instead of calling locks broken
        fcntl.flock(other, fcntl.LOCK_UN)
    waiting.join(10)
    assert not waiting.is_alive() and not errors


@pytest.mark.parametrize(
    ("mode", "message"),
    [("refused", "file locks do not work on this volume"), ("ignored", "are not enforced")],
)
def test_a_volume_without_working_locks_is_refused_before_a_push(
    tmp_path, broken_locks, mode, message
):
    broken_locks(mode)
    registry = Registry(tmp_path / "registry", "m")
    with pytest.raises(RegistryError, match=message) as caught:
        push(registry, None)
    assert "nobrl" in str(caught.value)
    assert registry.versions() == [] and registry.production() is None


WRITE_CONFIG = """
import sys
from pathlib import Path
from driftgate.registry.store import write_serving_config
write_serving_config(Path(sys.argv[1]), "/models")
"""


def test_models_config_reads_the_pointers_under_the_registry_wide_lock(tmp_path):
    a, b = Registry(tmp_path, "a"), Registry(tmp_path, "b")
    push(a, None)
    push(a, 1, "two")
    push(b, None)
    with open(tmp_path / ".serving.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another writer holds the registry-wide lock
        writer = subprocess.Popen([sys.executable, "-c", WRITE_CONFIG, str(tmp_path)])
        time.sleep(1.0)  # lets a writer that reads pointers before locking read them now
        pointer = json.loads((tmp_path / "a" / "production.json").read_text())
        (tmp_path / "a" / "production.json").write_text(json.dumps({**pointer, "version": 1}))
        fcntl.flock(held, fcntl.LOCK_UN)
    assert writer.wait(timeout=60) == 0
    config = (tmp_path / SERVING_CONFIG).read_text()
    assert 'name: "a"' in config and "versions: 1" in config and "versions: 2" not in config


@pytest.fixture
def signing_key(tmp_path, monkeypatch):
    key = tmp_path / "secret" / "key"
    key.parent.mkdir()
    key.write_text("a-long-random-secret\n")
    monkeypatch.setenv("DRIFTGATE_SIGNING_KEY_FILE", str(key))
    return key


def _rehash(version_dir: Path) -> None:
    """What an attacker with write access to the volume does after replacing a file."""
    manifest = json.loads((version_dir / "metadata.json").read_text())
    for rel in manifest["files"]:
        manifest["files"][rel] = sha256_file(version_dir / rel)
    (version_dir / "metadata.json").write_text(json.dumps(manifest))


class Planted:
    """A pickle that leaves a file behind when it is unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_signed_version_rewritten_with_fresh_hashes_is_refused_before_unpickling(
    tmp_path, signing_key, monkeypatch
):
    registry = Registry(tmp_path / "registry", "m")
    push(registry, None, fmt="sklearn")
    version = registry.path(1)
    assert "signature" in json.loads((version / "metadata.json").read_text())
    registry.verified(1)
    marker = tmp_path / "unpickled"
    (version / "model.joblib").write_bytes(pickle.dumps(Planted(marker)))
    manifest = json.loads((version / "metadata.json").read_text())
    manifest["files"]["model.joblib"] = ""
    (version / "metadata.json").write_text(json.dumps(manifest))
    _rehash(version)
    with pytest.raises(IntegrityError, match="signature that does not match its content"):
        load_scorer(registry.verified(1))
    assert not marker.exists()
    monkeypatch.delenv("DRIFTGATE_SIGNING_KEY_FILE")  # without the key, checksums alone pass it
    assert registry.verified(1).metadata["files"]["model.joblib"] == sha256_file(
        version / "model.joblib"
    )


def test_signing_on_refuses_unsigned_versions_and_a_missing_key(tmp_path, monkeypatch):
    registry = Registry(tmp_path / "registry", "m")
    push(registry, None)
    key = tmp_path / "key"
    key.write_text("k")
    monkeypatch.setenv("DRIFTGATE_SIGNING_KEY_FILE", str(key))
    with pytest.raises(IntegrityError, match="is not signed, but signing is on"):
        registry.verified(1)
    key.unlink()
    with pytest.raises(ConfigError, match="DRIFTGATE_SIGNING_KEY_FILE is unreadable"):
        verify(registry.path(1))


def test_another_key_does_not_verify(tmp_path, signing_key):
    registry = Registry(tmp_path / "registry", "m")
    push(registry, None)
    signing_key.write_text("another key")
    with pytest.raises(IntegrityError, match="signed with another key"):
        registry.verified(1)
