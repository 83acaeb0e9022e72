from __future__ import annotations

import polars as pl
import pytest

from okc_recon import CheckReport, check_invoices
from okc_recon.checks import EXPECTATIONS_SCHEMA, FAILURES_SCHEMA, INVOICE_CHECKS
from okc_recon.schema import INVOICE_LINE_SCHEMA, empty
from tests.checks.conftest import AS_OF, InvoiceLines, pairs

pytestmark = pytest.mark.xdist_group("gx")


@pytest.fixture(scope="module")
def report(invoice_case: tuple[pl.DataFrame, set[tuple[str, str]]]) -> CheckReport:
    return check_invoices(invoice_case[0], as_of=AS_OF)


def test_every_planted_problem_is_found_and_named_by_file_and_line(
    report: CheckReport, invoice_case: tuple[pl.DataFrame, set[tuple[str, str]]]
) -> None:
    frame, expected = invoice_case
    assert pairs(report.failures) == expected
    assert {check for _, check in expected} == {c.name for c in INVOICE_CHECKS}
    assert report.rows == {"invoice_lines": frame.height}
    assert report.failures["record_id"].str.contains(r"^[a-z]+-2025-10\.csv:\d+$").all()


def test_failures_show_the_offending_values(report: CheckReport) -> None:
    shown = dict(report.failures.group_by("expectation").agg(pl.col("value")).iter_rows())
    assert any(
        "tracking_number=7.94644790148E+11" in v for v in shown["tracking_number_not_corrupted"]
    )
    assert any("amount=5000.00" in v for v in shown["amount_plausible"])
    assert any(
        "ship_date=2025-10-12, invoice_date=2025-10-10" in v
        for v in shown["ship_not_after_invoice"]
    )
    assert any(
        "billed_weight=3000.0, weight_unit=oz" in v for v in shown["billed_weight_plausible"]
    )
    assert any("charge_description=Unlisted Fee" in v for v in shown["charge_type_known"])
    # the same charge read twice from one line: GX counts both copies, the report names the
    # line once (failures are one row per record, check and offending values)
    duplicate = report.failures.filter(pl.col("expectation") == "charge_line_unique")
    assert duplicate.height == 1
    exp = report.expectations.filter(pl.col("expectation") == "charge_line_unique")
    assert exp["unexpected_count"].item() == 2
    corrupted = report.failures.filter(pl.col("expectation") == "tracking_number_not_corrupted")
    assert corrupted.height == 2  # two lines; the FedEx one's three charges count once
    assert (
        report.expectations.filter(pl.col("expectation") == "tracking_number_not_corrupted")[
            "unexpected_count"
        ].item()
        == 4
    )


def test_frames_have_their_schemas(report: CheckReport) -> None:
    assert dict(report.expectations.schema) == dict(EXPECTATIONS_SCHEMA)
    assert dict(report.failures.schema) == dict(FAILURES_SCHEMA)
    assert report.expectations["expectation"].to_list() == [c.name for c in INVOICE_CHECKS]
    assert report.weight_unit is None
    assert report.warnings == ()


def test_clean_lines_pass_every_expectation() -> None:
    builder = InvoiceLines(seed=9)
    for carrier in ("fedex", "ups", "usps", "dhl"):
        for _ in range(4):
            # FedEx lines carry several charges on one file line: not duplicates
            builder.line(carrier=carrier, charges=3 if carrier == "fedex" else 2)
    report = check_invoices(builder.frame(), as_of=AS_OF)
    assert report.success, report.failures
    assert report.failures.is_empty()
    assert report.expectations["status"].to_list() == ["passed"] * len(INVOICE_CHECKS)


def test_empty_frame_checks_nothing_and_fails_nothing() -> None:
    report = check_invoices(empty(INVOICE_LINE_SCHEMA), as_of=AS_OF)
    assert report.rows == {"invoice_lines": 0}
    assert report.failures.is_empty()
    assert not report.failed_over_threshold("info")
