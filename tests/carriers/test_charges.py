"""Charge descriptions and UPS codes → charge_type."""

from __future__ import annotations

import polars as pl
import pytest

from okc_recon.carriers.charges import (
    charge_type_from_text,
    charge_type_one,
    ups_charge_category,
    ups_charge_type,
)
from okc_recon.schema import CHARGE_TYPES

# carrier-formats §2.1: charge descriptions seen in real FedEx data
FEDEX_SEEN = {
    "Fuel Surcharge": "fuel",
    "Residential": "residential",
    "Residential Delivery": "residential",
    "AHS - Dimensions": "additional_handling",
    "AHS - Weight": "additional_handling",
    "Add'l Handling-Dimension": "additional_handling",
    "Add'l Handling-Packaging": "additional_handling",
    "Add'l Handling-Weight": "additional_handling",
    "Additional weight charge": "additional_handling",
    "Oversize Charge": "additional_handling",
    "DAS Comm": "delivery_area",
    "DAS Resi": "delivery_area",
    "DAS Extended Comm/Resi": "delivery_area",
    "DAS Remote Comm/Residential": "delivery_area",
    "DAS Alaska/Hawaii Comm/Resi": "delivery_area",
    "Delivery Area Surcharge Extended": "delivery_area",
    "Out of Delivery Area Tier B": "delivery_area",
    "Demand Surcharge": "other",
    "Demand-Add'l Handling": "additional_handling",
    "Demand-Oversize": "additional_handling",
    "Demand-Residential Del.": "residential",
    "Demand-Unauthorized": "other",
    "Performance Pricing": "discount",
    "Earned Discount": "discount",
    "Grace Discount": "discount",
    "Discount": "discount",
    "Address Correction": "address_correction",
    "Service Failure Credit (GSR)": "refund",
    "Transportation Charge": "transportation",
    "Direct Signature Required": "signature",
    "Saturday Delivery": "saturday",
    "APV Adjustment - Postage Underpaid": "adjustment",
    "DUTY TAX PAID": "tax",
}


@pytest.mark.parametrize(("text", "charge_type"), FEDEX_SEEN.items())
def test_descriptions_seen_in_real_files(text: str, charge_type: str) -> None:
    assert charge_type_one(text) == charge_type


def test_every_result_is_a_charge_type_and_null_stays_null() -> None:
    texts = [*FEDEX_SEEN, "something new", "", None]
    result = pl.DataFrame({"t": texts}).select(charge_type_from_text(pl.col("t")).alias("t"))["t"]
    assert set(result.drop_nulls()) <= set(CHARGE_TYPES)
    assert result[-1] is None
    assert result[-3] == "other"


@pytest.mark.parametrize(
    ("cls", "code", "detail", "text", "category", "expected"),
    [
        ("FRT", "003", "ISS", "Ground Residential", "shipment", "transportation"),
        ("FSC", "FSC", "ISS", "Treibstoffzuschl.", "shipment", "fuel"),
        ("ACC", "RES", "ISS", "Zustellung Privatadresse", "shipment", "residential"),
        ("ACC", "RDR", "", "Delivery Area Surcharge", "shipment", "delivery_area"),
        ("ACC", "AHC", "", "Additional Handling", "shipment", "additional_handling"),
        ("ACC", "SAT", "", "Saturday Delivery", "shipment", "saturday"),
        ("ACC", "DCS", "", "Delivery Confirmation Signature", "shipment", "signature"),
        ("FRT", "003", "SCC", "Shipping Charge Correction", "adjustment", "transportation"),
        ("ACC", "ADC", "ADC", "Address Correction", "adjustment", "address_correction"),
        ("FRT", "001", "GSR", "Guaranteed Service Refund", "adjustment", "refund"),
        ("ACC", "RES", "RADJ", "Residential Adjustment", "adjustment", "residential"),
        ("TAX", "", "", "Sales Tax", "shipment", "tax"),
        ("MSC", "", "CADJ", "Credit Adjustment", "adjustment", "adjustment"),
        ("MSC", "", "SVCH", "Payment Processing Fee", "invoice", "other"),
    ],
)
def test_ups_codes(
    cls: str, code: str, detail: str, text: str, category: str, expected: str
) -> None:
    frame = pl.DataFrame(
        {"cls": [cls], "code": [code], "detail": [detail], "text": [text], "cat": [category]}
    )
    result = frame.select(
        ups_charge_type(
            pl.col("cls"), pl.col("code"), pl.col("detail"), pl.col("text"), pl.col("cat")
        )
    ).item()
    assert result == expected


@pytest.mark.parametrize(
    ("category", "detail", "has_tracking", "expected"),
    [
        ("SHP", "ISS", True, "shipment"),
        ("RTN", "RS", True, "return"),
        ("ADJ", "SCC", True, "adjustment"),
        ("SHP", "ADC", True, "adjustment"),
        ("SHP", "GSR", True, "adjustment"),
        ("MIS", "SVCH", False, "invoice"),
        ("SHP", "ISS", False, "invoice"),
        ("ADJ", "VOID", True, "void"),
    ],
)
def test_ups_categories(category: str, detail: str, has_tracking: bool, expected: str) -> None:
    frame = pl.DataFrame({"c": [category], "d": [detail], "t": [has_tracking]})
    assert frame.select(ups_charge_category(pl.col("c"), pl.col("d"), pl.col("t"))).item() == (
        expected
    )
