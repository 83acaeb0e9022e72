from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from okc_recon import CheckReport, ConfigError, check_fulfillments, check_invoices
from okc_recon.checks import SUMMARY_SCHEMA
from tests.checks.conftest import AS_OF, Fulfillments

pytestmark = pytest.mark.xdist_group("gx")


@pytest.fixture(scope="module")
def combined(
    fulfillment_case: tuple[pl.DataFrame, set[tuple[str, str]]],
    invoice_case: tuple[pl.DataFrame, set[tuple[str, str]]],
) -> CheckReport:
    fulfillments = check_fulfillments(fulfillment_case[0], as_of=AS_OF, weight_unit="lb")
    return fulfillments.combine(check_invoices(invoice_case[0], as_of=AS_OF))


def test_combine_holds_both_suites(
    combined: CheckReport,
    fulfillment_case: tuple[pl.DataFrame, set[tuple[str, str]]],
    invoice_case: tuple[pl.DataFrame, set[tuple[str, str]]],
) -> None:
    assert dict(combined.rows) == {
        "fulfillments": fulfillment_case[0].height,
        "invoice_lines": invoice_case[0].height,
    }
    assert combined.expectations["suite"].unique(maintain_order=True).to_list() == [
        "fulfillments",
        "invoice_lines",
    ]
    assert combined.weight_unit == "lb"
    assert len(combined.runs) == 2
    assert set(combined.timings) >= {"fulfillments.gx", "invoice_lines.gx"}
    with pytest.raises(ConfigError, match="both reports checked the fulfillments suite"):
        combined.combine(combined)


def test_summary_counts_checks_and_records(combined: CheckReport) -> None:
    summary = combined.summary()
    assert dict(summary.schema) == dict(SUMMARY_SCHEMA)
    assert summary["suite"].to_list() == ["fulfillments", "invoice_lines", "all"]
    exp = combined.expectations
    for suite in ("fulfillments", "invoice_lines"):
        row = summary.filter(pl.col("suite") == suite).row(0, named=True)
        mine = exp.filter(pl.col("suite") == suite)
        assert row["checks"] == mine.height
        assert row["failed"] == mine.filter(~pl.col("success")).height
        assert row["passed"] + row["failed"] + row["skipped"] == row["checks"]
        assert row["failed_errors"] + row["failed_warnings"] + row["failed_info"] == row["failed"]
        failing = combined.failures.filter(pl.col("suite") == suite)["record_id"].n_unique()
        assert row["failing_records"] == failing
    total = summary.filter(pl.col("suite") == "all").row(0, named=True)
    assert total["checks"] == exp.height
    assert total["rows"] == sum(combined.rows.values())


def test_failed_over_threshold_by_severity_and_share(combined: CheckReport) -> None:
    assert combined.failed_over_threshold()  # errors failed
    assert combined.failed_over_threshold("warning")
    # by share: a check counts only when more of its rows failed than the limit
    errors = combined.expectations.filter(pl.col("severity") == "error")
    worst = errors["unexpected_percent"].max()
    assert isinstance(worst, float)
    assert not combined.failed_over_threshold(max_unexpected_percent=worst)
    assert combined.failed_over_threshold(max_unexpected_percent=worst - 0.01)
    with pytest.raises(ConfigError, match="severity must be one of"):
        combined.failed_over_threshold("fatal")  # type: ignore[arg-type]
    errors_only = combined.failed_checks("error")
    assert set(errors_only["severity"]) == {"error"}
    assert errors_only.height < combined.failed_checks().height


def test_worst_records_rank_errors_first(combined: CheckReport) -> None:
    worst = combined.worst_records(5)
    assert worst.height == 5
    assert worst["worst"].to_list()[0] == "error"
    counts = worst.filter(pl.col("worst") == "error")["failed_checks"].to_list()
    assert counts == sorted(counts, reverse=True)


def test_describe_repr_and_html(combined: CheckReport) -> None:
    text = repr(combined)
    assert text.startswith("CheckReport(fulfillments: ")
    assert "checks failed" in text
    page = combined._repr_html_()
    assert "Failed checks" in page
    assert "Worst records" in page
    assert "charge_not_anomalous" in page
    assert len(page) < 20_000  # compact: the frames stay one attribute away


def test_html_escapes_data() -> None:
    builder = Fulfillments(seed=31).clean(3)
    builder.add("charge_positive", fulfillment_id="<img src=x onerror=alert(1)>", weight=-0.0)
    builder.rows[-1]["shipping_net_charge"] = None
    report = check_fulfillments(builder.frame(), as_of=AS_OF, weight_unit="lb")
    page = report._repr_html_()
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_data_docs_are_written(combined: CheckReport, tmp_path: Path) -> None:
    index = combined.write_data_docs(tmp_path / "docs")
    assert index == (tmp_path / "docs" / "index.html").resolve()
    assert index.is_file()
    pages = sorted(p.relative_to(index.parent).as_posix() for p in index.parent.rglob("*.html"))
    assert "expectations/fulfillments.html" in pages
    assert "expectations/invoice_lines.html" in pages
    validations = [p for p in pages if p.startswith("validations/")]
    assert len(validations) == 2
    html = (index.parent / validations[0]).read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Unsuccessful Expectations" in text
    assert "a shipped fulfillment has a tracking number" in text or "every line" in text


def test_a_report_built_by_hand_has_no_data_docs(combined: CheckReport, tmp_path: Path) -> None:
    bare = CheckReport(
        expectations=combined.expectations,
        failures=combined.failures,
        rows=combined.rows,
        as_of=datetime(2025, 10, 31, tzinfo=UTC),
    )
    with pytest.raises(ConfigError, match="no GX results"):
        bare.write_data_docs(tmp_path)
    assert bare.success is combined.success
