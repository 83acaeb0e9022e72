"""A workbook written from a real ``Reconciliation``: its formulas reproduce the summaries."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from okc_recon.excel import SHEETS, write_workbook
from okc_recon.schema import FULFILLMENT_SCHEMA, INVOICE_LINE_SCHEMA, UTC_DATETIME, conform
from tests.excel.helpers import check_against_summary, load, table_rows
from tests.excel.month import synthetic_month

reconcile_module = pytest.importorskip("okc_recon.reconciliation")


def _inputs() -> tuple[pl.DataFrame, pl.DataFrame]:
    month = synthetic_month(120, seed=11)
    ships = month.shipments
    pickup = pl.col("ship_date").cast(UTC_DATETIME) + pl.duration(hours=15)
    fulfillments = conform(
        ships.with_columns(
            status_id=pl.lit("3"),
            status=pl.when(pl.int_range(pl.len()) % 40 == 5)
            .then(pl.lit("Canceled"))
            .otherwise(pl.lit("Shipped")),
            shipping_carrier=pl.col("carrier").str.to_uppercase(),
            shipping_method=pl.lit("Ground"),
            tracking_url=pl.lit(None, pl.Utf8),
            shipping_net_charge=pl.col("okc_charge"),
            shipping_charge_model=pl.lit("cost_plus"),
            weight=pl.col("okc_weight_lb"),
            pickup_date=pickup,
            delivery_date=pl.col("delivery_date").cast(UTC_DATETIME),
            created_at=pickup - pl.duration(days=1),
            updated_at=pickup + pl.duration(days=3),
            order_line_count=pl.lit(1, pl.Int32),
        ),
        FULFILLMENT_SCHEMA,
    )
    lines = conform(month.invoice_lines, INVOICE_LINE_SCHEMA)
    # a tracking number OKC never shipped, and an invoice-level service charge
    extra = lines.head(2).with_columns(
        tracking_number=pl.Series(["1Z999AA29999999999", None], dtype=pl.Utf8),
        tracking_key=pl.Series(["1Z999AA29999999999", None], dtype=pl.Utf8),
        carrier=pl.lit("ups"),
        charge_category=pl.Series(["shipment", "invoice"]),
        source_line=pl.Series([90_001, 90_002]),
    )
    return fulfillments, pl.concat([lines, extra])


def test_formulas_reproduce_a_real_reconciliation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fulfillments, lines = _inputs()
    recon: Any = reconcile_module.reconcile(
        fulfillments, lines, period="2024-01", as_of=date(2024, 3, 16)
    )
    assert recon.exceptions.height > 0
    assert recon.unmatched.filter(pl.col("side") == "carrier").height > 0
    with caplog.at_level(logging.WARNING, logger="okc_recon"):
        path = write_workbook(recon, tmp_path / "real.xlsx")
    assert not [r for r in caplog.records if "Summary differs" in r.getMessage()]
    wb = load(path)
    assert wb.sheetnames == list(SHEETS)
    assert wb["Summary"]["A6"].value.startswith("Every figure is a live formula")
    weight = wb["Summary"]["B4"].value
    assert weight.startswith(recon.weight_unit or "unknown")
    assert recon.weight_unit_source in weight
    check_against_summary(path, recon)


def test_a_real_check_report_fills_data_quality(tmp_path: Path) -> None:
    checks = pytest.importorskip("okc_recon.checks")
    from okc_recon.checks._report import EXPECTATIONS_SCHEMA, FAILURES_SCHEMA

    expectations = conform(
        pl.DataFrame(
            {
                "suite": ["fulfillments"],
                "expectation": ["tracking_number_valid"],
                "column": ["tracking_valid"],
                "severity": ["error"],
                "success": [False],
                "element_count": [120],
                "unexpected_count": [1],
                "unexpected_percent": [0.83],
                "mostly": [1.0],
                "status": ["failed"],
            }
        ),
        EXPECTATIONS_SCHEMA,
    )
    failures = conform(
        pl.DataFrame(
            {
                "suite": ["fulfillments"],
                "record_id": ["f_0000007"],
                "expectation": ["tracking_number_valid"],
                "column": ["tracking_valid"],
                "value": ["tracking_number=@0001"],
                "severity": ["error"],
                "row": [7],
            }
        ),
        FAILURES_SCHEMA,
    )
    report = checks.CheckReport(
        expectations=expectations,
        failures=failures,
        rows={"fulfillments": 120},
        as_of=datetime(2024, 3, 16, tzinfo=UTC),
    )
    path = write_workbook(synthetic_month(20), tmp_path / "dq.xlsx", checks=report)
    ws = load(path)["Data quality"]
    expected_rows = table_rows(ws, "tblExpectations")
    assert list(expected_rows[0]) == list(EXPECTATIONS_SCHEMA)
    assert expected_rows[0]["status"] == "failed"
    (failure,) = table_rows(ws, "tblCheckFailures")
    assert failure["record_id"] == "f_0000007"
    assert failure["value"] == "tracking_number=@0001"
