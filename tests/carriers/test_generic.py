"""Generic CSV/XLSX read through a user's column mapping (dict or TOML)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from okc_recon.carriers.generic import load_mapping
from okc_recon.carriers.invoices import read_invoices
from okc_recon.errors import ConfigError, InvoiceFormatError

REGIONAL = """Regional Courier Co. statement
Inv #,Inv Date,Tracking,Charge,Cost,Wt
RC-77,10/06/2025,0012345678,Base rate,8.40,3.5
RC-77,10/06/2025,0012345678,Fuel,1.26,3.5
RC-77,10/06/2025,,Monthly fee,10.00,
"""


def test_mapping_from_toml_finds_the_header_row(tmp_path: Path) -> None:
    path = tmp_path / "regional.csv"
    path.write_text(REGIONAL)
    mapping = tmp_path / "regional.toml"
    mapping.write_text(
        'carrier = "other"\ndate_format = "%m/%d/%Y"\nweight_unit = "lb"\n[columns]\n'
        'invoice_number = "Inv #"\ninvoice_date = "Inv Date"\ntracking_number = "Tracking"\n'
        'charge_description = "Charge"\namount = "Cost"\nentered_weight = "Wt"\n'
    )
    result = read_invoices(path, mapping=mapping)
    assert result.files["format"].item() == "generic"
    rows = result.lines.rows(named=True)
    assert [r["charge_type"] for r in rows] == ["transportation", "fuel", "other"]
    assert [r["charge_category"] for r in rows] == ["shipment", "shipment", "invoice"]
    assert rows[0]["tracking_number"] == "0012345678"  # leading zeros kept
    assert rows[0]["invoice_date"] == date(2025, 10, 6)
    assert (rows[0]["entered_weight"], rows[0]["weight_unit"]) == (3.5, "lb")
    assert result.lines["amount"].sum() == Decimal("19.66")
    assert rows[0]["source_line"] == 3


def test_mapping_as_flat_dict_and_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Charges")
    sheet.append(["Carrier", "Tracking", "Net"])
    sheet.append(["UPS", "1Z5R89390357567127", 12.5])
    path = tmp_path / "charges.xlsx"
    book.save(path)
    result = read_invoices(
        path, mapping={"carrier": "Carrier", "tracking_number": "Tracking", "amount": "Net"}
    )
    line = result.lines.row(0, named=True)
    assert (line["carrier"], line["amount"], line["source_line"]) == ("ups", Decimal("12.50"), 2)


def test_a_mapping_that_fits_no_header_says_which_columns_are_missing(tmp_path: Path) -> None:
    path = tmp_path / "regional.csv"
    path.write_text(REGIONAL)
    with pytest.raises(InvoiceFormatError) as error:
        read_invoices(path, mapping={"tracking_number": "Tracking", "amount": "Amount",
                                     "carrier": "ups"})  # fmt: skip
    assert "'Amount'" in str(error.value)
    assert "generic" in error.value.tried


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"amount": "Cost", "carrier": "ups"}, "tracking_number"),
        ({"tracking_number": "T", "amount": "C"}, "carrier"),
        ({"tracking_number": "T", "amount": "C", "carrier": "ups", "colour": "x"}, "colour"),
        ({"columns": {"tracking_number": "T", "amount": 1.5}, "carrier": "ups"}, "position"),
    ],
)
def test_bad_mappings_are_config_errors(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_mapping(spec)
