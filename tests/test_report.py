import re

import numpy as np
import pyarrow as pa

from driftgate.data.schema import FeatureKinds
from driftgate.observe.report import drift_html, drift_markdown
from driftgate.stats import DriftSettings, compare, compute_stats, reference_stats

KINDS = FeatureKinds(None, ("steady", "shifted"), ("colour",))


def result():
    rng = np.random.default_rng(0)
    n = 3000

    def table(shift, mix):
        return pa.table(
            {
                "steady": rng.normal(size=n),
                "shifted": rng.normal(size=n) + shift,
                "colour": rng.choice(["red", "green", "<b>blue</b>"], n, p=mix),
            }
        )

    reference = table(0.0, [0.5, 0.3, 0.2])
    ref, _ = reference_stats(lambda: reference.to_batches(), KINDS, DriftSettings())
    cur, _ = compute_stats(table(1.0, [0.2, 0.3, 0.5]).to_batches(), ref.binning)
    return compare(ref, cur, DriftSettings())


def test_html_report_is_self_contained_and_sorted_by_drift():
    drift = result()
    page = drift_html(drift, "Drift of model", {"batch": "b.csv"})
    assert page.startswith("<!DOCTYPE html>")
    for remote in ("http://", "https://", "<script", "<link", "@import", "url(", "<img"):
        assert remote not in page, remote
    rows = re.findall(r"<tr><td><b>([^<]+)</b>", page)
    scores = {f.name: f.score for f in drift.features}
    assert rows == sorted(scores, key=scores.get, reverse=True) and rows[-1] == "steady"
    assert {"shifted", "colour"} == set(drift.drifted_features)
    assert page.count("<svg") == 3
    assert "&lt;b&gt;blue&lt;/b&gt;" in page and "<b>blue</b>" not in page  # values are escaped
    assert "DRIFT DETECTED" in page and "reference 3,000, batch 3,000" in page


def test_markdown_summary_lists_verdicts_most_drifted_first():
    text = drift_markdown(result())
    lines = [line for line in text.splitlines() if line.startswith("| ") and "feature" not in line]
    assert [line.split(" | ")[2] for line in lines] == ["drift (linf)", "drift (js)", "ok"]
    assert lines[-1].startswith("| steady | numeric | ok")
