"""Carrier files as a stranger would bring them: hand-made fixtures (``fixtures/``), read line
by line the way a controller checks an invoice.

The fixtures are written by ``fixtures/make_fixtures.py`` from the layouts in
``carrier-formats.md`` alone, never by okc-recon's writers: real downloads (FedEx 156 and
210 columns, UPS 250 fields), the tools people run them through (pandas, Excel's "Unicode
text", "CSV (Comma delimited)", workbooks) and the postage tools' exports. What each must
read as is spelled out below: every charge line (amount to the cent, credits negative, type,
category), weights and units, tracking keys (leading zeros kept, Excel-mangled numbers
flagged and never repaired), and every line accounted for: lines in = parsed + rejected,
each rejected line with its file, line number, text and reason.
"""

from __future__ import annotations

import ast
import filecmp
import sys
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from okc_recon import InvoiceSet, read_invoices
from okc_recon.errors import InvoiceFormatError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
D = Decimal


def read(name: str, **options: Any) -> InvoiceSet:
    result = read_invoices(FIXTURES / name, **options)
    accounted_for(result)
    return result


def accounted_for(result: InvoiceSet) -> None:
    """Every line is parsed or rejected (with file, line, text and reason), never both."""
    files = result.files.row(0, named=True)
    assert files["lines_in"] == files["lines_parsed"] + files["lines_rejected"]
    assert result.rejected.height == files["lines_rejected"]
    assert files["charge_lines"] == result.lines.height
    rejected = result.rejected
    assert (rejected["source_file"] == files["source_file"]).all()
    assert rejected["raw"].null_count() == 0
    assert rejected["reason"].null_count() == 0
    overlap = result.lines.filter(pl.col("source_line").is_in(rejected["source_line"].implode()))
    assert overlap.is_empty()


def charges(result: InvoiceSet) -> list[tuple[Any, ...]]:
    """(line, tracking key, description, type, category, amount) of each charge line."""
    return result.lines.select(
        "source_line", "tracking_key", "charge_description", "charge_type", "charge_category",
        "amount",
    ).rows()  # fmt: skip


def reasons(result: InvoiceSet) -> dict[int, str]:
    return dict(zip(result.rejected["source_line"], result.rejected["reason"], strict=True))


def shifted(expected: list[tuple[Any, ...]], by: dict[int, int]) -> list[tuple[Any, ...]]:
    return [(by.get(row[0], row[0]), *row[1:]) for row in expected]


# --- FedEx Billing Online ------------------------------------------------------------------

HOME, EXPRESS, ECONOMY, HEAVY = "794644790142", "799531274483", "041441760228964", "986578788855"

#: The 2025 download, line by line (line 1 is the header).
FEDEX: list[tuple[Any, ...]] = [
    (2, HOME, "Transportation Charge", "transportation", "shipment", D("12.30")),
    (2, HOME, "Fuel Surcharge", "fuel", "shipment", D("3.69")),
    (2, HOME, "Residential", "residential", "shipment", D("2.98")),
    (2, HOME, "Earned Discount", "discount", "shipment", D("-8.32")),
    (2, HOME, "DAS Resi", "delivery_area", "shipment", D("0.61")),
    (3, EXPRESS, "Transportation Charge", "transportation", "shipment", D("45.10")),
    (3, EXPRESS, "Fuel Surcharge", "fuel", "shipment", D("6.54")),
    (3, EXPRESS, "Performance Pricing", "discount", "shipment", D("-14.69")),
    (3, EXPRESS, "Direct Signature Required", "signature", "shipment", D("6.75")),
    (4, ECONOMY, "Transportation Charge", "transportation", "shipment", D("7.85")),
    (4, ECONOMY, "Fuel Surcharge", "fuel", "shipment", D("1.10")),
    # the empty-Payor weekly service charge: money at invoice level, on no parcel
    (5, None, "Weekly Service Charge", "other", "invoice", D("4.00")),
    (6, HEAVY, "Transportation Charge", "transportation", "shipment", D("1234.50")),
    (6, HEAVY, "Fuel Surcharge", "fuel", "shipment", D("185.18")),
    # a later invoice: an address correction and a money-back credit for earlier parcels
    (7, HOME, "Address Correction", "address_correction", "adjustment", D("23.00")),
    (8, EXPRESS, "Service Failure Credit (GSR)", "refund", "adjustment", D("-43.70")),
]
#: each row's Net Charge Amount: its lines add up to it, whichever convention it follows
FEDEX_NETS = {2: D("11.26"), 3: D("43.70"), 4: D("8.95"), 5: D("4.00"), 6: D("1419.68"),
              7: D("23.00"), 8: D("-43.70")}  # fmt: skip


def test_fedex_2025_layout_line_by_line() -> None:
    result = read("fedex_fbo_2025.csv")
    files = result.files.row(0, named=True)
    assert (files["format"], files["encoding"]) == ("fedex_fbo", "utf-8")
    assert (files["lines_in"], files["lines_parsed"], files["lines_rejected"]) == (9, 7, 2)
    assert charges(result) == FEDEX
    nets = result.lines.group_by("source_line").agg(pl.col("amount").sum()).sort("source_line")
    assert dict(nets.rows()) == FEDEX_NETS  # never Original Amount Due / Current Balance
    rejected = reasons(result)
    assert "99.99" in rejected[9]
    assert "neither" in rejected[9]
    assert "12.3O" in rejected[10]
    raw = dict(zip(result.rejected["source_line"], result.rejected["raw"], strict=True))
    assert "604612345679" in raw[9]
    assert set(result.lines["carrier"]) == {"fedex"}
    assert set(result.lines["account_number"]) == {"123456789"}


def test_fedex_2025_rows_details() -> None:
    lines = read("fedex_fbo_2025.csv").lines
    first = {row["source_line"]: row for row in lines.rows(named=True)}
    home, express, economy, weekly, heavy, correction = (first[n] for n in (2, 3, 4, 5, 6, 7))
    # "3.1" "lbs" entered, "4" "lbs" rated; "20" "L"; "0:00" and "1032" POD times
    assert (home["entered_weight"], home["billed_weight"], home["weight_unit"]) == (3.1, 4.0, "lb")
    assert (express["entered_weight"], express["billed_weight"]) == (20.0, 20.0)
    assert express["weight_unit"] == "lb"
    assert (home["delivery_date"], home["delivery_time"]) == (date(2025, 10, 8), time(0, 0))
    assert express["delivery_time"] == time(10, 32)
    assert (home["invoice_number"], home["invoice_date"]) == ("887654321", date(2025, 10, 6))
    assert home["ship_date"] == date(2025, 10, 3)
    assert (home["service"], home["service_description"]) == (
        "fedex_home_delivery", "FedEx Ground / Home Delivery",
    )  # fmt: skip
    assert express["service"] == "fedex_priority_overnight"
    # the leading zero stays; the USPS number of a Ground Economy parcel is its alternate key
    assert (economy["tracking_number"], economy["tracking_key"]) == (ECONOMY, ECONOMY)
    assert economy["alt_tracking_key"] == "9274899992136003821705"
    assert economy["service"] == "fedex_ground_economy"
    assert (weekly["tracking_number"], weekly["service"], weekly["weight_unit"]) == (None,) * 3
    # 30 x 30 x 40 in / 139 = 259 lb billed on a 150 lb parcel
    assert (heavy["billed_weight"], heavy["rated_on_dim"]) == (259.0, True)
    assert not home["rated_on_dim"]
    assert (correction["invoice_number"], correction["invoice_date"]) == (
        "887659900", date(2025, 10, 20),
    )  # fmt: skip
    assert lines.filter(pl.col("tracking_corrupted")).is_empty()


def test_fedex_156_textbook_layout_quoted_crlf_bom() -> None:
    result = read("fedex_fbo_156.csv")
    files = result.files.row(0, named=True)
    assert (files["encoding"], files["lines_in"], files["lines_rejected"]) == ("utf-8-sig", 7, 0)
    prefixed = [
        (8, "041441760228971", "Transportation Charge", "transportation", "shipment", D("9.40")),
        (8, "041441760228971", "Fuel Surcharge", "fuel", "shipment", D("1.32")),
    ]
    assert charges(result) == [row for row in FEDEX if row[0] <= 7] + prefixed
    last = result.lines.row(-1, named=True)
    # prefix kept in the raw number, the key is the tracking ID; weights in kilograms
    assert last["tracking_number"] == "9622001 041441760228971"
    assert (last["billed_weight"], last["entered_weight"], last["weight_unit"]) == (3.0, 2.0, "kg")


def test_fedex_transportation_charge_as_a_pair_is_billed_once() -> None:
    result = read("fedex_fbo_transport_pair.csv")
    assert charges(result) == [
        (2, HOME, "Transportation Charge", "transportation", "shipment", D("14.00")),
        (2, HOME, "Fuel Surcharge", "fuel", "shipment", D("2.10")),
        (3, EXPRESS, "Transportation Charge", "transportation", "shipment", D("45.10")),
        (3, EXPRESS, "Fuel Surcharge", "fuel", "shipment", D("6.54")),
        (3, EXPRESS, "Performance Pricing", "discount", "shipment", D("-14.69")),
    ]


@pytest.mark.parametrize("name", ["fedex_fbo_numbered.csv", "fedex_fbo_sql.csv"])
def test_fedex_renamed_repeated_headers(name: str) -> None:
    result = read(name)
    assert charges(result) == [row for row in FEDEX if row[0] <= 6]


def test_fedex_saved_again_by_pandas() -> None:
    """pandas renamed the pairs (``.1``), added its index and wrote IDs as floats."""
    result = read("fedex_fbo_pandas.csv")
    lines = result.lines
    # every charge is there, to the cent…
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in charges(result)] == [
        (r[0], r[2], r[3], r[4], r[5]) for r in FEDEX if r[0] <= 6
    ]
    # …but "794644790142.0" is flagged, not repaired ("41441760228964.0" lost its zero)
    parcels = lines.filter(pl.col("tracking_number").is_not_null())
    assert parcels["tracking_corrupted"].all()
    assert parcels["tracking_key"].null_count() == parcels.height
    assert set(parcels["tracking_number"]) >= {"794644790142.0", "41441760228964.0"}
    # a yyyymmdd date written as 20251003.0 is still plainly that date
    assert lines.filter(pl.col("source_line") == 2)["ship_date"].unique().to_list() == [
        date(2025, 10, 3)
    ]


def test_fedex_workbook_with_preamble_blank_row_and_total() -> None:
    result = read("fedex_fbo_2025.xlsx")
    files = result.files.row(0, named=True)
    assert (files["encoding"], files["lines_in"], files["lines_rejected"]) == ("xlsx", 9, 2)
    # a title and an invoice total above the header (row 4): data rows start at row 5
    assert charges(result) == shifted(FEDEX, {n: n + 3 for n in range(2, 9)})
    rejected = reasons(result)
    assert "99.99" in rejected[12]
    assert "total" in rejected[14].lower()
    weights = result.lines.filter(pl.col("source_line") == 5).row(0, named=True)
    assert (weights["entered_weight"], weights["billed_weight"]) == (3.1, 4.0)
    assert weights["invoice_date"] == date(2025, 10, 6)  # a number cell 20251006


def test_fedex_saved_by_excel_as_unicode_text() -> None:
    """UTF-16, tabs, CRLF; Excel showed 12-digit IDs as 7.94645E+11 and saved that."""
    result = read("fedex_fbo_2025_excel.txt")
    files = result.files.row(0, named=True)
    assert (files["encoding"], files["lines_in"], files["lines_rejected"]) == ("utf-16", 8, 1)
    mangled = {HOME: "7.94645E+11", EXPRESS: "7.99531E+11", ECONOMY: "4.14418E+13",
               HEAVY: "9.86579E+11"}  # fmt: skip
    lines = result.lines
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in charges(result)] == [
        (r[0], r[2], r[3], r[4], r[5]) for r in FEDEX
    ]  # "12.30" came back as 12.3, "1,234.50" as 1234.5: the same money
    expected_raw = [mangled.get(row[1]) if row[1] else None for row in FEDEX]
    assert lines["tracking_number"].to_list() == expected_raw
    parcels = lines.filter(pl.col("tracking_number").is_not_null())
    assert parcels["tracking_corrupted"].all()
    assert parcels["tracking_key"].null_count() == parcels.height
    assert 9 in reasons(result)


def test_fedex_edi_csv_is_refused_with_a_mapping_that_reads_it() -> None:
    path = FIXTURES / "fedex_edi.csv"
    with pytest.raises(InvoiceFormatError) as error:
        read_invoices(path)
    message = str(error.value)
    assert str(path) in message
    assert "FedEx EDI" in error.value.tried["fedex_fbo"]
    assert "All Columns" in error.value.tried["fedex_fbo"]
    suggested = ast.literal_eval(message.split("mapping=", 1)[1].split(" (a dict", 1)[0])
    assert suggested["carrier"] == "fedex"
    assert (suggested["tracking_number"], suggested["amount"]) == ("Tracking Number", "Net Chrg")
    result = read("fedex_edi.csv", mapping=suggested)
    assert result.files["format"].item() == "generic"
    assert charges(result) == [
        (2, HOME, None, "transportation", "shipment", D("16.26")),
        (3, EXPRESS, None, "transportation", "shipment", D("43.70")),
    ]
    assert result.lines["invoice_date"].to_list() == [date(2025, 10, 6)] * 2


def test_an_unknown_layout_says_what_was_expected_and_how_to_map_it(tmp_path: Path) -> None:
    path = tmp_path / "carrier_x.csv"
    path.write_text("Ref,Waybill No,Ship Date,Total Due\nA1,JJD0099999999,2025-10-06,12.50\n")
    with pytest.raises(InvoiceFormatError) as error:
        read_invoices(path)
    message = str(error.value)
    for expectation in ("Express or Ground Tracking ID", "version like '2.1'", "summary record",
                        "Shipment Cost", "tracking_code"):  # fmt: skip
        assert expectation in message
    assert "mapping=" in message
    assert "'amount': 'Total Due'" not in message  # no tracking column: the generic example
    assert "tracking_number" in message


# --- UPS Billing Data ----------------------------------------------------------------------

P1, P2 = "1Z5R89390357567127", "1Z879E930346834440"
P3, P4 = "1Z5R89390357567136", "1ZA1B2C30357567153"

#: (line, key, description, type, category, amount) of the header-less download
UPS: list[tuple[Any, ...]] = [
    (1, P1, "Ground Residential", "transportation", "shipment", D("9.87")),
    (2, P1, "Treibstoffzuschlag", "fuel", "shipment", D("1.56")),  # by its code, not its words
    (3, P1, "Zustellung an Privatadresse", "residential", "shipment", D("5.95")),
    # line 4: the INF row: dimensions, no money, no charge line
    (5, P2, "Ground Return", "transportation", "return", D("8.44")),
    (6, P2, "Fuel Surcharge", "fuel", "return", D("1.35")),
    (7, P3, "Next Day Air Saver", "transportation", "shipment", D("22.75")),
    (8, None, "Payment Processing Fee", "other", "invoice", D("3.40")),
    (9, None, "Fuel Surcharge - Service Charge", "fuel", "invoice", D("0.60")),
    (10, P4, "Ground Commercial", "transportation", "shipment", D("8.60")),
    (11, P4, "Additional Handling - Weight, Packaging", "additional_handling", "shipment", D("2")),
    (12, P1, "Shipping Charge Correction Ground", "transportation", "adjustment", D("3.25")),
    (13, P4, "Address Correction", "address_correction", "adjustment", D("23.00")),
    (14, P3, "Guaranteed Service Refund", "refund", "adjustment", D("-32.10")),
]


def _ups_details(lines: pl.DataFrame, line_of: dict[int, int]) -> None:
    rows = {row["source_line"]: row for row in lines.rows(named=True)}

    def at(n: int) -> dict[str, Any]:
        return rows[line_of.get(n, n)]

    # entered vs billed weight, billed on dimensions (billed weight type 02), every line of
    # the package carrying them
    for n in (1, 2, 3):
        assert (at(n)["entered_weight"], at(n)["billed_weight"], at(n)["weight_unit"]) == (
            4.3, 6.0, "lb",
        )  # fmt: skip
        assert at(n)["rated_on_dim"] is True
        assert at(n)["service"] == "ups_ground"
    assert (at(5)["entered_weight"], at(5)["billed_weight"], at(5)["weight_unit"]) == (
        2.0, 3.0, "kg",
    )  # fmt: skip
    assert (at(7)["entered_weight"], at(7)["billed_weight"], at(7)["weight_unit"]) == (
        9.0, 16.0, "oz",
    )  # fmt: skip
    assert at(7)["service"] == "ups_next_day_air_saver"
    # the correction's weights are in its Miscellaneous Lines: ENTERED 5.0 / AUDITED 10.5 KGS
    assert (at(12)["entered_weight"], at(12)["billed_weight"], at(12)["weight_unit"]) == (
        5.0, 10.5, "kg",
    )  # fmt: skip
    assert at(12)["service"] == "ups_ground"
    for n in (8, 9):  # invoice-level money: no parcel, no date of shipment
        assert (at(n)["tracking_number"], at(n)["ship_date"]) == (None, None)
    assert at(1)["invoice_date"] == date(2025, 10, 11)
    assert at(1)["ship_date"] == date(2025, 10, 7)
    assert at(1)["delivery_date"] == date(2025, 10, 10)
    assert at(12)["invoice_date"] == date(2025, 10, 18)


def test_ups_billing_data_line_by_line() -> None:
    result = read("ups_billing_data.csv")
    files = result.files.row(0, named=True)
    assert (files["format"], files["lines_in"], files["lines_parsed"]) == (
        "ups_billing_data", 14, 14,
    )  # fmt: skip
    assert files["charge_lines"] == 13
    assert charges(result) == UPS
    lines = result.lines
    # zero-padded codes kept as UPS wrote them
    assert lines.filter(pl.col("source_line") == 1)["charge_code"].item() == "003"
    # the sum of Net Amount is each invoice's Invoice Amount (position 10)
    totals = lines.group_by("invoice_number").agg(pl.col("amount").sum()).sort("invoice_number")
    assert totals.rows() == [("0000A1B2C3415", D("64.52")), ("0000A1B2C3422", D("-5.85"))]
    assert set(lines["account_number"]) == {"0000A1B2C3"}
    _ups_details(lines, {})


def test_ups_with_the_dictionary_header_pasted_on_top() -> None:
    result = read("ups_billing_data_header.csv")
    files = result.files.row(0, named=True)
    assert (files["lines_in"], files["lines_rejected"]) == (14, 0)  # the header is no data
    by_one = {n: n + 1 for n in range(1, 15)}
    assert charges(result) == shifted(UPS, by_one)
    _ups_details(result.lines, by_one)


def test_ups_saved_by_excel_as_unicode_text_with_blank_lines_and_a_total() -> None:
    """Excel dropped the zeros of 003/007/02, wrote dates as 10/11/2025; someone added an
    empty row, a row of tabs and a Total row."""
    result = read("ups_billing_data_excel.txt")
    files = result.files.row(0, named=True)
    assert (files["encoding"], files["lines_in"], files["lines_rejected"]) == ("utf-16", 15, 1)
    after_blank = {n: n + 1 for n in range(5, 15)}
    assert charges(result) == shifted(UPS, after_blank)
    assert "total" in reasons(result)[17].lower()
    assert result.lines.filter(pl.col("source_line") == 1)["charge_code"].item() == "3"
    _ups_details(result.lines, after_blank)


def test_ups_saved_by_excel_as_windows_1252_csv() -> None:
    result = read("ups_billing_data_cp1252.csv")
    assert result.files["encoding"].item() == "cp1252"
    expected = [
        (*row[:2], "Zustellung an Privatadresse – Zuschlag", *row[3:]) if row[0] == 3
        else (*row[:2], "Gebühr für Adressänderung", *row[3:]) if row[0] == 13
        else row
        for row in UPS
    ]  # fmt: skip
    assert charges(result) == expected


def test_ups_billing_center_workbook() -> None:
    result = read("ups_billing_data.xlsx")
    assert result.files["encoding"].item() == "xlsx"
    assert charges(result) == UPS
    _ups_details(result.lines, {})


# --- postage tools -------------------------------------------------------------------------

G1, P_2, G3, G4, G5, P6 = (
    "9400111206211234567892", "9405511206211234567895", "9400111206211234567908",
    "9400111206211234567915", "9400111206211234567922", "9405111206211234567934",
)  # fmt: skip

EASYPOST = [
    (2, G1, "Postage", "transportation", "shipment", D("6.15")),
    (2, G1, "Insurance", "other", "shipment", D("0.55")),
    (3, P_2, "Postage", "transportation", "shipment", D("9.80")),
    (4, G3, "Postage", "transportation", "shipment", D("5.40")),
    (4, G3, "Label Fee", "other", "shipment", D("0.03")),
    (4, G3, "Postage Refund", "refund", "void", D("-5.43")),  # refunded: the money came back
    (5, G4, "Postage", "transportation", "shipment", D("4.95")),  # refund asked, not granted
    (6, G5, "Postage", "transportation", "shipment", D("5.95")),  # refund rejected
    (7, P6, "Postage", "transportation", "return", D("8.70")),
    # a label on the shipper's own FedEx account: FedEx bills the postage, EasyPost its fee
    (8, "604612345679", "Label Fee", "other", "shipment", D("0.05")),
    # line 9: a shipment created while rate shopping, never bought: nothing billed
]


@pytest.mark.parametrize("name", ["easypost_shipments.csv", "easypost_shipments.xlsx"])
def test_easypost_shipment_report_43_columns(name: str) -> None:
    result = read(name)
    files = result.files.row(0, named=True)
    assert files["format"] == "easypost"
    assert (files["lines_in"], files["lines_parsed"], files["lines_rejected"]) == (9, 8, 1)
    assert charges(result) == EASYPOST
    assert "not a number" in reasons(result)[10]
    rows = {row["source_line"]: row for row in result.lines.rows(named=True)}
    assert (rows[2]["entered_weight"], rows[2]["weight_unit"]) == (13.2, "oz")
    assert rows[2]["billed_weight"] is None  # the tools report no billed weight
    assert rows[2]["service"] == "usps_ground_advantage"
    assert [rows[n]["label_status"] for n in (2, 4, 5, 6)] == [
        None, "refunded", "refund_submitted", "refund_rejected",
    ]  # fmt: skip
    assert rows[8]["carrier"] == "fedex"
    assert rows[7]["service"] == "usps_priority_mail"
    # label dates are UTC days: bought at 20:05 in New York on 31 October = 1 November
    assert rows[3]["invoice_date"] == rows[3]["ship_date"] == date(2025, 11, 1)
    assert rows[2]["invoice_date"] == date(2025, 10, 6)
    assert result.lines["invoice_number"].null_count() == result.lines.height


SHIPSTATION = [
    (2, G1, "Postage", "transportation", "shipment", D("6.15")),
    (2, G1, "Insurance", "other", "shipment", D("1.10")),
    (3, P_2, "Postage", "transportation", "shipment", D("9.80")),
    (3, P_2, "Postage Refund", "refund", "void", D("-9.80")),
    (4, "EA123456785US", "Postage", "transportation", "shipment", D("1005.00")),
    # USPS APV: underpaid is billed, overpaid is a credit though the file says $0.75
    (5, G1, "USPS’ APV: weight 2 lb, entered 1.5 lb", "adjustment", "adjustment", D("1.85")),
    (6, P_2, "USPS’ APV: dimensions", "adjustment", "adjustment", D("-0.75")),
    (7, G1, "Adjustment Processing Fee", "other", "adjustment", D("0.25")),
]


def test_shipstation_export_dollars_voids_and_pitney_bowes_style_adjustments() -> None:
    result = read("shipstation_shipments.csv")
    files = result.files.row(0, named=True)
    assert (files["format"], files["encoding"], files["lines_rejected"]) == (
        "shipstation", "cp1252", 0,
    )  # fmt: skip
    assert charges(result) == SHIPSTATION
    rows = result.lines.rows(named=True)
    label, _, voided, refund, international, underpaid, overpaid, fee = rows
    assert (label["entered_weight"], label["weight_unit"]) == (1.5, "lb")
    assert (voided["entered_weight"], voided["weight_unit"]) == (40.0, "oz")
    assert voided["label_status"] == "voided"
    assert refund["invoice_date"] == date(2025, 10, 9)  # the void date
    assert international["service"] == "usps_priority_mail_express_international"
    assert international["tracking_key"] == "EA123456785US"
    # 21:15 at UTC-4 on 30 October is 01:15 UTC on the 31st
    assert underpaid["invoice_date"] == date(2025, 10, 31)
    assert overpaid["invoice_date"] == date(2025, 10, 28)
    assert fee["label_status"] is None
    assert set(result.lines["carrier"]) == {"usps"}


def test_shipstation_export_saved_as_a_workbook_with_title_and_total() -> None:
    result = read("shipstation_shipments.xlsx")
    files = result.files.row(0, named=True)
    assert (files["format"], files["encoding"]) == ("shipstation", "xlsx")
    assert (files["lines_in"], files["lines_rejected"]) == (7, 1)
    assert charges(result) == shifted(SHIPSTATION, {n: n + 2 for n in range(2, 8)})
    assert "total" in reasons(result)[10].lower()


def test_shipstation_api_names_flattened_to_csv() -> None:
    result = read("shipstation_api.csv")
    assert result.files["format"].item() == "shipstation"
    assert charges(result) == [
        (2, G1, "Postage", "transportation", "shipment", D("6.15")),
        (3, "1Z5R89390357567145", "Postage", "transportation", "return", D("23.45")),
        (3, "1Z5R89390357567145", "Insurance", "other", "return", D("1.75")),
        (4, G3, "Postage", "transportation", "shipment", D("7.20")),
        (4, G3, "Postage Refund", "refund", "void", D("-7.20")),
    ]
    rows = result.lines.rows(named=True)
    assert [r["carrier"] for r in rows] == ["usps", "ups", "ups", "usps", "usps"]
    assert (rows[0]["entered_weight"], rows[0]["weight_unit"]) == (13.2, "oz")
    assert (rows[1]["entered_weight"], rows[1]["weight_unit"]) == (2.0, "lb")
    assert rows[1]["service"] == "ups_ground"
    assert rows[4]["invoice_date"] == date(2025, 10, 8)


def test_a_file_without_a_header_is_read_by_position(tmp_path: Path) -> None:
    path = tmp_path / "carrier_export.csv"
    path.write_text("1Z5R89390357567127,9.87,2025-10-11\n1Z879E930346834440,-1.50,2025-10-11\n")
    mapping = {"carrier": "ups", "tracking_number": 0, "amount": 1, "invoice_date": 2}
    result = read_invoices(path, mapping=mapping)
    accounted_for(result)
    assert charges(result) == [
        (1, P1, None, "transportation", "shipment", D("9.87")),
        (2, P2, None, "transportation", "shipment", D("-1.50")),
    ]


# --- the fixtures themselves ---------------------------------------------------------------


def test_fixtures_are_what_the_script_writes(tmp_path: Path) -> None:
    sys.path.insert(0, str(FIXTURES))
    try:
        import make_fixtures
    finally:
        sys.path.remove(str(FIXTURES))
    written = make_fixtures.build(tmp_path)
    names = [p.name for p in written if p.suffix != ".xlsx"]
    _, mismatch, errors = filecmp.cmpfiles(FIXTURES, tmp_path, names, shallow=False)
    assert not mismatch, "run python tests/carriers/fixtures/make_fixtures.py"
    assert not errors
    import fastexcel

    for path in (p for p in written if p.suffix == ".xlsx"):
        mine = fastexcel.read_excel(path.read_bytes()).load_sheet(0, header_row=None)
        committed = fastexcel.read_excel((FIXTURES / path.name).read_bytes()).load_sheet(
            0, header_row=None
        )
        assert mine.to_polars().equals(committed.to_polars()), path.name
