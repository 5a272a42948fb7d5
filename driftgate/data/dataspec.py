"""What the data looks like: label, features and how CSV files are parsed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from driftgate.data.tabular.csvfile import CsvOptions


class DataSettings(BaseModel):
    """The columns of the dataset and how its files are read.

    Attributes:
        label: The label column (class names or ids, or a numeric target).
        task: ``classification``, ``regression``, or ``auto``: regression when the first
            batch's label is numeric with many distinct values (see :mod:`driftgate.models.tasks`).
        features: Feature columns; empty means every column except the label and ``exclude``.
        exclude: Columns that are neither features nor label (ids, timestamps).
        key: A column that identifies each row, to join labels that arrive later
            (``driftgate labels``); it is never a feature.
        categorical: Columns treated as categorical even when numeric; text columns always are.
        require_labels: Reject batches without a label column (otherwise only drift is checked).
        delimiter: CSV field separator.
        encoding: CSV text encoding.
        max_line_bytes: Longest accepted CSV line.
        max_domain_size: Categorical columns with more distinct values get no value domain.
    """

    model_config = ConfigDict(extra="forbid")

    label: str
    task: Literal["auto", "classification", "regression"] = "auto"
    features: list[str] = []
    exclude: list[str] = []
    key: str | None = None
    categorical: list[str] = []
    require_labels: bool = False
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf8"
    max_line_bytes: int = Field(4 << 20, ge=1024)
    max_domain_size: int = Field(1000, ge=1)

    @property
    def not_features(self) -> list[str]:
        """Columns that are never features: ``exclude`` and the ``key``."""
        return [*self.exclude, *([self.key] if self.key else [])]

    def csv_options(self) -> CsvOptions:
        """CSV parsing options; the label is always read as text."""
        return CsvOptions(
            delimiter=self.delimiter,
            encoding=self.encoding,
            max_line_bytes=self.max_line_bytes,
            text_columns=(self.label, *self.categorical),
        )
