"""``okc-recon reconcile``: files in, a summary printed, the workbook or frames written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from okc_recon.carriers.writers import write_invoices
from okc_recon.cli import main
from okc_recon.fulfillments import write_fulfillments
from okc_recon.sandbox.world import BillingEvent, Charge, Invoice
from tests.reconciliation.factory import fulfillment, fulfillments_frame, number


def _event(tracking: str, transportation: str) -> BillingEvent:
    return BillingEvent(
        carrier="ups",
        tracking_number=tracking,
        service="ups_ground",
        ship_date=date(2025, 10, 6),
        charge_category="shipment",
        charges=(
            Charge("transportation", "Ground Commercial", Decimal(transportation), "003"),
            Charge("fuel", "Fuel Surcharge", Decimal("1.50"), "FSC"),
        ),
        billed_weight=2.0,
        entered_weight=2.0,
    )


def _files(tmp_path: Path, *, stranger: bool) -> tuple[Path, Path]:
    known = number()
    fulfillments = tmp_path / "okc.parquet"
    write_fulfillments(fulfillments_frame([fulfillment(known)]), fulfillments)
    events = [_event(known, "8.50")]
    if stranger:
        events.append(_event(number(), "6.00"))
    invoice = Invoice(
        carrier="ups",
        account_number="A12345",
        invoice_number="000012345678",
        invoice_date=date(2025, 10, 11),
        events=tuple(events),
        file_format="ups_billing_data",
    )
    folder = tmp_path / "invoices"
    folder.mkdir()
    write_invoices([invoice], folder / "ups.csv")
    return fulfillments, folder


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as stop:
        main(args)
    return int(stop.value.code)


def test_exceptions_exit_1_and_frames_are_written_by_extension(tmp_path: Path, capsys):
    fulfillments, invoices = _files(tmp_path, stranger=True)
    out = tmp_path / "out" / "october.parquet"
    code = _run(
        [
            "reconcile",
            "--fulfillments",
            str(fulfillments),
            "--invoices",
            str(invoices),
            "--out",
            str(out),
            "--weight-unit",
            "lb",
            "--period",
            "2025-10",
            "--as-of",
            "2025-12-15",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1
    assert "Reconciliation 2025-10 as of 2025-12-15" in printed
    assert "NOT_IN_OKC" in printed
    exceptions = pl.read_parquet(tmp_path / "out" / "october.exceptions.parquet")
    assert exceptions["issue_code"].to_list() == ["NOT_IN_OKC"]
    assert exceptions["amount_at_stake"].to_list() == [Decimal("7.50")]
    for name in ("shipments", "invoice_lines", "unmatched", "cannot_reconcile", "summary"):
        assert (tmp_path / "out" / f"october.{name}.parquet").is_file()


def test_a_clean_month_exits_0_and_writes_the_workbook(tmp_path: Path, capsys):
    fulfillments, invoices = _files(tmp_path, stranger=False)
    rules = tmp_path / "rules.toml"
    rules.write_text('weight_unit = "lb"\n', encoding="utf-8")
    book = tmp_path / "book.xlsx"
    code = _run(
        [
            "reconcile",
            "--fulfillments",
            str(fulfillments),
            "--invoices",
            str(invoices / "ups.csv"),
            "--out",
            str(book),
            "--rules",
            str(rules),
            "--period",
            "2025-10",
            "--as-of",
            "2025-12-15",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert book.is_file()
    assert "weight unit lb" in printed


def test_usage_and_input_errors_exit_2(tmp_path: Path, capsys):
    fulfillments, invoices = _files(tmp_path, stranger=False)
    base = ["reconcile", "--fulfillments", str(fulfillments), "--invoices", str(invoices)]
    assert _run([*base, "--out", str(tmp_path / "x.txt")]) == 2
    assert _run([*base, "--out", str(tmp_path / "x.csv"), "--period", "October"]) == 2
    assert "period must be YYYY-MM" in capsys.readouterr().err
