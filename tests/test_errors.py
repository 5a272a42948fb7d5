"""Errors a user can act on: one line, found in a failed task's log by a marker, not a name."""

import subprocess
import sys

from driftgate.errors import MARKER, ConfigError, DriftgateError, find_error_in_log
from driftgate.pipelines.local_run import _capture, _LogTee


class QuotaError(DriftgateError):
    """A team's own error, defined outside driftgate.errors."""


def test_every_driftgate_error_carries_its_line_as_a_marked_note():
    error = QuotaError("the GPU quota is spent", file="quota.yaml", hint="ask for more")
    assert str(error) == "quota.yaml: the GPU quota is spent; ask for more"
    assert error.__notes__ == [MARKER + str(error)]


def test_the_marker_is_found_under_a_real_traceback_of_a_subclass_defined_elsewhere():
    script = (
        "from driftgate.errors import DriftgateError\n"
        "class QuotaError(DriftgateError):\n"
        "    pass\n"
        "raise QuotaError('the GPU quota is spent', file='quota.yaml')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    lines = result.stderr.splitlines()
    assert "QuotaError: quota.yaml: the GPU quota is spent" in lines
    assert find_error_in_log(lines) == "quota.yaml: the GPU quota is spent"


def test_the_last_of_chained_errors_is_the_one_reported():
    lines = [f"{MARKER}first", "During handling of the above exception", f"  {MARKER}second"]
    assert find_error_in_log(lines) == "second"
    assert find_error_in_log(["ValueError: not ours", "ConfigError: lookalike"]) is None


def test_the_local_runner_finds_a_subclass_raised_inside_a_kfp_task(tmp_path):
    from kfp import dsl, local

    @dsl.component(base_image="python:3.11", install_kfp_package=False)
    def spend() -> None:
        from driftgate.errors import DriftgateError

        class QuotaError(DriftgateError):
            """Defined in the task's own code."""

        raise QuotaError("the GPU quota is spent", file="quota.yaml", hint="ask for more")

    @dsl.pipeline(name="quota")
    def pipeline() -> None:
        spend()

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path),
        raise_on_error=False,
    )
    with open(tmp_path / "run.log", "w") as log:
        tee = _LogTee(log, None, lambda *event: None)
        with _capture(tee):
            pipeline()
    assert find_error_in_log(tee.lines) == "quota.yaml: the GPU quota is spent; ask for more"


def test_config_errors_keep_their_one_line_str():
    assert str(ConfigError("does not exist", file="c.yaml")) == "c.yaml: does not exist"
