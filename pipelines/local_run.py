"""Runs the pipeline through KFP's local runner and reads back what happened.

The pipeline function is the one compiled for the cluster; ``kfp.local.SubprocessRunner`` runs
each task as a subprocess in this environment, ``dsl.If`` included. The runner's own log (task
banners and every task's output) goes to ``run.log`` in the run directory; progress is reported
per task as it finishes. Which tasks ran, failed or were skipped is read from the task
directories the runner leaves under the pipeline root.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from driftgate.errors import find_error_in_log
from driftgate.pipelines.config import Config
from driftgate.pipelines.config_checks import check_batch_columns
from driftgate.pipelines.retrain import PIPELINE_NAME, build_pipeline
from driftgate.pipelines.steps import STEPS

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EVENT = re.compile(
    r"(Executing task|Skipping conditional task|Task) '?([\w-]+)'?(?: finished with status (\w+))?"
)


@dataclass
class TaskRecord:
    """One task of a local run."""

    name: str
    status: str  # succeeded | failed | skipped
    outputs: dict[str, Any] = field(default_factory=dict)
    directory: Path | None = None

    def artifact(self, name: str) -> Path:
        """Local path of one of the task's output artifacts."""
        assert self.directory is not None, f"task {self.name} did not run"
        return self.directory / name


@dataclass
class RunSummary:
    """The outcome of a local run."""

    run_dir: Path
    succeeded: bool
    tasks: dict[str, TaskRecord]
    wall_seconds: float
    error: str | None = None
    alerts: list[dict] = field(default_factory=list)
    alert_file: Path | None = None

    @property
    def failed_task(self) -> str | None:
        """The first task that failed, if any."""
        return next((t.name for t in self.tasks.values() if t.status == "failed"), None)

    def ran(self) -> list[str]:
        """Names of the tasks that ran (successfully or not)."""
        return [t.name for t in self.tasks.values() if t.status != "skipped"]

    def skipped(self) -> list[str]:
        """Names of the tasks that did not run."""
        return [t.name for t in self.tasks.values() if t.status == "skipped"]

    def output(self, task: str, name: str, default: Any = None) -> Any:
        """An output parameter of a task (``default`` when it did not run).

        Returned values are in the task's executor output; ``OutputPath`` parameters are files.
        """
        record = self.tasks[task]
        if name in record.outputs:
            return record.outputs[name]
        if record.status == "succeeded" and record.artifact(name).is_file():
            return record.artifact(name).read_text()
        return default

    def json_artifact(self, task: str, name: str) -> Any:
        """A JSON output artifact of a task, or None when the task did not run."""
        record = self.tasks[task]
        return (
            json.loads(record.artifact(name).read_text()) if record.status == "succeeded" else None
        )


class _LogTee(io.TextIOBase):
    """Collects the runner's stdout into a file and reports task events as they happen."""

    def __init__(
        self, log: TextIO, echo: TextIO | None, on_event: Callable[[str, str, str | None], None]
    ) -> None:
        self.log, self.echo, self.on_event = log, echo, on_event
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self.log.write(text)
        if self.echo:
            self.echo.write(text)
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            clean = ANSI.sub("", line)
            self.lines.append(clean)
            match = EVENT.search(clean)
            if match and (match.group(1) != "Task" or match.group(3)):
                self.on_event(match.group(1), match.group(2), match.group(3))
        return len(text)

    def flush(self) -> None:
        self.log.flush()
        if self.echo:
            self.echo.flush()


@contextlib.contextmanager
def _capture(tee: _LogTee) -> Iterator[None]:
    # The runner logs task banners through its own handler on sys.stdout, but condition skips
    # and warnings through the root logger at INFO; both are routed into the tee.
    original, root = sys.stdout, logging.getLogger()
    handler, level = logging.StreamHandler(tee), root.level
    sys.stdout = tee  # type: ignore[assignment]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        sys.stdout = original
        tee.flush()


def branch_tasks(pipeline: Any) -> dict[str, list[str]]:
    """Maps each condition group of a compiled pipeline to the tasks it holds (nested included)."""
    spec = pipeline.pipeline_spec
    components = dict(spec.components.items())

    def tasks_of(dag) -> list[str]:
        names = []
        for name, task in dag.tasks.items():
            inner = components.get(task.component_ref.name)
            names += tasks_of(inner.dag) if inner is not None and inner.HasField("dag") else [name]
        return names

    groups: dict[str, list[str]] = {}

    def visit(dag) -> None:
        for name, task in dag.tasks.items():
            inner = components.get(task.component_ref.name)
            if inner is not None and inner.HasField("dag"):
                groups[name] = tasks_of(inner.dag)
                visit(inner.dag)

    visit(spec.root.dag)
    return groups


def _alert_lines(path: Path | None) -> list[str]:
    """The lines of the alert file (none when there is no file sink)."""
    return path.read_text().splitlines() if path is not None and path.is_file() else []


def _own_run_dir(lines: list[str], output_root: Path) -> Path:
    """This run's directory, as its own task log names it.

    Runs started at once in the same output root each find their own directory this way, never
    "the newest new one", which may be another run's.
    """
    pattern = re.compile(re.escape(str(output_root)) + rf"/({PIPELINE_NAME}-[0-9-]+)/")
    found = next((m.group(1) for line in lines if (m := pattern.search(line))), None)
    return output_root / found if found else output_root


def read_task(run_dir: Path, name: str) -> TaskRecord:
    """What a task left in a local run directory: its status and output parameters."""
    directory = run_dir / name
    if not directory.is_dir():
        return TaskRecord(name, "skipped")
    output_file = directory / "executor_output.json"
    if not output_file.exists():
        return TaskRecord(name, "failed", directory=directory)
    outputs = json.loads(output_file.read_text()).get("parameterValues", {})
    return TaskRecord(name, "succeeded", outputs, directory)


def run_local(
    config: Config,
    batch_uri: str,
    registry_uri: str,
    *,
    force: bool = False,
    output_root: str | Path = ".driftgate/runs",
    verbose: bool = False,
    progress: TextIO | None = None,
    runner: Any = None,
) -> RunSummary:
    """Runs the pipeline for ``config`` with KFP's local subprocess runner.

    Args:
        config: The pipeline configuration.
        batch_uri: The batch to process.
        registry_uri: The registry directory.
        force: Retrain regardless of the gate.
        output_root: Where the runner writes task outputs; each run gets a subdirectory (found
            from its own log). Alerts go to ``alerts.jsonl`` there unless the config names a
            file sink.
        verbose: Echo every task's log to stdout.
        progress: Stream for one line per task event (finished, skipped); stdout is captured
            during the run, so pass the console stream here.
        runner: A ``kfp.local`` runner; default ``SubprocessRunner(use_venv=False)``, which runs
            each task in this environment. ``DockerRunner`` runs each task in the image.

    Returns:
        The run's outcome.

    Raises:
        ConfigError: A setting names a column the batch does not have (checked before any task).
    """
    from kfp import local

    check_batch_columns(config, batch_uri)

    if config.alerts.file is None:
        alerts = config.alerts.model_copy(
            update={"file": str(Path(output_root).resolve() / "alerts.jsonl")}
        )
        config = config.model_copy(update={"alerts": alerts})
    alert_file = Path(config.alerts.file) if config.alerts.file else None  # "": no file sink
    alerts_before = len(_alert_lines(alert_file))

    output_root = Path(output_root).resolve()
    output_root.mkdir(parents=True, exist_ok=True)
    Path(registry_uri).mkdir(parents=True, exist_ok=True)
    started: dict[str, float] = {}
    pipeline = build_pipeline(config)
    branches = branch_tasks(pipeline)

    def say(line: str) -> None:
        if progress is not None:
            progress.write(line + "\n")
            progress.flush()

    def on_event(kind: str, task: str, status: str | None) -> None:
        if kind == "Executing task":
            started[task] = time.monotonic()
        elif kind == "Skipping conditional task":
            for name in sorted(
                branches.get(task, [task]), key=lambda n: STEPS.index(n) if n in STEPS else 99
            ):
                say(f"  {name:<9} skipped")
        elif status:
            took = time.monotonic() - started.get(task, time.monotonic())
            say(f"  {task:<9} {'ok' if status == 'SUCCESS' else 'FAILED':<7}{took:5.1f} s")

    local.init(
        runner=runner or local.SubprocessRunner(use_venv=False),
        pipeline_root=str(output_root),
        raise_on_error=False,
    )
    log_path = output_root / f".{PIPELINE_NAME}-{uuid.uuid4().hex}.log"
    begin = time.monotonic()
    with open(log_path, "w") as log, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tee = _LogTee(log, sys.stdout if verbose else None, on_event)
        with _capture(tee):
            pipeline(
                batch_uri=batch_uri, registry_uri=str(Path(registry_uri).resolve()), force=force
            )
    wall = time.monotonic() - begin
    run_dir = _own_run_dir(tee.lines, output_root)
    log_path.rename(run_dir / "run.log" if run_dir != output_root else log_path)
    tasks = {name: read_task(run_dir, name) for name in STEPS}
    failed = [t for t in tasks.values() if t.status == "failed"]
    error = None
    if failed:
        error = (
            find_error_in_log(tee.lines)
            or f"task {failed[0].name} failed; see {run_dir / 'run.log'}"
        )
    alerts = [json.loads(line) for line in _alert_lines(alert_file)[alerts_before:]]
    return RunSummary(run_dir, not failed, tasks, wall, error, alerts, alert_file)
