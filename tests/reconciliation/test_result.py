"""The Reconciliation value: frozen, compact repr, notebook HTML, summaries."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from okc_recon.reconciliation import Reconciliation, Rules
from tests.reconciliation.factory import billed, fulfillment, line, number, run


@pytest.fixture(scope="module")
def recon() -> Reconciliation:
    ups, fedex, stranger = number(), number("fedex"), number()
    rows = [
        fulfillment(ups),
        fulfillment(fedex, carrier="fedex", service="fedex_ground"),
        fulfillment(number("fedex"), carrier="fedex", service="fedex_ground"),  # unbilled
    ]
    lines = [
        *billed(ups),
        *billed(ups, invoice_number="I-101", invoice_date=date(2025, 10, 18)),  # duplicate
        line(fedex, "12.00", carrier="fedex", service="fedex_ground"),  # variance 2.00
        line(stranger, "7.00", tracking_number="<script>x</script>"),
        line(None, "30.00", tracking_number=None, charge_category="invoice", charge_type="other"),
    ]
    return run(rows, lines)


def test_the_result_is_frozen_and_records_its_run(recon: Reconciliation):
    with pytest.raises(dataclasses.FrozenInstanceError):
        recon.period = "2025-11"  # type: ignore[misc]
    assert recon.period == "2025-10"
    assert recon.as_of == date(2025, 12, 15)
    assert recon.weight_unit == "lb"
    assert recon.weight_unit_source == "set to lb in the rules"
    assert isinstance(recon.rules, Rules)
    assert recon.has_exceptions


def test_repr_is_one_line_of_counts(recon: Reconciliation):
    text = repr(recon)
    assert text == (
        "Reconciliation(period='2025-10', as_of=2025-12-15, shipments=3, exceptions=4, "
        "unmatched=3, cannot_reconcile=0, weight_unit='lb')"
    )


def test_summary_by_carrier_with_an_all_row(recon: Reconciliation):
    rows = {row["carrier"]: row for row in recon.summary.iter_rows(named=True)}
    assert list(rows) == ["fedex", "ups", "all"]
    assert rows["ups"]["shipments"] == 1
    assert rows["ups"]["carrier_billed"] == Decimal("20.00")
    assert rows["ups"]["unmatched_carrier_amount"] == Decimal("7.00")
    assert rows["ups"]["invoice_level_charges"] == Decimal("30.00")
    assert rows["fedex"]["okc_charges"] == Decimal("20.00")
    assert rows["fedex"]["variance"] == Decimal("-8.00")  # 2.00 over, and 10.00 not billed
    assert rows["all"]["exceptions"] == 4
    assert rows["all"]["amount_at_stake"] == Decimal("29.00")
    assert rows["all"]["refund_candidate_amount"] == Decimal("19.00")
    for column in ("shipments", "okc_charges", "carrier_billed", "variance", "amount_at_stake"):
        assert rows["all"][column] == rows["ups"][column] + rows["fedex"][column]


def test_issue_summary_by_carrier_and_code(recon: Reconciliation):
    frame = recon.issue_summary
    assert frame.columns == [
        "carrier",
        "issue_code",
        "severity",
        "exceptions",
        "amount_at_stake",
        "refund_candidate_amount",
    ]
    everything = frame.filter(pl.col("carrier") == "all")
    assert everything["issue_code"].to_list() == [
        "UNBILLED",
        "NOT_IN_OKC",
        "DUPLICATE_BILLING",
        "CHARGE_VARIANCE",
    ]
    assert everything["severity"].to_list() == ["low", "high", "high", "medium"]
    assert frame.filter(pl.col("carrier") != "all")["exceptions"].sum() == 4


def test_html_is_compact_and_escaped(recon: Reconciliation):
    html = recon._repr_html_()
    assert "Reconciliation 2025-10" in html
    assert "DUPLICATE_BILLING" in html
    assert "10.00" in html
    assert "<script>" not in html
    assert "<code>.exceptions</code> (4)" in html
    assert html.count("<tr") < 20  # totals and codes, never the frames


def test_html_without_exceptions():
    t = number()
    html = run([fulfillment(t)], billed(t))._repr_html_()
    assert "No exceptions." in html


def test_public_names_work_in_any_import_order():
    code = (
        "from okc_recon.reconciliation import Rules\n"
        "from okc_recon import reconcile, Reconciliation\n"
        "import polars as pl\n"
        "from okc_recon.schema import FULFILLMENT_SCHEMA, INVOICE_LINE_SCHEMA, empty\n"
        "r = reconcile(empty(FULFILLMENT_SCHEMA), empty(INVOICE_LINE_SCHEMA), "
        "rules=Rules(weight_unit='lb'))\n"
        "assert isinstance(r, Reconciliation), type(r)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
