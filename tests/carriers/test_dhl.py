"""DHL Express: a summary record first, then shipment lines with XC1…XC9 extra charges."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from okc_recon.carriers.invoices import read_invoices


def detail(waybill: str, charge: str, extras: list[tuple[str, str]], discount: str,
           total: str, flag: str = "A") -> str:  # fmt: skip
    row = [""] * 35
    row[0:13] = ["D", waybill, "20251006", "P", "EXPRESS WORLDWIDE", "1", "MEM", "YYZ",
                 "1.20", "2.0", flag, "20251008", "USD"]  # fmt: skip
    row[13] = charge
    for k, (name, amount) in enumerate(extras):
        row[14 + 2 * k] = name
        row[15 + 2 * k] = amount
    row[32], row[33] = discount, total
    return ",".join(row)


def test_summary_line_and_extra_charge_slots(tmp_path: Path) -> None:
    summary = "H,20251006,MIAR251006489,961234567,OK CAPSULE – EXPORTS,,1 Way,,Memphis,TN,38118,"
    summary += "101.50,USD,2"
    lines = [
        summary,
        detail(
            "3318810025",
            "40.00",
            [("FUEL SURCHARGE", "11.00"), ("", ""), ("REMOTE AREA DELIVERY", "25.00")],
            "-4.50",
            "71.50",
        ),
        detail("8487135506", "25.00", [("OVERSIZE PIECE", "5.00")], "", "30.00", flag="V"),
        detail("73891051146", "25.00", [], "", "99.00"),  # total does not add up
    ]
    path = tmp_path / "dhl.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    result = read_invoices(path)
    files = result.files.row(0, named=True)
    assert (files["format"], files["encoding"]) == ("dhl_express", "cp1252")
    assert (files["lines_in"], files["lines_parsed"], files["lines_rejected"]) == (3, 2, 1)
    assert "99.00" in result.rejected["reason"].item()
    lines_frame = result.lines
    assert lines_frame["charge_type"].to_list() == [
        "transportation", "fuel", "delivery_area", "discount", "transportation",
        "additional_handling",
    ]  # fmt: skip
    assert lines_frame["amount"].sum() == Decimal("101.50")
    first = lines_frame.row(0, named=True)
    assert (first["invoice_number"], first["account_number"]) == ("MIAR251006489", "961234567")
    assert first["invoice_date"] == date(2025, 10, 6)
    assert (first["billed_weight"], first["entered_weight"], first["weight_unit"]) == (
        2.0, 1.2, "kg",
    )  # fmt: skip
    assert first["service"] == "dhl_express_worldwide"
    assert lines_frame["rated_on_dim"].to_list() == [False] * 4 + [True] * 2
