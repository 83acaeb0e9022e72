"""Write :class:`~okc_recon.sandbox.world.Invoice` objects as the files carriers deliver.

Used by the tests (round trips: write, read back, compare) and by the sample month. Each
writer produces the layout its reader documents, with the quirks real exports have when
:class:`Quirks` asks for them: a UTF-8 BOM, CRLF line ends, UTF-16 or Windows-1252 text, a
trailing comma on FedEx data rows, 25 or 51 FedEx charge pairs, either FedEx net-charge
convention, empty pair slots between filled ones, numbers without trailing zeros, and
tracking numbers mangled the way Excel mangles them (``7.94645E+11``).

What each format can carry (the readers give back exactly this):

- ``fedex_fbo``: one row per event. With ``net_convention="transportation_plus_charges"``
  the event's first transportation charge goes to ``Transportation Charge Amount`` and is
  read back as ``"Transportation Charge"``; every other charge is a description/amount pair.
- ``ups_billing_data``: one row per charge, an ``INF`` row per package (no money); the
  charge's ``code`` is its charge description code, or its detail code when it is an
  adjustment code (``SCC``, ``ADC``, ``GSR``…); UPS incentives go to the Incentive Amount.
- ``shipstation`` / ``easypost``: one row per label (postage, insurance, label fee) and per
  adjustment charge. A voided or refunded label's refund is implied by its status, not
  written; weights are written in ounces. These exports have no invoice number.
- ``dhl_express``: one file per invoice; one row per shipment with its weight charge, up to
  nine extra charges and one discount.
- ``generic``: okc-recon's own column names, one row per charge (CSV or XLSX).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Literal

from okc_recon.carriers import dhl, ups
from okc_recon.carriers.charges import UPS_ADJUSTMENT_DETAIL_CODES
from okc_recon.carriers.services import service_catalog
from okc_recon.sandbox.world import BillingEvent, Charge, Invoice

__all__ = [
    "FEDEX_BASE_COLUMNS",
    "GENERIC_COLUMNS",
    "Quirks",
    "excel_mangle",
    "fedex_header",
    "write_dhl_express",
    "write_easypost",
    "write_fedex_fbo",
    "write_generic",
    "write_invoices",
    "write_shipstation",
    "write_ups_billing_data",
]

Encoding = Literal["utf-8", "utf-8-sig", "utf-16", "cp1252"]


@dataclass(frozen=True)
class Quirks:
    """File-level quirks of real exports. The defaults write a clean file."""

    encoding: Encoding = "utf-8"  # utf-8-sig writes a BOM; utf-16 is Excel's "Unicode text"
    line_ending: str = "\n"  # "\r\n" for CRLF
    delimiter: str = ","  # Excel's "Unicode text" is tab-delimited
    xlsx: bool = False  # write a workbook instead of text
    #: tracking numbers written as Excel shows them after a round trip through a float
    mangle_tracking: frozenset[str] = field(default_factory=frozenset)
    # FedEx
    fedex_pairs: int = 25  # 25 (156 columns) or 51 (210 columns, with Consolidated Account)
    net_convention: Literal["transportation_plus_charges", "charges_only"] = (
        "transportation_plus_charges"
    )
    trailing_comma: bool = False  # data rows one field longer than the header
    sparse_pairs: bool = False  # each charge type keeps its own pair slot
    compact_numbers: bool = False  # 3.1 and 20 rather than 3.10 and 20.00; units "lbs"
    # UPS
    ups_width: int = ups.WIDTH
    ups_inf_rows: bool = True


def excel_mangle(number: str) -> str:
    """``number`` as Excel displays it once it became a float: ``7.94645E+11``."""
    mantissa, exponent = f"{float(number):.5E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E+{int(exponent):02d}"


def _money(value: Decimal | None, quirks: Quirks) -> str:
    if value is None:
        return ""
    text = f"{value:.2f}"
    if quirks.compact_numbers and "." in text:
        text = text.rstrip("0").rstrip(".")
        if text in ("", "-"):
            text = "0"
        if text == "-0":
            text = "0"
    return text


def _number(value: float | None, places: int, quirks: Quirks) -> str:
    if value is None:
        return ""
    text = f"{value:.{places}f}"
    if quirks.compact_numbers and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _tracking(number: str | None, quirks: Quirks) -> str:
    if number is None:
        return ""
    if number in quirks.mangle_tracking and number.isdigit():
        return excel_mangle(number)
    return number


def _ymd(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _emit(rows: Sequence[Sequence[str]], path: Path, quirks: Quirks) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if quirks.xlsx:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Sheet1")
        for row in rows:
            sheet.append([value if value != "" else None for value in row])
        book.save(path)
        return path
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=quirks.delimiter, lineterminator=quirks.line_ending)
    writer.writerows(rows)
    text = buffer.getvalue()
    if quirks.encoding == "utf-16":
        data = text.encode("utf-16")  # with a BOM, little-endian: what Excel writes
    elif quirks.encoding == "cp1252":
        data = text.encode("cp1252", errors="replace")
    else:
        data = text.encode(quirks.encoding)
    path.write_bytes(data)
    return path


# --- FedEx Billing Online ---------------------------------------------------------------

#: The FBO "All Columns" layout before the charge pairs (105 columns).
FEDEX_BASE_COLUMNS: tuple[str, ...] = (
    "Bill to Account Number", "Invoice Date", "Invoice Number", "Store ID",
    "Original Amount Due", "Current Balance", "Payor", "Ground Tracking ID Prefix",
    "Express or Ground Tracking ID", "Transportation Charge Amount", "Net Charge Amount",
    "Service Type", "Ground Service", "Shipment Date", "POD Delivery Date", "POD Delivery Time",
    "POD Service Area Code", "POD Signature Description", "Actual Weight Amount",
    "Actual Weight Units", "Rated Weight Amount", "Rated Weight Units", "Number of Pieces",
    "Bundle Number", "Meter Number", "TDMasterTrackingID", "Service Packaging", "Dim Length",
    "Dim Width", "Dim Height", "Dim Divisor", "Dim Unit", "Recipient Name", "Recipient Company",
    "Recipient Address Line 1", "Recipient Address Line 2", "Recipient City", "Recipient State",
    "Recipient Zip Code", "Recipient Country/Territory", "Shipper Company", "Shipper Name",
    "Shipper Address Line 1", "Shipper Address Line 2", "Shipper City", "Shipper State",
    "Shipper Zip Code", "Shipper Country/Territory", "Original Customer Reference",
    "Original Ref#2", "Original Ref#3/PO Number", "Original Department Reference Description",
    "Updated Customer Reference", "Updated Ref#2", "Updated Ref#3/PO Number",
    "Updated Department Reference Description", "RMA#", "Original Recipient Address Line 1",
    "Original Recipient Address Line 2", "Original Recipient City", "Original Recipient State",
    "Original Recipient Zip Code", "Original Recipient Country/Territory", "Zone Code",
    "Cost Allocation", "Alternate Address Line 1", "Alternate Address Line 2", "Alternate City",
    "Alternate State Province", "Alternate Zip Code", "Alternate Country/Territory Code",
    "CrossRefTrackingID Prefix", "CrossRefTrackingID", "Entry Date", "Entry Number",
    "Customs Value", "Customs Value Currency Code", "Declared Value",
    "Declared Value Currency Code",
    *(["Commodity Description", "Commodity Country/Territory Code"] * 4),
    "Currency Conversion Date", "Currency Conversion Rate", "Multiweight Number",
    "Multiweight Total Multiweight Units", "Multiweight Total Multiweight Weight",
    "Multiweight Total Shipment Charge Amount", "Multiweight Total Shipment Weight",
    "Ground Tracking ID Address Correction Discount Charge Amount",
    "Ground Tracking ID Address Correction Gross Charge Amount", "Rated Method", "Sort Hub",
    "Estimated Weight", "Estimated Weight Unit", "Postal Class", "Process Category",
    "Package Size", "Delivery Confirmation", "Tendered Date",
)  # fmt: skip

# Pair slot each charge type keeps when Quirks.sparse_pairs (others fill the gaps).
_FEDEX_SLOTS = {
    "transportation": 0, "fuel": 1, "discount": 3, "residential": 5, "delivery_area": 7,
    "additional_handling": 9, "signature": 11, "saturday": 12, "address_correction": 13,
    "dimensional": 15, "adjustment": 16, "refund": 17, "tax": 19, "other": 20,
}  # fmt: skip

_FEDEX_SERVICE = {
    "fedex_ground": ("FedEx Ground", "Ground"),
    "fedex_home_delivery": ("FedEx Ground", "Home Delivery"),
    "fedex_ground_economy": ("FedEx Ground Economy", "Ground Economy"),
}


def fedex_header(pairs: int = 25) -> list[str]:
    """The FBO header: 156 columns for 25 pairs, 210 (with the 2025 extras) for 51."""
    pair_names = ["Tracking ID Charge Description", "Tracking ID Charge Amount"] * pairs
    if pairs > 25:
        return [
            "Consolidated Account Number",
            *FEDEX_BASE_COLUMNS,
            "MPS Package ID",
            *pair_names,
            "Shipment Notes",
        ]
    return [*FEDEX_BASE_COLUMNS, *pair_names, "Shipment Notes"]


def _label(service: str | None) -> str:
    if service is None:
        return ""
    labels = dict(zip(service_catalog()["service"], service_catalog()["label"], strict=True))
    return str(labels.get(service, service))


def _fedex_pairs(charges: Sequence[Charge], slots: int, quirks: Quirks) -> list[str]:
    cells = [""] * (2 * slots)
    taken: set[int] = set()
    pending: list[Charge] = []
    for charge in charges:
        slot = _FEDEX_SLOTS.get(charge.charge_type) if quirks.sparse_pairs else None
        if slot is not None and slot < slots and slot not in taken:
            taken.add(slot)
            cells[2 * slot] = charge.description
            cells[2 * slot + 1] = _money(charge.amount, quirks)
        else:
            pending.append(charge)
    free = (s for s in range(slots) if s not in taken)
    for charge in pending:
        slot = next(free, None)
        if slot is None:
            raise ValueError(f"more charges than the {slots} FedEx charge pairs on one row")
        cells[2 * slot] = charge.description
        cells[2 * slot + 1] = _money(charge.amount, quirks)
    return cells


def write_fedex_fbo(
    invoices: Sequence[Invoice], path: str | Path, *, quirks: Quirks = Quirks()
) -> Path:
    """An FBO "All Columns" download holding ``invoices`` (one row per billing event)."""
    header = fedex_header(quirks.fedex_pairs)
    position = {name: i for i, name in reversed(list(enumerate(header)))}
    rows: list[list[str]] = [header]
    unit = "lbs" if quirks.compact_numbers else "L"
    for invoice in invoices:
        total = _money(invoice.total, quirks)
        for event in invoice.events:
            row = [""] * len(header)

            def put(name: str, value: str, row: list[str] = row) -> None:
                row[position[name]] = value

            charges = list(event.charges)
            if quirks.net_convention == "transportation_plus_charges":
                first = next((c for c in charges if c.charge_type == "transportation"), None)
                if first is not None:
                    charges.remove(first)
                tca = first.amount if first is not None else Decimal("0.00")
            else:
                charges.sort(key=lambda c: c.charge_type != "transportation")
                tca = sum(
                    (c.amount for c in charges if c.charge_type == "transportation"),
                    Decimal("0.00"),
                )
            put("Bill to Account Number", invoice.account_number)
            put("Invoice Date", _ymd(invoice.invoice_date))
            put("Invoice Number", invoice.invoice_number)
            put("Original Amount Due", total)
            put("Current Balance", total)
            put("Payor", "Shipper" if event.tracking_number else "")
            put("Express or Ground Tracking ID", _tracking(event.tracking_number, quirks))
            put("Transportation Charge Amount", _money(tca, quirks))
            put("Net Charge Amount", _money(event.total, quirks))
            service_type, ground = _FEDEX_SERVICE.get(
                event.service or "", (_label(event.service), "")
            )
            if event.charge_category == "return":
                service_type, ground = _label(event.service), "Return Manager"
            put("Service Type", service_type)
            put("Ground Service", ground)
            put("Shipment Date", _ymd(event.ship_date))
            put("POD Delivery Date", _ymd(event.delivery_date))
            if event.delivery_time is not None:
                t = event.delivery_time
                put("POD Delivery Time", f"{t.hour}:{t.minute:02d}" if quirks.compact_numbers
                    else f"{t.hour:02d}{t.minute:02d}")  # fmt: skip
            weights_unit = {"lb": unit, "kg": "K", "oz": "O", "g": "G"}[event.weight_unit]
            if event.entered_weight is not None:
                put("Actual Weight Amount", _number(event.entered_weight, 1, quirks))
                put("Actual Weight Units", weights_unit)
            if event.billed_weight is not None:
                put("Rated Weight Amount", _number(event.billed_weight, 1, quirks))
                put("Rated Weight Units", weights_unit)
            if event.tracking_number:
                put("Number of Pieces", "1")
            if event.dimensions is not None:
                length, width, height = event.dimensions
                put("Dim Length", _number(length, 0, quirks))
                put("Dim Width", _number(width, 0, quirks))
                put("Dim Height", _number(height, 0, quirks))
                put("Dim Divisor", "139")
                put("Dim Unit", "I")
            if event.rated_on_dim:
                put("Rated Method", "DIM")
            if event.alt_tracking_number:
                put("CrossRefTrackingID", event.alt_tracking_number)
            if event.tracking_number:
                put("Tendered Date", _ymd(event.ship_date))
            first_pair = position["Tracking ID Charge Description"]
            row[first_pair : first_pair + 2 * quirks.fedex_pairs] = _fedex_pairs(
                charges, quirks.fedex_pairs, quirks
            )
            rows.append([*row, ""] if quirks.trailing_comma else row)
    return _emit(rows, Path(path), quirks)


# --- UPS Billing Data ---------------------------------------------------------------------

_UPS_UNIT = {"lb": "L", "kg": "K", "oz": "O", "g": "G"}
_UPS_SERVICE_CODE = {
    "ups_next_day_air": "01", "ups_2nd_day_air": "02", "ups_ground": "03",
    "ups_3_day_select": "12", "ups_next_day_air_saver": "13", "ups_next_day_air_early": "14",
    "ups_2nd_day_air_am": "59", "ups_surepost": "93",
}  # fmt: skip
_UPS_DEFAULT_CODE = {
    "fuel": "FSC", "residential": "RES", "delivery_area": "RDR", "additional_handling": "AHG",
    "signature": "DCS", "saturday": "SAT", "address_correction": "ADC", "discount": "DSC",
    "refund": "GSR",
}  # fmt: skip
_UPS_CLASS = {
    "transportation": "FRT", "adjustment": "MSC", "refund": "FRT", "fuel": "FSC", "tax": "TAX",
}  # fmt: skip


def _ups_codes(event: BillingEvent, charge: Charge) -> tuple[str, str, str, str]:
    """(category code, detail code, classification code, description code)."""
    code = (charge.code or "").upper()
    detail_codes = {*UPS_ADJUSTMENT_DETAIL_CODES, "SVCH", "VOID", "FPOD"}
    detail = code if code in detail_codes else ""
    description_code = "" if detail else code
    category = event.charge_category
    reason = (getattr(event, "adjustment_reason", None) or "").upper()
    if category == "adjustment":
        category_code = "ADJ"
        if not detail and reason in UPS_ADJUSTMENT_DETAIL_CODES:
            detail = reason
        if not detail:
            detail = {"address_correction": "ADC", "residential": "RADJ", "refund": "GSR"}.get(
                charge.charge_type, "SCC"
            )
    elif category == "invoice":
        category_code, detail = "MIS", detail or "SVCH"
    elif category == "return":
        category_code, detail = "RTN", detail or "RS"
    elif category == "void":
        category_code, detail = "ADJ", "VOID"
    else:
        category_code, detail = "SHP", detail or "ISS"
    classification = _UPS_CLASS.get(charge.charge_type, "ACC")
    if charge.charge_type == "other" and category == "invoice":
        classification = "MSC"
    if not description_code:
        if charge.charge_type in ("transportation", "refund"):
            description_code = _UPS_SERVICE_CODE.get(event.service or "", "")
        else:
            description_code = _UPS_DEFAULT_CODE.get(charge.charge_type, "")
    return category_code, detail, classification, description_code


def write_ups_billing_data(
    invoices: Sequence[Invoice], path: str | Path, *, quirks: Quirks = Quirks()
) -> Path:
    """A UPS Billing Data file (version 2.1, no header) holding ``invoices``."""
    p = ups.POSITIONS
    width = quirks.ups_width
    rows: list[list[str]] = []
    for invoice in invoices:
        total = _money(invoice.total, quirks)
        for event in invoice.events:
            tracking = _tracking(event.tracking_number, quirks)
            lead = event.alt_tracking_number or event.tracking_number
            unit = _UPS_UNIT[event.weight_unit]
            weighted = False
            for charge in event.charges:
                category, detail, classification, description_code = _ups_codes(event, charge)
                row = [""] * width

                def put(pos: int, value: str, row: list[str] = row) -> None:
                    if pos < len(row):
                        row[pos] = value

                put(p["version"], "2.1")
                put(1, invoice.account_number[-6:])
                put(p["account_number"], invoice.account_number)
                put(3, "US")
                put(p["invoice_date"], _iso(invoice.invoice_date))
                put(p["invoice_number"], invoice.invoice_number)
                put(6, "E")
                put(7, "1")
                put(p["currency"], "USD")
                put(p["invoice_amount"], total)
                put(p["transaction_date"], _iso(event.ship_date or invoice.invoice_date))
                put(p["lead_shipment_number"], _tracking(lead, quirks))
                put(p["tracking_number"], tracking)
                carries_weight = (
                    not weighted and bool(event.tracking_number) and classification == "FRT"
                )
                put(p["package_quantity"], "1" if carries_weight else "0")
                if carries_weight:
                    weighted = True
                    put(p["entered_weight"], _number(event.entered_weight, 1, quirks))
                    put(p["entered_unit"], unit if event.entered_weight is not None else "")
                    put(p["billed_weight"], _number(event.billed_weight, 1, quirks))
                    put(p["billed_unit"], unit if event.billed_weight is not None else "")
                    put(30, "PKG")
                    put(p["billed_weight_type"], "02" if event.rated_on_dim else "01")
                    put(33, "007")
                put(p["charge_category_code"], category)
                put(p["charge_category_detail_code"], detail)
                put(36, "1")
                put(p["charge_classification_code"], classification)
                put(p["charge_description_code"], description_code)
                put(p["charge_description"], charge.description)
                put(46, "1")
                put(47, "USD")
                incentive = getattr(charge, "incentive", None)
                gross = charge.amount + (incentive or Decimal("0"))
                put(48, f"{gross:.9f}")
                put(50, "USD")
                put(p["incentive_amount"], _money(incentive or Decimal("0.00"), quirks))
                put(p["net_amount"], _money(charge.amount, quirks))
                put(62, _iso(invoice.invoice_date))
                put(p["shipment_date"], _iso(event.ship_date))
                put(p["delivery_date"], _iso(event.delivery_date))
                put(179, "01")
                rows.append(row)
            if quirks.ups_inf_rows and event.tracking_number and event.dimensions is not None:
                row = [""] * width
                length, wide, high = event.dimensions
                values = {
                    p["version"]: "2.1", p["account_number"]: invoice.account_number,
                    p["invoice_date"]: _iso(invoice.invoice_date),
                    p["invoice_number"]: invoice.invoice_number, p["currency"]: "USD",
                    p["invoice_amount"]: total,
                    p["transaction_date"]: _iso(event.ship_date or invoice.invoice_date),
                    p["lead_shipment_number"]: _tracking(lead, quirks),
                    p["tracking_number"]: tracking, p["package_quantity"]: "0",
                    p["charge_category_code"]: "SHP" if event.charge_category == "shipment"
                    else "ADJ", p["charge_classification_code"]: "INF",
                    p["charge_description"]: "Package Dimensions",
                    p["net_amount"]: _money(Decimal("0.00"), quirks),
                    226: f"{length:4.1f}x{wide:5.1f}x{high:5.1f}", 227: "I",
                }  # fmt: skip
                for pos, value in values.items():
                    if pos < width:
                        row[pos] = value
                rows.append(row)
    return _emit(rows, Path(path), quirks)


# --- Postage tools ------------------------------------------------------------------------

_OUNCES = {"oz": 1.0, "lb": 16.0, "kg": 35.27396195, "g": 0.03527396195}


def _ounces(event: BillingEvent) -> float | None:
    if event.entered_weight is None:
        return None
    return round(event.entered_weight * _OUNCES[event.weight_unit], 2)


def _label_amounts(event: BillingEvent) -> tuple[Decimal, Decimal, Decimal]:
    """(postage, insurance, label fee) of a label event; refunds are implied, not written."""
    postage = insurance = fee = Decimal("0.00")
    for charge in event.charges:
        text = charge.description.lower()
        if charge.charge_type == "refund":
            continue
        if "insurance" in text:
            insurance += charge.amount
        elif "label fee" in text:
            fee += charge.amount
        else:
            postage += charge.amount
    return postage, insurance, fee


SHIPSTATION_HEADER = [
    "Ship Date", "Order Number", "Shipment ID", "Carrier", "Service", "Package",
    "Tracking Number", "Weight (oz)", "Shipment Cost", "Insurance Cost", "Voided", "Void Date",
    "Return Label", "Transaction Type", "Transaction Date", "Adjustment Reason",
]  # fmt: skip


def write_shipstation(
    invoices: Sequence[Invoice], path: str | Path, *, quirks: Quirks = Quirks()
) -> Path:
    """A ShipStation shipments export (with APV adjustment rows) holding ``invoices``."""
    rows: list[list[str]] = [list(SHIPSTATION_HEADER)]
    for invoice in invoices:
        for event in invoice.events:
            carrier = "USPS" if event.carrier == "usps" else event.carrier.upper()
            service = _label(event.service)
            tracking = _tracking(event.tracking_number, quirks)
            if event.charge_category == "adjustment":
                for charge in event.charges:
                    rows.append([
                        _us_date(event.ship_date), "", "", carrier, service, "Package", tracking,
                        "", _money(charge.amount, quirks), "", "", "", "", "Adjustment",
                        _us_date(invoice.invoice_date), charge.description,
                    ])  # fmt: skip
                continue
            postage, insurance, _ = _label_amounts(event)
            voided = event.label_status in ("voided", "refunded")
            rows.append([
                _us_date(event.ship_date), "", "", carrier, service, "Package", tracking,
                _number(_ounces(event), 1, quirks), _money(postage, quirks),
                _money(insurance, quirks) if insurance else "",
                "TRUE" if voided else "FALSE",
                _us_date(invoice.invoice_date) if voided else "",
                "TRUE" if event.charge_category == "return" else "FALSE", "Label",
                _us_date(event.ship_date), "",
            ])  # fmt: skip
    return _emit(rows, Path(path), quirks)


def _us_date(value: date | None) -> str:
    return f"{value.month}/{value.day}/{value.year}" if value else ""


EASYPOST_HEADER = [
    "created_at", "id", "tracking_code", "status", "length", "width", "height", "weight",
    "predefined_package", "postage_label_created_at", "service", "carrier", "rate",
    "insured_value", "is_return", "refund_status", "reference", "label_fee", "postage_fee",
    "insurance_fee", "type", "adjustment_reason",
]  # fmt: skip
_EASYPOST_SERVICE = {
    "usps_priority_mail": "Priority", "usps_priority_mail_express": "Express",
    "usps_ground_advantage": "GroundAdvantage", "usps_first_class": "First",
    "usps_parcel_select": "ParcelSelect", "usps_media_mail": "MediaMail",
}  # fmt: skip
_EASYPOST_REFUND = {
    "voided": "refunded",
    "refunded": "refunded",
    "refund_submitted": "submitted",
    "refund_rejected": "rejected",
}


def _utc(value: date | None, at: time = time(15, 0)) -> str:
    if value is None:
        return ""
    return datetime.combine(value, at).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_easypost(
    invoices: Sequence[Invoice], path: str | Path, *, quirks: Quirks = Quirks()
) -> Path:
    """An EasyPost shipment report (with adjustment rows) holding ``invoices``."""
    rows: list[list[str]] = [list(EASYPOST_HEADER)]
    number = 0
    for invoice in invoices:
        for event in invoice.events:
            tracking = _tracking(event.tracking_number, quirks)
            service = _EASYPOST_SERVICE.get(event.service or "", _label(event.service))
            carrier = "USPS" if event.carrier == "usps" else event.carrier.upper()
            if event.charge_category == "adjustment":
                for charge in event.charges:
                    number += 1
                    rows.append([
                        _utc(invoice.invoice_date), f"adj_{number:08d}", tracking, "", "", "",
                        "", "", "", _utc(event.ship_date), service, carrier, "", "", "", "",
                        "", "", _money(charge.amount, quirks), "", "adjustment",
                        charge.description,
                    ])  # fmt: skip
                continue
            number += 1
            postage, insurance, fee = _label_amounts(event)
            dims = event.dimensions or (None, None, None)
            rows.append([
                _utc(event.ship_date, time(14, 0)), f"shp_{number:08d}", tracking, "delivered",
                *(_number(d, 1, quirks) for d in dims), _number(_ounces(event), 1, quirks),
                "Parcel", _utc(event.ship_date), service, carrier, _money(postage, quirks), "",
                "true" if event.charge_category == "return" else "false",
                _EASYPOST_REFUND.get(event.label_status or "", "not_applicable"), "",
                _money(fee, quirks), _money(postage, quirks), _money(insurance, quirks),
                "shipment", "",
            ])  # fmt: skip
    return _emit(rows, Path(path), quirks)


# --- DHL Express --------------------------------------------------------------------------

_DHL_PRODUCT = {
    "dhl_express_worldwide": "P", "dhl_express_9": "K", "dhl_express_12": "T",
    "dhl_express_domestic": "N",
}  # fmt: skip


def write_dhl_express(invoice: Invoice, path: str | Path, *, quirks: Quirks = Quirks()) -> Path:
    """A DHL Express invoice file: a summary line, then one line per shipment."""
    summary = [""] * dhl.SUMMARY_WIDTH
    summary[0:4] = ["H", _ymd(invoice.invoice_date), invoice.invoice_number, invoice.account_number]
    summary[4] = "OK CAPSULE – EXPORTS"
    summary[6:11] = ["1 Warehouse Way", "Dock 4", "Memphis", "TN", "38118"]
    summary[11] = _money(invoice.total, quirks)
    summary[12] = "USD"
    summary[13] = str(len(invoice.events))
    rows: list[list[str]] = [summary]
    for event in invoice.events:
        row = [""] * dhl.DETAIL_WIDTH
        transport = [c for c in event.charges if c.charge_type == "transportation"]
        discounts = [c for c in event.charges if c.charge_type == "discount"]
        extras = [c for c in event.charges if c not in transport and c not in discounts]
        if len(extras) > dhl.XC_SLOTS:
            raise ValueError(f"more than {dhl.XC_SLOTS} DHL extra charges on one shipment")
        row[0:5] = [
            "D", _tracking(event.tracking_number, quirks), _ymd(event.ship_date),
            _DHL_PRODUCT.get(event.service or "", ""), _label(event.service),
        ]  # fmt: skip
        row[5:8] = ["1", "US", "CA"]
        row[8] = _number(event.entered_weight, 2, quirks)
        row[9] = _number(event.billed_weight, 1, quirks)
        row[10] = "V" if event.rated_on_dim else "A"
        row[11] = _ymd(event.delivery_date)
        row[12] = "USD"
        row[13] = _money(sum((c.amount for c in transport), Decimal("0.00")), quirks)
        for k, charge in enumerate(extras):
            row[14 + 2 * k] = charge.description
            row[15 + 2 * k] = _money(charge.amount, quirks)
        discount = sum((c.amount for c in discounts), Decimal("0.00"))
        row[32] = _money(discount, quirks) if discounts else ""
        row[33] = _money(event.total, quirks)
        rows.append(row)
    return _emit(rows, Path(path), quirks)


# --- generic ------------------------------------------------------------------------------

#: Columns of okc-recon's own layout (what the generic reader reads without a mapping).
GENERIC_COLUMNS = (
    "carrier", "account_number", "invoice_number", "invoice_date", "tracking_number",
    "alt_tracking_number", "ship_date", "delivery_date", "delivery_time", "service",
    "charge_category", "charge_type", "charge_code", "charge_description", "amount", "currency",
    "billed_weight", "entered_weight", "weight_unit", "rated_on_dim", "label_status",
)  # fmt: skip


def write_generic(
    invoices: Sequence[Invoice],
    path: str | Path,
    *,
    quirks: Quirks = Quirks(),
    columns: dict[str, str] | None = None,
) -> Path:
    """One row per charge, with okc-recon's column names (or ``columns``: field -> header)."""
    names = columns or {c: c for c in GENERIC_COLUMNS}
    fields = [c for c in GENERIC_COLUMNS if c in names]
    rows: list[list[str]] = [[names[c] for c in fields]]
    for invoice in invoices:
        for event in invoice.events:
            for charge in event.charges:
                has_weight = event.billed_weight is not None or event.entered_weight is not None
                values = {
                    "carrier": event.carrier, "account_number": invoice.account_number,
                    "invoice_number": invoice.invoice_number,
                    "invoice_date": _iso(invoice.invoice_date),
                    "tracking_number": _tracking(event.tracking_number, quirks),
                    "alt_tracking_number": event.alt_tracking_number or "",
                    "ship_date": _iso(event.ship_date), "delivery_date": _iso(event.delivery_date),
                    "delivery_time": event.delivery_time.strftime("%H:%M:%S")
                    if event.delivery_time else "",
                    "service": event.service or "", "charge_category": event.charge_category,
                    "charge_type": charge.charge_type, "charge_code": charge.code or "",
                    "charge_description": charge.description,
                    "amount": _money(charge.amount, quirks), "currency": "USD",
                    "billed_weight": _number(event.billed_weight, 2, quirks),
                    "entered_weight": _number(event.entered_weight, 2, quirks),
                    "weight_unit": event.weight_unit if has_weight else "",
                    "rated_on_dim": "true" if event.rated_on_dim else "false",
                    "label_status": event.label_status or "",
                }  # fmt: skip
                rows.append([values[c] for c in fields])
    return _emit(rows, Path(path), quirks)


# --- dispatch -----------------------------------------------------------------------------


def write_invoices(
    invoices: Iterable[Invoice],
    path: str | Path,
    *,
    file_format: str | None = None,
    quirks: Quirks = Quirks(),
) -> Path:
    """Write ``invoices`` (all of one format) to ``path`` in ``file_format`` (default: theirs).

    ``file_format`` is one of ``fedex_fbo``, ``ups_billing_data``, ``shipstation``,
    ``easypost``, ``dhl_express`` (one invoice per file) or ``generic``.
    """
    batch = list(invoices)
    if not batch:
        raise ValueError("no invoices to write")
    fmt = file_format or batch[0].file_format
    if fmt == "fedex_fbo":
        return write_fedex_fbo(batch, path, quirks=quirks)
    if fmt == "ups_billing_data":
        return write_ups_billing_data(batch, path, quirks=quirks)
    if fmt == "shipstation":
        return write_shipstation(batch, path, quirks=quirks)
    if fmt == "easypost":
        return write_easypost(batch, path, quirks=quirks)
    if fmt == "generic":
        return write_generic(batch, path, quirks=quirks)
    if fmt == "dhl_express":
        if len(batch) != 1:
            raise ValueError("a DHL Express file holds one invoice")
        return write_dhl_express(batch[0], path, quirks=quirks)
    raise ValueError(
        f"unknown invoice file format {fmt!r}; known: fedex_fbo, ups_billing_data, "
        "shipstation, easypost, dhl_express, generic"
    )
