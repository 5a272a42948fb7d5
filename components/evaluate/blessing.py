"""The blessing rule that never keeps a worse model in production.

TFX's rules bless a candidate only when every value threshold (an absolute floor) and every
change threshold (no regression against the deployed model) holds. After an abrupt change the
deployed model can collapse far under its floor; a retrained candidate that is much better, but
still under the floor, would then be refused run after run while production keeps the collapsed
model. So: when the only failures are floors that the deployed model misses too, on the same
held-out rows, and the candidate beats it there by at least ``rescue_margin`` on each of those
metrics, the candidate is blessed, and the record and an alert say it is still under the floor.
A candidate worse than the deployed model is still refused by the change thresholds.
"""

from __future__ import annotations

import math
from typing import Protocol


class _Failure(Protocol):
    metric: str
    kind: str
    bound: float


def floor_waiver(
    failures: list[_Failure], overall: dict[str, dict[str, float]], margin: float
) -> list[str] | None:
    """Why the failed floors are waived, or None when they are not.

    Args:
        failures: Every threshold the candidate failed.
        overall: Model name (``candidate``, ``baseline``) to its metrics on all held-out rows.
        margin: How much better than the deployed model the candidate must be on each metric.

    Returns:
        One note per waived floor, or None when the rule does not apply.
    """
    if not failures or any(f.kind != "value" for f in failures) or "baseline" not in overall:
        return None
    notes = []
    for metric, bound in sorted({(f.metric, f.bound) for f in failures}):
        candidate = overall["candidate"].get(metric, math.nan)
        baseline = overall["baseline"].get(metric, math.nan)
        if not (baseline < bound and candidate - baseline >= margin):
            return None
        notes.append(
            f"{metric} {candidate:.4f} is still under the floor {bound:.4f}, but the deployed "
            f"model scores {baseline:.4f} on the same rows ({candidate - baseline:+.4f})"
        )
    return notes
