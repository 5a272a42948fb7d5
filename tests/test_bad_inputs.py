"""Every bad input fails the run with one clear line and leaves the registry unchanged."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DATA, tree_digest
from make_bad_corpus import huge_line

from driftgate.pipelines.cli import main

pytestmark = pytest.mark.slow
CORPUS = yaml.safe_load((DATA / "bad" / "cases.yaml").read_text())
CASES = {name: case for name, case in CORPUS.items() if not name.startswith("configs/")}
CONFIG_CASES = {name: case for name, case in CORPUS.items() if name.startswith("configs/")}


def batch_path(name: str, tmp_path: Path) -> Path:
    return huge_line(tmp_path / name) if name == "huge_line.csv" else DATA / "bad" / name


def run_batch(batch, registry, tmp_path, capsys, config=None):
    """`driftgate run --local` on a batch; returns the exit code and the stderr lines."""
    options = ["--config", str(config)] if config else []
    code = main(
        [
            "run",
            "--local",
            "--batch",
            str(batch),
            "--registry",
            str(registry),
            "--output-dir",
            str(tmp_path / "runs"),
            *options,
        ]
    )
    return code, capsys.readouterr().err.strip().splitlines()


def test_the_corpus_covers_every_documented_case():
    bad = DATA / "bad"
    committed = {str(p.relative_to(bad)) for p in bad.rglob("*") if p.is_file()} - {"cases.yaml"}
    assert committed | {"huge_line.csv", "does_not_exist.csv"} == set(CORPUS)
    assert len(CASES) >= 15 and len(CONFIG_CASES) >= 10


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gives_one_line_and_changes_nothing(name, deployed_registry, tmp_path, capsys):
    expected = CASES[name]
    batch = batch_path(name, tmp_path)
    before = tree_digest(deployed_registry)
    code, err = run_batch(str(batch), str(deployed_registry), tmp_path, capsys)
    assert code != 0
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith(f"driftgate: error: {batch}: ")
    if expected["column"]:
        assert f"column '{expected['column']}': " in line
    assert expected["message"] in line
    assert tree_digest(deployed_registry) == before


@pytest.mark.parametrize("name", sorted(CONFIG_CASES))
def test_a_bad_config_gives_one_line_naming_the_field_before_any_task(
    name, demo, deployed_registry, tmp_path, capsys
):
    expected = CONFIG_CASES[name]
    config, batch = DATA / "bad" / name, demo[0] / "batches" / "penguins-2009.csv"
    before = tree_digest(deployed_registry)
    code, err = run_batch(batch, deployed_registry, tmp_path, capsys, config)
    assert code == 1
    assert len(err) == 1, err
    named = batch if expected.get("names") == "batch" else config
    assert err[0].startswith(f"driftgate: error: {named}: field '{expected['field']}': ")
    assert expected["message"] in err[0]
    assert not (tmp_path / "runs").exists()  # refused at load or before the first task
    assert tree_digest(deployed_registry) == before


def test_a_bad_first_batch_pushes_nothing(tmp_path, capsys):
    registry = tmp_path / "registry"
    code, err = run_batch(str(DATA / "bad" / "nan_value.csv"), str(registry), tmp_path, capsys)
    assert code == 1 and "NaN value" in err[0]
    assert not any(registry.rglob("*"))


def test_the_console_script_exits_non_zero_with_the_message(deployed_registry, tmp_path):
    batch = DATA / "bad" / "nan_value.csv"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "driftgate"),
            "run",
            "--local",
            "--batch",
            str(batch),
            "--registry",
            str(deployed_registry),
            "--output-dir",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"driftgate: error: {batch}: column 'body_mass_g': holds 1 NaN value(s); "
        "write missing values as empty cells"
    ]
    assert "FAILED in task validate" in result.stdout


def test_a_single_class_first_batch_names_the_users_file(tmp_path, capsys):
    batch = (
        DATA / "bad" / "unseen_category.csv"
    )  # on an empty registry: 40 Adelie rows, nothing unseen
    code, err = run_batch(str(batch), str(tmp_path / "r"), tmp_path, capsys)
    assert code == 1
    assert err == [
        f"driftgate: error: {batch}: column 'species': the first batch has 1 label class(es) "
        "(Adelie); training a classifier needs at least 2"
    ]


def test_a_broken_alert_sink_neither_fails_the_run_nor_hides_its_error(
    deployed_registry, tmp_path, capsys, monkeypatch
):
    secret = "hooks.slack.com/services/T0/B0/SECRETTOKEN"
    monkeypatch.setenv("DRIFTGATE_ALERT_WEBHOOK", secret)  # no scheme: urllib raises ValueError
    batch = DATA / "bad" / "nan_value.csv"
    before = tree_digest(deployed_registry)
    code, err = run_batch(str(batch), str(deployed_registry), tmp_path, capsys)
    assert code == 1
    assert err == [
        f"driftgate: error: {batch}: column 'body_mass_g': holds 1 NaN value(s); "
        "write missing values as empty cells"
    ]
    assert tree_digest(deployed_registry) == before
    outputs = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    assert outputs and not [p for p in outputs if b"SECRETTOKEN" in p.read_bytes()]
    markdown = b"".join(p.read_bytes() for p in outputs)
    assert b"is not an http(s):// URL" in markdown


def test_signing_on_refuses_an_unsigned_deployed_model(
    deployed_registry, demo, tmp_path, capsys, monkeypatch
):
    key = tmp_path / "signing-key"
    key.write_text("a-secret-the-volume-does-not-hold")
    monkeypatch.setenv("DRIFTGATE_SIGNING_KEY_FILE", str(key))
    batch = demo[0] / "batches" / "penguins-2009.csv"
    before = tree_digest(deployed_registry)
    code, err = run_batch(str(batch), str(deployed_registry), tmp_path, capsys)
    assert code == 1 and len(err) == 1, err
    manifest = deployed_registry / "penguins" / "2" / "metadata.json"
    assert err[0] == (
        f"driftgate: error: {manifest}: is not signed, but signing is on "
        "($DRIFTGATE_SIGNING_KEY_FILE); refusing to load it; push the model again with the key, "
        "or roll back to a signed version"
    )
    assert tree_digest(deployed_registry) == before
