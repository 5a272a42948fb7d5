"""How drift is measured and when a batch counts as drifted (the ``drift`` settings)."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

METRICS = ("js", "psi", "linf", "wasserstein", "ks_pvalue")


def _divergence(top: float):
    """A validator: ``auto``, null or a number in ``[0, top]``."""

    def check(value: float | str | None) -> float | str | None:
        if isinstance(value, float) and not 0 <= value <= top:
            raise ValueError(f"must be auto, null or a number in [0, {top:g}]")
        return value

    return AfterValidator(check)


JsLimit = Annotated[float | Literal["auto"] | None, _divergence(1.0)]
PsiLimit = Annotated[float | Literal["auto"] | None, _divergence(math.inf)]
LinfLimit = Annotated[float, Field(ge=0, le=1)] | None
WassersteinLimit = Annotated[float, Field(ge=0)] | None
KsLimit = Annotated[float, Field(gt=0, lt=1)] | None


class Thresholds(BaseModel):
    """Drift thresholds; a metric set to null is reported but never flags drift.

    ``js``, ``psi`` and ``wasserstein`` flag drift above the value, ``ks_pvalue`` below it.
    ``linf`` applies to categorical features only, ``wasserstein`` and ``ks_pvalue`` to numeric.
    ``js`` and ``psi`` may be ``auto``: a per-feature threshold calibrated from the reference by
    resampling at the batch's size, so that at most ``drift.false_alarm_rate`` of unchanged
    batches raise a false alarm (``driftgate/stats/calibration.py``).

    Attributes:
        js: Jensen–Shannon divergence (base 2, in [0, 1]) above which a feature drifts, or
            ``auto``.
        psi: Population stability index above which a feature drifts, or ``auto`` (null: off).
        linf: Largest change of one category's share (L-infinity, in [0, 1]) above which a
            categorical feature drifts.
        wasserstein: Wasserstein-1 distance, divided by the reference's standard deviation,
            above which a numeric feature drifts (null: off).
        ks_pvalue: Two-sample KS p-value, after ``drift.multiple_testing``, below which a
            numeric feature drifts (null: the test is not run).
    """

    model_config = ConfigDict(extra="forbid")

    js: JsLimit = 0.1
    psi: PsiLimit = None
    linf: LinfLimit = 0.2
    wasserstein: WassersteinLimit = None
    ks_pvalue: KsLimit = None


class ThresholdOverrides(TypedDict, total=False):
    """One feature's overrides of some :class:`Thresholds`: the same names and domains.

    Attributes:
        js: This feature's Jensen–Shannon threshold (``drift.thresholds.js`` when unset).
        psi: This feature's PSI threshold (``drift.thresholds.psi`` when unset).
        linf: This feature's L-infinity threshold (``drift.thresholds.linf`` when unset).
        wasserstein: This feature's Wasserstein threshold (``drift.thresholds.wasserstein``
            when unset).
        ks_pvalue: This feature's KS p-value threshold (``drift.thresholds.ks_pvalue`` when
            unset).
    """

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    js: JsLimit
    psi: PsiLimit
    linf: LinfLimit
    wasserstein: WassersteinLimit
    ks_pvalue: KsLimit


class DriftSettings(BaseModel):
    """How drift is measured and when the dataset counts as drifted.

    Attributes:
        bins: Quantile bins per numeric feature, taken from the reference.
        top_k: Tracked values per categorical feature; the rest share one bucket.
        thresholds: Default thresholds for every feature.
        features: Per-feature overrides of individual thresholds (same names and domains).
        rule: ``any`` drifted feature, a ``share`` of features, or a ``weighted`` share.
        share: Fraction of features (or of feature weight) that must drift for ``share`` and
            ``weighted``.
        weights: Non-negative feature weights for ``weighted`` (default 1 each).
        min_rows: Batches with fewer rows get a warning: their estimates are noisy, and the
            gate never trains on them.
        sample_size: Rows sampled from each dataset to place bin edges and run the KS test.
        false_alarm_rate: For ``auto`` thresholds: the largest share of unchanged batches
            that may flag any feature (split over the features, Bonferroni).
        multiple_testing: Correction of the KS p-values across features: ``holm`` (family-wise
            error), ``bh`` (Benjamini–Hochberg, false discovery rate) or ``none``.
    """

    model_config = ConfigDict(extra="forbid")

    bins: int = Field(10, ge=2, le=1000)
    top_k: int = Field(20, ge=1, le=10000)
    thresholds: Thresholds = Thresholds()
    features: dict[str, ThresholdOverrides] = {}
    rule: Literal["any", "share", "weighted"] = "any"
    share: float = Field(0.3, gt=0, le=1)
    weights: dict[str, Annotated[float, Field(ge=0)]] = {}
    min_rows: int = Field(100, ge=1)
    sample_size: int = Field(20000, ge=100)
    false_alarm_rate: float = Field(0.01, gt=0, lt=1)
    multiple_testing: Literal["holm", "bh", "none"] = "holm"

    def uses_auto(self) -> bool:
        """Whether any threshold is calibrated (``auto``)."""
        limits = [self.thresholds, *(Thresholds(**o) for o in self.features.values())]
        return any("auto" in (t.js, t.psi) for t in limits)

    def thresholds_for(self, feature: str) -> Thresholds:
        """The default thresholds with this feature's overrides applied."""
        overrides = self.features.get(feature, {})
        return Thresholds(**{**self.thresholds.model_dump(), **overrides})
