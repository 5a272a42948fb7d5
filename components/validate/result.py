"""What validation found: anomalies, the verdict, its Markdown, alert and one-line error."""

from __future__ import annotations

from dataclasses import dataclass, field

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from driftgate.errors import DataError
from driftgate.observe.alerts import Alert

Reason = anomalies_pb2.AnomalyInfo.Type


@dataclass
class Anomaly:
    """One problem found in the batch."""

    column: str | None
    reason: str
    message: str
    blocking: bool

    def error(self, source: str) -> DataError:
        """The one-line error this anomaly raises."""
        return DataError(self.message, file=source, column=self.column)


@dataclass
class ValidationResult:
    """The outcome of validating a batch."""

    schema: schema_pb2.Schema
    schema_inferred: bool
    rows: int
    has_labels: bool
    anomalies: list[Anomaly] = field(default_factory=list)
    new_classes: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[Anomaly]:
        """Anomalies that stop the run."""
        return [a for a in self.anomalies if a.blocking]

    def to_proto(self) -> anomalies_pb2.Anomalies:
        """The anomalies as a tensorflow-metadata ``Anomalies`` proto."""
        proto = anomalies_pb2.Anomalies(anomaly_name_format=anomalies_pb2.Anomalies.SERIALIZED_PATH)
        proto.baseline.CopyFrom(self.schema)
        for anomaly in self.anomalies:
            key = anomaly.column or ""
            info = proto.anomaly_info[key] if anomaly.column else proto.dataset_anomaly_info
            severity = (
                anomalies_pb2.AnomalyInfo.ERROR
                if anomaly.blocking
                else anomalies_pb2.AnomalyInfo.WARNING
            )
            info.severity = max(info.severity, severity)
            info.short_description = (
                anomaly.reason if not info.short_description else "Multiple errors"
            )
            info.description = (
                info.description + " " if info.description else ""
            ) + anomaly.message
            info.reason.add(
                type=Reason.Value(anomaly.reason),
                short_description=anomaly.reason,
                description=anomaly.message,
            )
        return proto

    def markdown(self, source: str) -> str:
        """A Markdown report for the Kubeflow UI."""
        lines = [
            f"# Data validation: {source}",
            "",
            f"- rows: {self.rows:,}",
            "- schema: "
            + (
                "inferred from this batch (first run)"
                if self.schema_inferred
                else "of the deployed model"
            ),
            f"- labels: {'present' if self.has_labels else 'absent'}",
            f"- verdict: **{'BLOCKED' if self.blocking else 'passed'}**",
            "",
        ]
        if not self.anomalies:
            lines.append("No anomalies.")
        else:
            lines += ["| severity | column | anomaly | detail |", "|---|---|---|---|"]
            for a in self.anomalies:
                sev = "error" if a.blocking else "warning"
                lines.append(f"| {sev} | {a.column or '(dataset)'} | {a.reason} | {a.message} |")
        return "\n".join(lines) + "\n"


def anomalies_alert(
    result: ValidationResult, source: str, model: str, run: str | None
) -> Alert | None:
    """The alert for a blocked batch (None when nothing blocks)."""
    if not result.blocking:
        return None
    fields = {a.column or "(dataset)": a.message for a in result.blocking[:10]}
    return Alert(
        "anomalies",
        model,
        f"{model}: batch rejected by validation",
        f"{source} has {len(result.blocking)} blocking "
        f"anomal{'y' if len(result.blocking) == 1 else 'ies'}; "
        "nothing was trained or pushed.",
        fields,
        run,
    )


def raise_if_blocked(result: ValidationResult, source: str) -> None:
    """Raises the first blocking anomaly as a one-line error that counts the others.

    Raises:
        DataError: The batch has at least one blocking anomaly.
    """
    blocking = result.blocking
    if not blocking:
        return
    error = blocking[0].error(source)
    if len(blocking) > 1:
        others = ", ".join(f"{a.column}: {a.reason}" for a in blocking[1:4])
        error = DataError(
            f"{error.problem} (and {len(blocking) - 1} more: {others})",
            file=source,
            column=blocking[0].column,
        )
    raise error
