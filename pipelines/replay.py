"""Replays a retraining policy over a history of batches, one batch per scheduled run.

Each batch goes through the pipeline's own step cores in one process (ingest, validate, check,
decide and, when the policy retrains, train, evaluate and push) against a registry private to
the policy. Before anything trains on a batch, the model deployed at that moment is scored on
it: averaged over the stream, that prequential score is the quality the users got.

With a label delay K, the gate sees each batch without its label column; the labels of batch t
arrive with batch t+K. Then the model that served batch t is scored on them (its prequential
score), the deployed model is scored on them for the performance check, and they are the rows a
retrain adds to the training window.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from driftgate.components.check import core as check_core
from driftgate.components.check import performance as check_performance
from driftgate.components.decide import core as decide_core
from driftgate.components.evaluate import core as evaluate_core
from driftgate.components.ingest import core as ingest_core
from driftgate.components.push import core as push_core
from driftgate.components.train import core as train_core
from driftgate.components.validate import core as validate_core
from driftgate.components.validate.result import ValidationResult
from driftgate.errors import DriftgateError
from driftgate.pipelines.config import Config
from driftgate.pipelines.config_checks import named_columns
from driftgate.pipelines.policies import Policy
from driftgate.pipelines.replay_record import BatchRecord, Labelled, largest_drift, without_column
from driftgate.registry.integrity import verify
from driftgate.registry.ledger import Ledger
from driftgate.registry.store import (
    REFERENCE_SAMPLE,
    REFERENCE_STATS,
    SCHEMA_FILE,
    TRAINING_DATA,
    Registry,
)

log = logging.getLogger(__name__)


@dataclass
class PolicyRun:
    """Replays one policy over the batches, keeping its registry and work files."""

    config: Config
    policy: Policy
    workdir: Path
    label_delay: int = 0
    say: Callable[[str], None] = print
    batch_days: float = 1.0  # the time between two scheduled runs (the GPU budget's clock)
    records: list[BatchRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.registry = Registry(
            self.workdir / "registry",
            self.config.model_name,
            keep_versions=self.config.registry.keep_versions,
        )
        self.label = self.config.data.label
        # A schedule never reads a learning curve: the baselines train without one, so their
        # GPU-hours are what a cron job would pay, and the gate pays for its own curves.
        training = self.config.training
        if self.policy.kind != "gate":
            curve = training.learning_curve.model_copy(update={"enabled": False})
            training = training.model_copy(update={"learning_curve": curve})
        self._training = training
        self._pending: dict[int, tuple[Path, str]] = {}  # index -> labelled copy, its SHA-256

    def run(self, batches: list[str]) -> list[BatchRecord]:
        """Replays every batch in order and returns one record per batch."""
        for index, batch in enumerate(batches):
            started = time.monotonic()
            record = self._step(index, batch, self.workdir / f"{index:04d}")
            record.seconds = round(time.monotonic() - started, 3)
            self.records.append(record)
            self.say(self._progress(index, len(batches), record))
        return self.records

    def _progress(self, index: int, total: int, r: BatchRecord) -> str:
        score = r.metrics.get("accuracy") if r.metrics else None
        drift = f"drift {r.drift['metric']} {r.drift['value']:.3f}" if r.drift else "drift –"
        return (
            f"  [{self.policy.name}] {index + 1}/{total} {r.batch}: {r.decision:<9} "
            f"v{r.deployed_version or '–'} acc {'–' if score is None else f'{score:.3f}'} "
            f"{drift} {r.seconds:.1f} s"
        )

    def _step(self, index: int, batch: str, work: Path) -> BatchRecord:
        work.mkdir(parents=True)
        name = batch.rsplit("/", 1)[-1]
        served = self.registry.production()
        ingested = ingest_core.ingest(batch, work / "ingested.parquet", self.config.data)
        gate_input = work / "ingested.parquet"
        if self.label_delay:
            self._pending[index] = (gate_input, ingested.sha256)
            gate_input = without_column(gate_input, self.label, work / "unlabelled.parquet")
        record = BatchRecord(name, "skip", "", served, served)
        try:
            validated = self._validate(gate_input, work / "validated.parquet", batch)
        except DriftgateError as exc:
            record.decision, record.reason = "blocked", exc.one_line()
            return record
        if self.label_delay:
            labelled = self._labels_arriving(index)
            record.labels_from = labelled and labelled.source.rsplit("/", 1)[-1]
        elif validated.has_labels:
            labelled = Labelled(
                work / "validated.parquet",
                batch,
                ingested.sha256,
                validated.schema,
                validated.rows,
                validated.new_classes,
            )
        else:
            labelled = None
        gate = self.policy.gate_config
        checked = check_core.check(
            work / "validated.parquet",
            self.registry,
            gate.drift,
            gate.performance,
            self.label,
            validated.has_labels,
            gate.gate.max_calibration_error,
        )
        if self.label_delay and labelled is not None and served is not None:
            verified, rows = self.registry.verified(served), pq.read_table(labelled.path)
            checked.performance = check_performance.score(verified, rows, self.label)
            checked.degraded = check_performance.assess(
                verified, checked.performance, rows.num_rows, gate.performance
            )
        if not self.label_delay and checked.performance is not None:
            record.metrics = checked.performance
        record.drift = largest_drift(checked)
        record.estimate = checked.estimate
        run = f"replay-{self.policy.slug}-{index}"
        facts = decide_core.BatchFacts(
            ingested.sha256,
            batch,
            run,
            labelled.rows if labelled else validated.rows,
            labelled is not None,
            labelled.new_classes if labelled else [],
            str(labelled.path) if labelled else "",
            at=index * self.batch_days * 86_400.0,
        )
        decided = decide_core.run_step(
            self.registry,
            checked.summary(),
            facts,
            lambda found: self.policy.decide(index, found, gate.drift.min_rows),
            gate.gate.remind_every,
            alerts=None,
        )
        decision = decided.decision
        record.reason, record.deferred = decision.reason, decision.deferred
        record.expected_gain = next(
            (list(t.gain) for t in decision.triggers if t.name == "expected_gain" and t.gain), None
        )
        record.alerts = [f"{a.kind}: {a.title}" for a in decided.alerts]
        ledger = Ledger(self.registry)
        try:
            if decision.retrain:
                record.decision = "retrain" if served is not None else "bootstrap"
                opened_by = decided.opened_by
                episode = ledger.episode(ingested.sha256, opened_by) if opened_by else None
                self._retrain(labelled, served, work, record, episode, ingested.sha256)
                record.deployed_version = self.registry.production()
        finally:
            ledger.close_run(run, succeeded=True)
        return record

    def _validate(self, path: Path, dest: Path, source: str) -> ValidationResult:
        step = validate_core.run_step(
            path,
            dest,
            self.registry,
            self.config.data,
            self.config.validation,
            list(named_columns(self.config)),
            source,
            None,
            None,
        )
        step.raise_if_blocked()
        return step.result

    def _labels_arriving(self, index: int) -> Labelled | None:
        """Scores the model that served batch ``index - K`` on its now visible labels."""
        arriving = index - self.label_delay
        if arriving < 0:
            return None
        record = self.records[arriving]
        path, sha256 = self._pending.pop(arriving)
        dest = path.with_name("validated-labelled.parquet")
        try:
            validated = self._validate(path, dest, record.batch)
        except DriftgateError as exc:
            log.warning("labels of %s arrived but were rejected: %s", record.batch, exc)
            return None
        if record.served_version is not None:
            record.metrics = check_performance.score(
                self.registry.verified(record.served_version), pq.read_table(dest), self.label
            )
        return Labelled(
            dest, record.batch, sha256, validated.schema, validated.rows, validated.new_classes
        )

    def _retrain(
        self,
        data: Labelled | None,
        parent: int | None,
        work: Path,
        record: BatchRecord,
        episode: set[str] | None,
        claimed: str,
    ) -> None:
        """Trains on ``data``, evaluates against ``parent`` and pushes a blessed candidate.

        The training's GPU-hours go into the ledger entry of the batch ``claimed`` (the run's).
        """
        assert data is not None, "decide never retrains without labels"
        outputs = train_core.TrainOutputs(
            model_dir=work / "model",
            eval_data=work / "eval.parquet",
            training_data=work / TRAINING_DATA,
            reference_stats=work / REFERENCE_STATS,
            reference_sample=work / REFERENCE_SAMPLE,
            tensorboard_dir=work / "tensorboard",
            schema=work / SCHEMA_FILE,
        )
        started = time.monotonic()
        try:
            trained = train_core.train(
                data.path,
                data.schema,
                self.registry,
                parent,
                self._training,
                self.config.drift,
                outputs,
                data.source,
                data.sha256,
                episode,
            )
        except DriftgateError as exc:
            record.reason += f"; training failed: {exc.one_line()}"
            return
        finally:
            record.train_seconds = round(time.monotonic() - started, 3)
            gpus = self.config.platform.gpu.count
            hours = round(record.train_seconds * gpus / 3600, 6)
            Ledger(self.registry).update(claimed, gpu_hours=hours)
        record.train_mode = trained.mode_used
        result = evaluate_core.evaluate(
            verify(outputs.model_dir),
            outputs.eval_data,
            self.registry.verified(parent) if parent else None,
            parent,
            self.config.evaluation,
            work / "tfma",
        )
        record.blessed = result.blessed
        record.reason += f"; {result.reason()}"
        if not result.blessed:
            return
        sidecars = {
            SCHEMA_FILE: work / SCHEMA_FILE,
            REFERENCE_STATS: outputs.reference_stats,
            REFERENCE_SAMPLE: outputs.reference_sample,
            TRAINING_DATA: outputs.training_data,
        }
        provenance = {
            "batch_sha256": data.sha256,
            "batch_source": data.source,
            "run_id": f"replay-{self.policy.slug}-{record.batch}",
        }
        pushed = push_core.push(
            verify(outputs.model_dir),
            sidecars,
            result.to_dict(),
            self.registry,
            parent,
            provenance,
        )
        record.pushed = pushed.promoted
