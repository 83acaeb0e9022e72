"""Hypothesis strategies for invoices of each format, and what reading one back must give.

``expected_lines`` states each format's contract (see ``okc_recon.carriers.writers``) from
the ``Invoice`` alone, independently of the writer: it is what a reader must return.
"""

from __future__ import annotations

import math
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import strategies as st

from okc_recon.carriers import tracking
from okc_recon.sandbox.world import BillingEvent, Charge, Invoice

COMPARE = [
    "carrier",
    "account_number",
    "invoice_number",
    "invoice_date",
    "tracking_number",
    "tracking_corrupted",
    "ship_date",
    "delivery_date",
    "service",
    "charge_category",
    "charge_type",
    "charge_description",
    "amount",
    "billed_weight",
    "entered_weight",
    "weight_unit",
    "rated_on_dim",
    "label_status",
]

# (charge_type, description, UPS code) each reader classifies back to that type
FEDEX_CHARGES = [
    ("fuel", "Fuel Surcharge", None),
    ("residential", "Residential Delivery", None),
    ("residential", "Demand-Residential Del.", None),
    ("discount", "Earned Discount", None),
    ("discount", "Performance Pricing", None),
    ("discount", "Grace Discount", None),
    ("delivery_area", "DAS Resi", None),
    ("delivery_area", "DAS Extended Comm/Resi", None),
    ("delivery_area", "Out of Delivery Area Tier B", None),
    ("additional_handling", "AHS - Dimensions", None),
    ("additional_handling", "Add'l Handling-Weight", None),
    ("additional_handling", "Oversize Charge", None),
    ("signature", "Direct Signature Required", None),
    ("saturday", "Saturday Delivery", None),
    ("address_correction", "Address Correction", None),
    ("refund", "Service Failure Credit (GSR)", None),
    ("other", "Demand Surcharge", None),
    ("other", "Declared Value Charge", None),
]
UPS_CHARGES = [
    ("fuel", "Fuel Surcharge", "FSC"),
    ("residential", "Residential Surcharge", "RES"),
    ("delivery_area", "Delivery Area Surcharge - Residential", "RDR"),
    ("delivery_area", "Delivery Area Surcharge - Extended", "LDR"),
    ("additional_handling", "Additional Handling - Weight", "AHW"),
    ("signature", "Delivery Confirmation Signature", "DCS"),
    ("saturday", "Saturday Delivery", "SAT"),
    ("other", "Peak Surcharge - Residential", "PSR"),
    ("discount", "Promotional Discount", "DSC"),
    ("tax", "Sales Tax", None),
]
UPS_ADJUSTMENTS = [
    ("adjustment", "Shipping Charge Correction", "SCC"),
    ("transportation", "Shipping Charge Correction", None),
    ("adjustment", "Credit Adjustment", None),
    ("address_correction", "Address Correction", "ADC"),
    ("residential", "Residential Adjustment", "RADJ"),
    ("refund", "Guaranteed Service Refund", "GSR"),
    ("fuel", "Fuel Surcharge", "FSC"),
]
DHL_EXTRAS = [
    ("fuel", "FUEL SURCHARGE", None),
    ("delivery_area", "REMOTE AREA DELIVERY", None),
    ("additional_handling", "OVERSIZE PIECE", None),
    ("tax", "DUTY TAX PAID", None),
    ("other", "EMERGENCY SITUATION", None),
]
SERVICES = {
    "fedex": ["fedex_ground", "fedex_home_delivery", "fedex_priority_overnight", "fedex_2day"],
    "ups": ["ups_ground", "ups_next_day_air", "ups_2nd_day_air", "ups_3_day_select"],
    "usps": ["usps_ground_advantage", "usps_priority_mail", "usps_priority_mail_express"],
    "dhl": ["dhl_express_worldwide", "dhl_express_12", "dhl_express_9"],
}
KINDS = {
    "fedex": ["fedex_express_12", "fedex_ground_15"],
    "ups": ["ups_1z"],
    "usps": ["usps_impb_22"],
    "dhl": ["dhl_express_10"],
}

amounts = st.integers(min_value=-9999, max_value=99999).map(lambda c: Decimal(c) / 100)
positive = st.integers(min_value=1, max_value=99999).map(lambda c: Decimal(c) / 100)
days = st.dates(min_value=date(2025, 6, 1), max_value=date(2025, 12, 31))
weights = st.integers(min_value=1, max_value=1500).map(lambda t: t / 10)


@st.composite
def tracking_numbers(draw: st.DrawFn, carrier: str) -> str:
    import random

    seed = draw(st.integers(min_value=0, max_value=2**32))
    kind = draw(st.sampled_from(KINDS[carrier]))
    return tracking.make_tracking_number(carrier, random.Random(seed), kind)


@st.composite
def charges_from(
    draw: st.DrawFn, table: list[tuple[str, str, str | None]], *, max_size: int = 4
) -> list[Charge]:
    picked = draw(st.lists(st.sampled_from(table), max_size=max_size))
    result = []
    for charge_type, text, code in picked:
        amount = draw(amounts)
        if charge_type in ("discount", "refund"):
            amount = -abs(amount)
        result.append(Charge(charge_type, text, amount, code))
    return result


@st.composite
def events(draw: st.DrawFn, carrier: str, file_format: str) -> BillingEvent:
    category = draw(
        st.sampled_from(
            {
                "fedex_fbo": ["shipment", "shipment", "adjustment", "invoice", "return"],
                "ups_billing_data": ["shipment", "shipment", "adjustment", "invoice", "return"],
                "dhl_express": ["shipment"],
                "shipstation": ["shipment", "shipment", "adjustment", "return"],
                "easypost": ["shipment", "shipment", "adjustment", "return"],
                "generic": ["shipment", "adjustment", "invoice", "return"],
            }[file_format]
        )
    )
    number = None if category == "invoice" else draw(tracking_numbers(carrier))
    service = None if category == "invoice" else draw(st.sampled_from(SERVICES[carrier]))
    ship = None if category == "invoice" else draw(days)
    unit = {"dhl": "kg", "usps": "oz"}.get(carrier, "lb")
    entered = draw(st.none() | weights) if category != "invoice" else None
    billed = draw(st.none() | weights) if category != "invoice" else None
    delivery = None if ship is None else draw(st.none() | st.just(ship + timedelta(days=2)))
    dims = draw(st.none() | st.tuples(*[st.integers(1, 40).map(float)] * 3))
    charges: list[Charge]
    status: str | None = None
    if file_format == "fedex_fbo":
        if category in ("shipment", "return"):
            charges = [Charge("transportation", "Transportation Charge", draw(positive))]
            charges += draw(charges_from(FEDEX_CHARGES))
        elif category == "adjustment":
            charges = draw(charges_from(FEDEX_CHARGES).filter(bool))
        else:
            charges = [Charge("other", draw(st.sampled_from(["Weekly Service Charge",
                                                                "Payment Processing Fee"])),
                              draw(positive))]  # fmt: skip
    elif file_format == "ups_billing_data":
        code = {"ups_ground": "03", "ups_next_day_air": "01", "ups_2nd_day_air": "02",
                "ups_3_day_select": "12"}.get(service or "")  # fmt: skip
        if category in ("shipment", "return"):
            charges = [Charge("transportation", "Ground", draw(positive), code)]
            charges += draw(charges_from(UPS_CHARGES))
        elif category == "adjustment":
            charges = draw(charges_from(UPS_ADJUSTMENTS).filter(bool))
        else:
            charges = [Charge("other", "Service Charge", draw(positive), "SVCH")]
    elif file_format == "dhl_express":
        charges = [Charge("transportation", "EXPRESS WORLDWIDE", draw(positive))]
        charges += draw(charges_from(DHL_EXTRAS, max_size=9))
        if draw(st.booleans()):
            charges.append(Charge("discount", "Discount", -draw(positive)))
    elif file_format in ("shipstation", "easypost"):
        if category == "adjustment":
            charges = [Charge("adjustment", draw(st.sampled_from(
                ["APV Adjustment", "Postage Underpaid Adjustment", "Adjustment Processing Fee"])),
                draw(amounts))]  # fmt: skip
            entered = billed = None
        else:
            charges = [Charge("transportation", "Postage", draw(positive))]
            if draw(st.booleans()):
                charges.append(Charge("other", "Insurance", draw(positive)))
            if file_format == "easypost" and draw(st.booleans()):
                charges.append(Charge("other", "Label Fee", draw(positive)))
            choices = [None, "voided", "refund_submitted", "refund_rejected"]
            if file_format == "easypost":
                choices = [None, "refunded", "refund_submitted", "refund_rejected"]
            status = draw(st.sampled_from(choices))
            if status in ("voided", "refunded"):
                total = sum((c.amount for c in charges), Decimal("0.00"))
                charges.append(Charge("refund", "Postage Refund", -total))
        billed = None
    else:  # generic: anything in the vocabulary, as is
        charges = [Charge("transportation", "Transportation Charge", draw(positive))]
        charges += draw(charges_from(FEDEX_CHARGES + UPS_CHARGES))
        status = draw(st.sampled_from([None, "voided"]))
    return BillingEvent(
        carrier=carrier,
        tracking_number=number,
        service=service,
        ship_date=ship,
        charge_category=category,
        charges=tuple(charges),
        delivery_date=delivery,
        delivery_time=time(10, 30) if delivery is not None else None,
        billed_weight=billed,
        entered_weight=entered,
        weight_unit=unit,
        rated_on_dim=draw(st.booleans()) if file_format in ("ups_billing_data", "generic",
                                                           "dhl_express") else False,
        dimensions=dims if category != "invoice" else None,
        label_status=status,
    )  # fmt: skip


@st.composite
def invoices(draw: st.DrawFn, file_format: str) -> Invoice:
    carrier = {
        "fedex_fbo": "fedex",
        "ups_billing_data": "ups",
        "dhl_express": "dhl",
        "shipstation": "usps",
        "easypost": "usps",
        "generic": draw(st.sampled_from(["fedex", "ups", "usps", "dhl"])),
    }[file_format]
    items = draw(
        st.lists(
            events(carrier, file_format),
            min_size=1,
            max_size=5,
            unique_by=lambda e: e.tracking_number or object(),
        )
    )
    number = draw(st.from_regex(r"[0-9]{9}", fullmatch=True))
    return Invoice(
        carrier=carrier,
        account_number=draw(st.from_regex(r"0[0-9]{8}", fullmatch=True)),
        invoice_number=number,
        invoice_date=draw(days),
        events=tuple(items),
        file_format=file_format,
    )


def _row(invoice: Invoice, event: BillingEvent, **values: Any) -> dict[str, Any]:
    has_weight = event.billed_weight is not None or event.entered_weight is not None
    base = {
        "carrier": event.carrier,
        "account_number": invoice.account_number,
        "invoice_number": invoice.invoice_number,
        "invoice_date": invoice.invoice_date,
        "tracking_number": event.tracking_number,
        "tracking_corrupted": False,
        "ship_date": event.ship_date,
        "delivery_date": event.delivery_date,
        "service": event.service,
        "charge_category": event.charge_category,
        "billed_weight": event.billed_weight,
        "entered_weight": event.entered_weight,
        "weight_unit": event.weight_unit if has_weight else None,
        "rated_on_dim": event.rated_on_dim,
        "label_status": None,
    }
    base.update(values)
    return base


def expected_lines(
    invoice: Invoice, file_format: str, *, net_convention: str = "transportation_plus_charges"
) -> pl.DataFrame:
    """The lines a reader must return for ``invoice`` written in ``file_format``."""
    rows: list[dict[str, Any]] = []
    for event in invoice.events:
        charges = list(event.charges)
        if file_format == "fedex_fbo":
            dims = event.dimensions
            on_dim = event.rated_on_dim
            if dims is not None and event.billed_weight is not None:
                # the reader infers dimensional rating from the dims (divisor 139)
                dim_weight = math.ceil(dims[0] * dims[1] * dims[2] / 139)
                actual = event.entered_weight
                on_dim = on_dim or (
                    dim_weight == event.billed_weight
                    and actual is not None
                    and event.billed_weight > math.ceil(actual)
                )
            for charge in charges:
                text = charge.description
                if charge.charge_type == "transportation" and (
                    net_convention == "transportation_plus_charges"
                ):
                    text = "Transportation Charge"
                rows.append(_row(invoice, event, charge_type=charge.charge_type,
                                 charge_description=text, amount=charge.amount,
                                 rated_on_dim=on_dim))  # fmt: skip
        elif file_format == "ups_billing_data":
            # weights and the service travel on the package's freight-class row (a correction
            # or refund of the freight names the service too)
            freight = [c for c in charges if c.charge_type in ("transportation", "refund")]
            weighed = bool(freight) and event.tracking_number is not None
            no_weights = {"billed_weight": None, "entered_weight": None, "weight_unit": None,
                          "rated_on_dim": False}  # fmt: skip
            for charge in charges:
                rows.append(_row(invoice, event, charge_type=charge.charge_type,
                                 charge_description=charge.description, amount=charge.amount,
                                 service=event.service if freight or event.charge_category in (
                                     "shipment", "return") else None,
                                 **({} if weighed else no_weights)))  # fmt: skip
        elif file_format == "dhl_express":
            transport = sum(
                (c.amount for c in charges if c.charge_type == "transportation"), Decimal(0)
            )
            discounts = sum((c.amount for c in charges if c.charge_type == "discount"), Decimal(0))
            rows.append(_row(invoice, event, charge_type="transportation",
                             charge_description="Weight Charge", amount=transport))  # fmt: skip
            for charge in charges:
                if charge.charge_type not in ("transportation", "discount"):
                    rows.append(_row(invoice, event, charge_type=charge.charge_type,
                                     charge_description=charge.description,
                                     amount=charge.amount))  # fmt: skip
            if discounts:
                rows.append(_row(invoice, event, charge_type="discount",
                                 charge_description="Discount", amount=discounts))  # fmt: skip
        elif file_format in ("shipstation", "easypost"):
            ounces = (
                None if event.entered_weight is None
                else round(event.entered_weight * {"oz": 1, "lb": 16}[event.weight_unit], 1)
            )  # fmt: skip
            common = {
                "account_number": None, "invoice_number": None, "billed_weight": None,
                "delivery_date": None,
                "entered_weight": ounces, "weight_unit": "oz" if ounces is not None else None,
                "rated_on_dim": False,
            }  # fmt: skip
            if event.charge_category == "adjustment":
                for charge in charges:
                    rows.append(_row(invoice, event, **common, charge_type="adjustment",
                                     charge_description=charge.description,
                                     amount=charge.amount))  # fmt: skip
                continue
            status = event.label_status
            if file_format == "shipstation":  # the export knows voided labels only
                status = "voided" if status in ("voided", "refunded") else None
            if file_format == "easypost" and status == "voided":
                status = "refunded"
            label = {**common, "invoice_date": event.ship_date, "label_status": status}
            postage = sum(
                (c.amount for c in charges if c.charge_type == "transportation"), Decimal(0)
            )
            rows.append(_row(invoice, event, **label, charge_type="transportation",
                             charge_description="Postage", amount=postage))  # fmt: skip
            total = postage
            for charge in charges:
                if charge.charge_type == "other":
                    rows.append(_row(invoice, event, **label, charge_type="other",
                                     charge_description=charge.description,
                                     amount=charge.amount))  # fmt: skip
                    total += charge.amount
            if status in ("voided", "refunded"):
                # ShipStation dates the refund by its void date (the writer's invoice date);
                # EasyPost's shipment report has no refund date: the label date stands
                refund_date = invoice.invoice_date if file_format == "shipstation" else None
                refund = {**label, "invoice_date": refund_date or event.ship_date}
                rows.append(_row(invoice, event, **refund, charge_category="void",
                                 charge_type="refund", charge_description="Postage Refund",
                                 amount=-total))  # fmt: skip
        else:
            for charge in charges:
                rows.append(_row(invoice, event, charge_type=charge.charge_type,
                                 charge_description=charge.description, amount=charge.amount,
                                 label_status=event.label_status))  # fmt: skip
    frame = pl.DataFrame(
        rows,
        schema={
            "carrier": pl.Utf8, "account_number": pl.Utf8, "invoice_number": pl.Utf8,
            "invoice_date": pl.Date, "tracking_number": pl.Utf8, "tracking_corrupted": pl.Boolean,
            "ship_date": pl.Date, "delivery_date": pl.Date, "service": pl.Utf8,
            "charge_category": pl.Utf8, "charge_type": pl.Utf8, "charge_description": pl.Utf8,
            "amount": pl.Decimal(38, 2), "billed_weight": pl.Float64,
            "entered_weight": pl.Float64, "weight_unit": pl.Utf8, "rated_on_dim": pl.Boolean,
            "label_status": pl.Utf8,
        },
    )  # fmt: skip
    return normalise(frame)


def normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame``'s comparable columns, rounded where files round, in a fixed order."""
    return (
        frame.select(COMPARE)
        .with_columns(pl.col("billed_weight", "entered_weight").round(1))
        .sort(COMPARE, nulls_last=True)
    )
