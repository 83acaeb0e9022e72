"""FedEx Billing Online: the layouts of carrier-formats §2.1 and §4, built by hand."""

from __future__ import annotations

import csv
import io
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from okc_recon.carriers.invoices import read_invoices
from okc_recon.carriers.writers import FEDEX_BASE_COLUMNS

D = Decimal
PAIR = ["Tracking ID Charge Description", "Tracking ID Charge Amount"]


def header(pairs: int, *, modern: bool) -> list[str]:
    if modern:  # the 2025 download: 210 columns
        return ["Consolidated Account Number", *FEDEX_BASE_COLUMNS, "MPS Package ID",
                *PAIR * pairs, "Shipment Notes"]  # fmt: skip
    return [*FEDEX_BASE_COLUMNS, *PAIR * pairs, "Shipment Notes"]


def row(
    names: list[str],
    values: dict[str, str],
    pairs: list[tuple[str, str]],
    *,
    slots: dict[int, tuple[str, str]] | None = None,
    trailing: bool = False,
) -> list[str]:
    out = [""] * len(names)
    for name, value in values.items():
        out[names.index(name)] = value
    first = names.index(PAIR[0])
    for k, (text, amount) in enumerate(pairs):
        out[first + 2 * k] = text
        out[first + 2 * k + 1] = amount
    for k, (text, amount) in (slots or {}).items():
        out[first + 2 * k] = text
        out[first + 2 * k + 1] = amount
    return [*out, ""] if trailing else out


def write(path: Path, rows: list[list[str]], *, quote_all: bool = False, bom: bool = False,
          crlf: bool = False) -> Path:  # fmt: skip
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(buffer, quoting=quoting, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return path


BASE = {
    "Bill to Account Number": "123456789",
    "Invoice Date": "20251006",
    "Invoice Number": "887654321",
    "Original Amount Due": "1,234.56",
    "Current Balance": "1,234.56",
    "Payor": "Shipper",
    "Service Type": "FedEx Ground",
    "Ground Service": "Home Delivery",
    "Shipment Date": "20251001",
    "POD Delivery Date": "20251003",
    "POD Delivery Time": "0:00",
    "Actual Weight Amount": "3.1",
    "Actual Weight Units": "lbs",
    "Rated Weight Amount": "4",
    "Rated Weight Units": "lbs",
    "Recipient Name": "Doe, Jane",
    "Recipient Zip Code": "60614123400",
}


def test_2025_layout_51_pairs_trailing_comma_sparse_slots(tmp_path: Path) -> None:
    names = header(51, modern=True)
    assert len(names) == 210
    data = [
        names,
        row(names, {**BASE, "Express or Ground Tracking ID": "794644790148",
                    "Transportation Charge Amount": "12.30", "Net Charge Amount": "11.26"},
            [], slots={0: ("Fuel Surcharge", "3.69"), 2: ("Residential", "2.98"),
                       7: ("Earned Discount", "-8.32"), 50: ("Delivery Area Surcharge", "0.61")},
            trailing=True),
    ]  # fmt: skip
    path = write(tmp_path / "fbo.csv", data, quote_all=True, bom=True, crlf=True)
    result = read_invoices(path)
    assert result.rejected.is_empty()
    files = result.files.row(0, named=True)
    assert (files["format"], files["encoding"], files["lines_in"]) == ("fedex_fbo", "utf-8-sig", 1)
    lines = result.lines
    assert lines["charge_description"].to_list() == [
        "Transportation Charge", "Fuel Surcharge", "Residential", "Earned Discount",
        "Delivery Area Surcharge",
    ]  # fmt: skip
    assert lines["charge_type"].to_list() == [
        "transportation",
        "fuel",
        "residential",
        "discount",
        "delivery_area",
    ]
    assert lines["amount"].sum() == Decimal("11.26")  # the row's net, to the cent
    first = lines.row(0, named=True)
    assert first["invoice_date"] == date(2025, 10, 6)
    assert first["ship_date"] == date(2025, 10, 1)
    assert first["delivery_time"] == time(0, 0)
    assert (first["billed_weight"], first["entered_weight"], first["weight_unit"]) == (
        4.0, 3.1, "lb",
    )  # fmt: skip
    assert first["service"] == "fedex_home_delivery"
    assert first["source_line"] == 2
    assert set(lines["charge_category"]) == {"shipment"}
    assert set(lines["account_number"]) == {"123456789"}


def test_net_is_sum_of_pairs_when_transportation_is_a_pair(tmp_path: Path) -> None:
    names = header(25, modern=False)
    assert len(names) == 156
    values = {**BASE, "Express or Ground Tracking ID": "794644790148",
              "Transportation Charge Amount": "14.00", "Net Charge Amount": "16.10"}  # fmt: skip
    data = [names, row(names, values, [("Transportation Charge", "14.00"),
                                       ("Fuel Surcharge", "2.10")])]  # fmt: skip
    lines = read_invoices(write(tmp_path / "fbo.csv", data)).lines
    # 14.00 is billed once, not twice
    assert lines["amount"].to_list() == [Decimal("14.00"), Decimal("2.10")]
    assert lines["charge_type"].to_list() == ["transportation", "fuel"]


def test_a_row_whose_net_fits_neither_convention_is_rejected(tmp_path: Path) -> None:
    names = header(25, modern=False)
    good = {**BASE, "Express or Ground Tracking ID": "794644790148",
            "Transportation Charge Amount": "10.00", "Net Charge Amount": "12.00"}  # fmt: skip
    bad = {**good, "Express or Ground Tracking ID": "794644790155", "Net Charge Amount": "99.99"}
    data = [names, row(names, good, [("Fuel Surcharge", "2.00")]),
            row(names, bad, [("Fuel Surcharge", "2.00")])]  # fmt: skip
    result = read_invoices(write(tmp_path / "fbo.csv", data))
    assert result.lines["tracking_number"].unique().to_list() == ["794644790148"]
    rejected = result.rejected.row(0, named=True)
    assert rejected["source_line"] == 3
    assert "99.99" in rejected["reason"]
    assert "12.00" in rejected["reason"]
    assert "794644790155" in rejected["raw"]
    files = result.files.row(0, named=True)
    assert (files["lines_in"], files["lines_parsed"], files["lines_rejected"]) == (2, 1, 1)


def test_invoice_level_rows_prefix_crossref_and_excel_mangled_ids(tmp_path: Path) -> None:
    names = header(25, modern=False)
    weekly = {"Bill to Account Number": "123456789", "Invoice Date": "20251006",
              "Invoice Number": "887654321", "Net Charge Amount": "4.00"}  # fmt: skip
    smartpost = {**BASE, "Ground Tracking ID Prefix": "9622001", "Service Type": "FedEx Ground",
                 "Ground Service": "Ground Economy",
                 "Express or Ground Tracking ID": "041441760228964",
                 "CrossRefTrackingID": "9274899992136003821706",
                 "Transportation Charge Amount": "5.00", "Net Charge Amount": "5.00"}  # fmt: skip
    mangled = {**BASE, "Express or Ground Tracking ID": "7.94645E+11",
               "Transportation Charge Amount": "9.00", "Net Charge Amount": "9.00"}  # fmt: skip
    data = [names, row(names, weekly, [("Weekly Service Charge", "4.00")]),
            row(names, smartpost, []), row(names, mangled, [])]  # fmt: skip
    lines = read_invoices(write(tmp_path / "fbo.csv", data)).lines
    weekly_line, smart, bad = lines.rows(named=True)
    assert weekly_line["charge_category"] == "invoice"
    assert weekly_line["tracking_number"] is None
    assert weekly_line["amount"] == Decimal("4.00")
    assert smart["tracking_number"] == "9622001 041441760228964"  # prefix kept, raw
    assert smart["tracking_key"] == "041441760228964"  # leading zero kept
    assert smart["alt_tracking_key"] == "9274899992136003821706"
    assert smart["service"] == "fedex_ground_economy"
    assert bad["tracking_number"] == "7.94645E+11"
    assert bad["tracking_corrupted"] is True
    assert bad["tracking_key"] is None


def test_later_invoice_credit_is_an_adjustment(tmp_path: Path) -> None:
    names = header(25, modern=False)
    values = {**BASE, "Invoice Date": "20251020", "Invoice Number": "887654999",
              "Express or Ground Tracking ID": "794644790148",
              "Transportation Charge Amount": "0.00", "Net Charge Amount": "-12.30"}  # fmt: skip
    data = [names, row(names, values, [("Service Failure Credit (GSR)", "-12.30")])]
    line = read_invoices(write(tmp_path / "fbo.csv", data)).lines.row(0, named=True)
    assert (line["charge_category"], line["charge_type"], line["amount"]) == (
        "adjustment", "refund", Decimal("-12.30"),
    )  # fmt: skip


@pytest.mark.parametrize("style", ["pandas", "numbered", "sql"])
def test_renamed_duplicate_pair_headers(tmp_path: Path, style: str) -> None:
    names = header(3, modern=False)
    first = names.index(PAIR[0])
    for k in range(1, 3):
        suffix = {"pandas": f".{k}", "numbered": f" ({k + 1})", "sql": f"_{k}"}[style]
        names[first + 2 * k] += suffix
        names[first + 2 * k + 1] += suffix
    values = {**BASE, "Express or Ground Tracking ID": "794644790148",
              "Transportation Charge Amount": "10.00", "Net Charge Amount": "15.00"}  # fmt: skip
    data = [names, row(names, values, [("Fuel Surcharge", "1.00"), ("Residential", "2.00"),
                                       ("Saturday Delivery", "2.00")])]  # fmt: skip
    lines = read_invoices(write(tmp_path / "fbo.csv", data)).lines
    assert lines["charge_type"].to_list() == ["transportation", "fuel", "residential", "saturday"]


def test_junk_rows_in_the_middle_are_rejected_and_counted(tmp_path: Path) -> None:
    names = header(25, modern=False)
    values = {**BASE, "Express or Ground Tracking ID": "794644790148",
              "Transportation Charge Amount": "10.00", "Net Charge Amount": "10.00"}  # fmt: skip
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(names)
    writer.writerow(row(names, values, []))
    text.write("Page 2 of 7\n\n")
    text.write('"unbalanced, quote\n')
    writer.writerow(row(names, {**values, "Net Charge Amount": "ten dollars"}, []))
    writer.writerow(row(names, values, []))
    path = tmp_path / "fbo.csv"
    path.write_text(text.getvalue())
    result = read_invoices(path)
    files = result.files.row(0, named=True)
    # 5 data lines (the blank line is not one): 2 parsed, 3 rejected
    assert (files["lines_in"], files["lines_parsed"], files["lines_rejected"]) == (5, 2, 3)
    assert result.rejected["source_line"].to_list() == [3, 5, 6]
    assert result.lines["source_line"].to_list() == [2, 7]
    reasons = dict(zip(result.rejected["source_line"], result.rejected["reason"], strict=True))
    assert "quotes" in reasons[5]
    assert "ten dollars" in reasons[6]
    assert result.rejected.filter(pl.col("source_line") == 3)["raw"].item() == "Page 2 of 7"


def test_charge_pairs_with_quoted_commas_and_escaped_quotes(tmp_path: Path) -> None:
    """Pairs are cut from each row's text: quoted fields with the delimiter or quotes inside,
    a row quoting some fields only, and a row quoting every field all read the same."""
    names = header(25, modern=False)
    values = {**BASE, "Express or Ground Tracking ID": "794644790148",
              "Transportation Charge Amount": "1,234.50",
              "Net Charge Amount": "1,245.00"}  # fmt: skip
    pairs = [('Declared Value, "Extra"', "1.50"), ("Fuel Surcharge", "9.00")]
    minimal = write(tmp_path / "minimal.csv", [names, row(names, values, pairs)])
    every = write(tmp_path / "every.csv", [names, row(names, values, pairs)], quote_all=True)
    for path in (minimal, every):
        lines = read_invoices(path).lines
        assert lines["charge_description"].to_list() == [
            "Transportation Charge", 'Declared Value, "Extra"', "Fuel Surcharge",
        ]  # fmt: skip
        assert lines["amount"].to_list() == [D("1234.50"), D("1.50"), D("9.00")]


def test_a_field_spanning_lines_costs_only_its_own_lines(tmp_path: Path) -> None:
    names = header(51, modern=True)
    good = {**BASE, "Express or Ground Tracking ID": "794644790148",
            "Transportation Charge Amount": "10.00", "Net Charge Amount": "12.00"}  # fmt: skip
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(names)
    writer.writerow(row(names, good, [], slots={3: ("Fuel Surcharge", "2.00")}, trailing=True))
    writer.writerow(row(names, {**good, "Recipient Address Line 1": "12 Elm St\nApt 4"}, []))
    writer.writerow(row(names, good, [], slots={50: ("DAS Resi", "2.00")}, trailing=True))
    path = tmp_path / "fbo.csv"
    path.write_text(text.getvalue())
    result = read_invoices(path)
    files = result.files.row(0, named=True)
    # the record split over lines 3-4: its two halves have unbalanced quotes, both rejected
    assert (files["lines_in"], files["lines_parsed"], files["lines_rejected"]) == (4, 2, 2)
    assert result.rejected["source_line"].to_list() == [3, 4]
    lines = result.lines
    assert lines["source_line"].to_list() == [2, 2, 5, 5]
    assert lines["charge_description"].to_list() == [
        "Transportation Charge", "Fuel Surcharge", "Transportation Charge", "DAS Resi",
    ]  # fmt: skip


def test_digits_of_other_scripts_are_not_amounts(tmp_path: Path) -> None:
    names = header(25, modern=False)
    good = {**BASE, "Express or Ground Tracking ID": "794644790148",
            "Transportation Charge Amount": "10.00", "Net Charge Amount": "12.00"}  # fmt: skip
    odd = {**good, "Net Charge Amount": "١٢.٠٠"}  # Arabic-Indic digits
    wide = {**good, "Transportation Charge Amount": "１０.００"}  # full-width digits
    data = [names, row(names, good, [("Fuel Surcharge", "2.00")]),
            row(names, odd, [("Fuel Surcharge", "2.00")]),
            row(names, wide, [("Fuel Surcharge", "٢.٠٠")])]  # fmt: skip
    result = read_invoices(write(tmp_path / "fbo.csv", data))
    assert result.lines["source_line"].unique().to_list() == [2]
    reasons = dict(zip(result.rejected["source_line"], result.rejected["reason"], strict=True))
    assert "١٢.٠٠" in reasons[3]
    assert "１０.００" in reasons[4]
