"""ShipStation and EasyPost exports: labels, voids and refunds, APV adjustments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from okc_recon.carriers.invoices import read_invoices

SHIPSTATION = """Ship Date,Order #,Carrier,Service,Tracking #,Weight (oz),Shipment Cost,\
Insurance Cost,Voided,Void Date,Transaction Type,Transaction Date,Adjustment Reason
10/6/2025,1001,stamps_com,USPS Ground Advantage,9400111206211234567894,13.2,$6.15,$1.10,\
FALSE,,Label,10/6/2025,
10/7/2025,1002,stamps_com,USPS Priority Mail,9405511206211234567890,40,9.80,,TRUE,10/9/2025,\
Label,10/7/2025,
10/6/2025,,stamps_com,USPS Ground Advantage,9400111206211234567894,,1.85,,,,Adjustment,\
10/30/2025,APV Adjustment - Postage Underpaid
"""

EASYPOST = """created_at,id,tracking_code,status,weight,postage_label_created_at,service,\
carrier,rate,is_return,refund_status,label_fee,postage_fee,insurance_fee
2025-10-06T23:10:00Z,shp_1,9400111206211234567894,delivered,13.2,2025-10-06T23:12:00Z,\
GroundAdvantage,USPS,6.15,false,submitted,0.00,6.15,0.00
2025-10-07T14:00:00Z,shp_2,9405511206211234567890,delivered,40.0,2025-10-08T01:30:00-05:00,\
Priority,USPS,9.80,true,refunded,0.03,9.80,
"""


def test_shipstation_labels_voids_and_apv(tmp_path: Path) -> None:
    path = tmp_path / "shipments.csv"
    path.write_bytes(SHIPSTATION.encode("utf-8").replace(b"\n", b"\r\n"))
    result = read_invoices(path)
    assert result.files["format"].item() == "shipstation"
    assert result.rejected.is_empty()
    rows = result.lines.rows(named=True)
    assert [(r["charge_category"], r["charge_type"], r["amount"]) for r in rows] == [
        ("shipment", "transportation", Decimal("6.15")),
        ("shipment", "other", Decimal("1.10")),
        ("shipment", "transportation", Decimal("9.80")),
        ("void", "refund", Decimal("-9.80")),
        ("adjustment", "adjustment", Decimal("1.85")),
    ]
    label, _insurance, voided, refund, apv = rows
    assert label["carrier"] == "usps"
    assert label["service"] == "usps_ground_advantage"
    assert (label["entered_weight"], label["weight_unit"]) == (13.2, "oz")
    assert label["invoice_date"] == label["ship_date"] == date(2025, 10, 6)
    assert label["invoice_number"] is None
    assert voided["label_status"] == "voided"
    assert refund["invoice_date"] == date(2025, 10, 9)  # the void date
    assert apv["invoice_date"] == date(2025, 10, 30)
    assert apv["charge_description"] == "APV Adjustment - Postage Underpaid"


def test_easypost_refund_status_and_utc_label_dates(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(EASYPOST, encoding="utf-8")
    result = read_invoices(path)
    assert result.files["format"].item() == "easypost"
    rows = result.lines.rows(named=True)
    assert [(r["charge_category"], r["charge_description"], r["amount"]) for r in rows] == [
        ("shipment", "Postage", Decimal("6.15")),
        ("return", "Postage", Decimal("9.80")),
        ("return", "Label Fee", Decimal("0.03")),
        ("void", "Postage Refund", Decimal("-9.83")),
    ]
    assert rows[0]["label_status"] == "refund_submitted"
    assert rows[1]["label_status"] == "refunded"
    # 01:30 at UTC-5 is 06:30 UTC on the 8th
    assert rows[1]["ship_date"] == date(2025, 10, 8)
    assert rows[0]["service"] == "usps_ground_advantage"
    assert rows[1]["service"] == "usps_priority_mail"
