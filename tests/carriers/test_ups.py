"""UPS Billing Data: positional rows as in carrier-formats §2.3 and §4, built by hand."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from okc_recon.carriers.invoices import read_invoices

TRACKING = "1Z5R89390357567127"


def ups_row(width: int = 250, **fields: str) -> list[str]:
    """A row with the common invoice fields, then ``fields`` as ``p<position>=value``."""
    row = [""] * width
    common = {0: "2.1", 1: "5R8939", 2: "0000A1B2C3", 3: "US", 4: "2025-10-11",
              5: "0000A1B2C3415", 6: "E", 9: "USD", 10: "31.38", 11: "2025-10-07",
              13: TRACKING, 20: TRACKING, 50: "USD", 116: "2025-10-07"}  # fmt: skip
    for position, value in common.items():
        if position < width:
            row[position] = value
    for key, value in fields.items():
        position = int(key[1:])
        if position < width:
            row[position] = value
    return row


def write(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_package_rows_frt_fsc_inf_and_invoice_level_rows(tmp_path: Path) -> None:
    rows = [
        # freight: weights, entered vs billed, zero-padded codes, 9-decimal rate field
        ups_row(p18="1", p26="4.3", p27="L", p28="6.0", p29="L", p30="PKG", p31="02",
                p33="007", p34="SHP", p35="ISS", p43="FRT", p44="003",
                p45="Ground Residential", p48="12.340000000", p51="2.47", p52="9.87",
                p66="OK Capsule, Inc."),
        # fuel, localised description: classified by its code
        ups_row(p18="0", p26="0.0", p27="L", p28="0.0", p29="L", p34="SHP", p35="ISS",
                p43="FSC", p44="FSC", p45="Treibstoffzuschl.", p52="1.56"),
        ups_row(p18="0", p34="SHP", p35="ISS", p43="ACC", p44="RES",
                p45="Residential Surcharge", p52="5.95"),
        # informational row: dimensions in the place holder, no money
        ups_row(p18="0", p34="SHP", p43="INF", p45="Package Dimensions", p52="0.00",
                p226="12.0x 12.0x  6.0", p227="I"),
        # invoice level: no tracking number
        ups_row(p13="", p20="", p34="MIS", p35="SVCH", p43="MSC", p45="Payment Processing Fee",
                p52="14.00", p116=""),
    ]  # fmt: skip
    result = read_invoices(write(tmp_path / "ups.csv", rows))
    files = result.files.row(0, named=True)
    assert (files["format"], files["lines_in"], files["lines_parsed"]) == (
        "ups_billing_data", 5, 5,
    )  # fmt: skip
    assert files["charge_lines"] == 4  # the INF row gives none
    lines = result.lines
    assert lines["charge_type"].to_list() == ["transportation", "fuel", "residential", "other"]
    assert lines["charge_category"].to_list() == ["shipment"] * 3 + ["invoice"]
    assert lines["amount"].sum() == Decimal("31.38")  # = the Invoice Amount, never summed
    package = lines.filter(pl.col("tracking_key") == TRACKING)
    # every charge line of the package carries its weights and service
    assert package["billed_weight"].to_list() == [6.0] * 3
    assert package["entered_weight"].to_list() == [4.3] * 3
    assert package["weight_unit"].to_list() == ["lb"] * 3
    assert package["rated_on_dim"].to_list() == [True] * 3  # billed weight type 02
    assert package["service"].to_list() == ["ups_ground"] * 3
    assert package["charge_code"].to_list() == ["003", "FSC", "RES"]
    fee = lines.row(3, named=True)
    assert fee["tracking_number"] is None
    assert fee["ship_date"] is None
    assert fee["invoice_date"] == date(2025, 10, 11)


def test_adjustments_are_recognised_by_category_and_detail_codes(tmp_path: Path) -> None:
    rows = [
        ups_row(p34="ADJ", p35="SCC", p43="FRT", p44="003",
                p45="Shipping Charge Correction", p52="3.25", p174="ENTERED WEIGHT: 5.0 LBS"),
        ups_row(p34="ADJ", p35="ADC", p43="ACC", p44="ADC", p45="Address Correction",
                p52="23.00"),
        ups_row(p34="SHP", p35="RADJ", p43="ACC", p44="RES", p45="Residential Adjustment",
                p52="5.95"),
        ups_row(p34="ADJ", p35="GSR", p43="FRT", p44="001", p45="Guaranteed Service Refund",
                p52="-32.10"),
        ups_row(p34="ADJ", p35="CADJ", p43="MSC", p45="Credit Adjustment", p52="-3.50"),
    ]  # fmt: skip
    lines = read_invoices(write(tmp_path / "ups.csv", rows)).lines
    assert lines["charge_category"].to_list() == ["adjustment"] * 5
    assert lines["charge_type"].to_list() == [
        "transportation", "address_correction", "residential", "refund", "adjustment",
    ]  # fmt: skip


def test_short_rows_quoted_commas_units_and_lead_number_fallback(tmp_path: Path) -> None:
    rows = [
        # an older 244-field row, kilograms
        ups_row(244, p18="1", p26="2.0", p27="K", p28="3.0", p29="K", p34="SHP", p43="FRT",
                p44="001", p45="Next Day Air", p52="40.00"),
        # a row cut after the net amount: the rest reads as empty
        ups_row(53, p18="1", p26="9.0", p27="O", p28="16.0", p29="O", p34="SHP", p43="FRT",
                p44="013", p45="Next Day Air Saver", p52="20.00")[:53],
        # no package tracking number: the lead shipment number stands in
        ups_row(p20="", p13="1Z5R89390357567135", p34="SHP", p43="FRT", p44="003",
                p45="Ground", p52="8.00"),
    ]  # fmt: skip
    rows[0][5] = rows[1][5] = rows[2][5] = "0000A1B2C3422"
    rows[1][20] = "1Z5R89390357567143"
    path = write(tmp_path / "ups.csv", rows)
    lines = read_invoices(path).lines
    kg, oz, lead = lines.rows(named=True)
    assert (kg["billed_weight"], kg["entered_weight"], kg["weight_unit"]) == (3.0, 2.0, "kg")
    assert (oz["billed_weight"], oz["weight_unit"], oz["delivery_date"]) == (16.0, "oz", None)
    assert oz["service"] == "ups_next_day_air_saver"
    assert lead["tracking_number"] == "1Z5R89390357567135"
    assert lead["tracking_key"] == "1Z5R89390357567135"


def test_a_header_row_or_junk_is_rejected_not_lost(tmp_path: Path) -> None:
    rows = [
        ups_row(p34="SHP", p43="FRT", p44="003", p45="Ground", p52="8.00"),
        ["Version", "Recipient Number", "Account Number", "Account Country", "Invoice Date"],
        ups_row(p34="SHP", p43="FRT", p44="003", p45="Ground", p52="eight"),
        ups_row(p34="SHP", p43="FRT", p44="003", p45="Ground", p52="8.00"),
    ]
    result = read_invoices(write(tmp_path / "ups.csv", rows))
    files = result.files.row(0, named=True)
    assert (files["lines_in"], files["lines_parsed"], files["lines_rejected"]) == (4, 2, 2)
    assert result.rejected["source_line"].to_list() == [2, 3]
    assert "version" in result.rejected["reason"][0]
    assert "eight" in result.rejected["reason"][1]


def test_a_package_whose_rows_are_apart_still_shares_its_freight_row(tmp_path: Path) -> None:
    other = "1Z5R89390357567143"
    rows = [
        ups_row(p18="1", p26="4.3", p27="L", p28="6.0", p29="L", p31="02", p34="SHP", p43="FRT",
                p44="003", p45="Ground", p52="9.87"),
        ups_row(p13=other, p20=other, p18="1", p26="1.0", p27="K", p28="2.0", p29="K",
                p34="SHP", p43="FRT", p44="001", p45="Next Day Air", p52="30.00"),
        # the first package again, after another one: a residential surcharge
        ups_row(p34="SHP", p43="ACC", p44="RES", p45="Residential Surcharge", p52="5.95"),
        # a second invoice: the same tracking number, its own (empty) package values
        ups_row(p5="0000A1B2C3999", p34="ADJ", p35="ADC", p43="ACC", p44="ADC",
                p45="Address Correction", p52="23.00"),
    ]  # fmt: skip
    lines = read_invoices(write(tmp_path / "ups.csv", rows)).lines
    first, second, later, corrected = lines.rows(named=True)
    assert (later["billed_weight"], later["weight_unit"], later["service"]) == (
        6.0,
        "lb",
        "ups_ground",
    )
    assert later["rated_on_dim"] is True
    assert (second["billed_weight"], second["weight_unit"]) == (2.0, "kg")
    assert second["service"] == "ups_next_day_air"
    assert first["entered_weight"] == later["entered_weight"] == 4.3
    assert (corrected["billed_weight"], corrected["service"], corrected["rated_on_dim"]) == (
        None, None, False,
    )  # fmt: skip
