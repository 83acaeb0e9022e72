"""The reconcile benchmark compares like with like: its pandas matching finds what ours finds."""

from __future__ import annotations

from benchmarks.bench_reconcile import make_data, ours_matching, pandas_inputs, pandas_matching


def test_pandas_baseline_does_the_same_matching() -> None:
    fulfillments, lines = make_data(3_000)
    ours = ours_matching(fulfillments, lines)["result"]
    theirs = pandas_matching(*pandas_inputs(fulfillments, lines))["result"]
    assert ours == theirs
    # every kind of line is there: own key, alternate key (multi-piece), no shipment
    assert ours["by_alt_key"] > 0
    assert ours["unmatched_lines"] > 0
    assert ours["unbilled_shipments"] > 0
    assert ours["by_key"] + ours["by_alt_key"] + ours["unmatched_lines"] == lines.height
