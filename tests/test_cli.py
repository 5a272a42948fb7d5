import subprocess
import sys

import pytest

from driftgate.pipelines.cli import main

COMMANDS = ["run", "demo", "compile", "stats", "submit", "schedule", "versions", "rollback"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert len(capsys.readouterr().out.splitlines()) > 5


def test_top_level_help_lists_the_commands():
    out = subprocess.run(
        [sys.executable, "-m", "driftgate.pipelines.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in COMMANDS:
        assert command in out


def test_run_needs_local_and_a_bad_config_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit, match="only --local runs exist here"):
        main(["run", "--batch", "x.csv"])
    (tmp_path / "c.yaml").write_text("data: {}")
    assert main(["run", "--local", "--batch", "x.csv", "--config", str(tmp_path / "c.yaml")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"driftgate: error: {tmp_path / 'c.yaml'}: field 'data.label': Field required"]
