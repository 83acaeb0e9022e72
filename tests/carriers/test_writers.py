"""Writers: layouts, quirks, determinism (round trips are in test_roundtrip.py)."""

from __future__ import annotations

import codecs
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from okc_recon.carriers import tracking
from okc_recon.carriers.writers import (
    Quirks,
    excel_mangle,
    fedex_header,
    write_invoices,
)
from okc_recon.sandbox.world import BillingEvent, Charge, Invoice


def invoice(file_format: str = "fedex_fbo") -> Invoice:
    event = BillingEvent(
        "fedex", "794644790148", "fedex_ground", date(2025, 10, 1), "shipment",
        (Charge("transportation", "Transportation Charge", Decimal("12.30")),),
    )  # fmt: skip
    return Invoice("fedex", "123456789", "887654321", date(2025, 10, 6), (event,), file_format)


def test_fedex_headers_have_the_documented_widths() -> None:
    assert len(fedex_header(25)) == 156
    modern = fedex_header(51)
    assert len(modern) == 210
    assert modern[0] == "Consolidated Account Number"
    assert modern.index("Tracking ID Charge Description") - 1 == modern.index("MPS Package ID")
    assert modern.count("Commodity Description") == 4


@pytest.mark.parametrize(
    ("number", "shown"),
    [("794644790148", "7.94645E+11"), ("123456789012345", "1.23457E+14"),
     ("100000000000", "1E+11")],
)  # fmt: skip
def test_excel_mangle_is_a_float_artifact(number: str, shown: str) -> None:
    import polars as pl

    assert excel_mangle(number) == shown
    assert pl.select(tracking.is_float_artifact(pl.lit(shown))).item() is True


def test_quirks_show_in_the_bytes(tmp_path: Path) -> None:
    clean = write_invoices([invoice()], tmp_path / "a.csv").read_bytes()
    assert b"\r\n" not in clean
    assert not clean.startswith(codecs.BOM_UTF8)
    bom = write_invoices(
        [invoice()], tmp_path / "b.csv", quirks=Quirks(encoding="utf-8-sig", line_ending="\r\n")
    ).read_bytes()
    assert bom.startswith(codecs.BOM_UTF8)
    assert bom.count(b"\r\n") == 2
    utf16 = write_invoices([invoice()], tmp_path / "c.csv", quirks=Quirks(encoding="utf-16"))
    assert utf16.read_bytes().startswith(codecs.BOM_UTF16_LE)
    trailing = write_invoices([invoice()], tmp_path / "d.csv", quirks=Quirks(trailing_comma=True))
    head, row = trailing.read_text().splitlines()
    assert row.count(",") == head.count(",") + 1
    mangled = write_invoices(
        [invoice()], tmp_path / "e.csv", quirks=Quirks(mangle_tracking=frozenset({"794644790148"}))
    )
    assert "7.94645E+11" in mangled.read_text()


def test_writing_is_deterministic(tmp_path: Path) -> None:
    for fmt in ("fedex_fbo", "ups_billing_data", "shipstation", "easypost", "dhl_express"):
        a = write_invoices([invoice(fmt)], tmp_path / f"{fmt}1.csv").read_bytes()
        b = write_invoices([invoice(fmt)], tmp_path / f"{fmt}2.csv").read_bytes()
        assert a == b


def test_unknown_format_and_dhl_batches_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown invoice file format"):
        write_invoices([invoice("pdf")], tmp_path / "x.csv")
    with pytest.raises(ValueError, match="one invoice"):
        write_invoices([invoice("dhl_express")] * 2, tmp_path / "x.csv")
    with pytest.raises(ValueError, match="no invoices"):
        write_invoices([], tmp_path / "x.csv")
