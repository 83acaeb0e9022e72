"""The frames okc-recon passes between its layers, and the vocabularies their columns use.

These schemas are the contract between the client, the invoice readers, the checks, the
reconciliation and the exporters: every producer returns exactly these columns, in this
order, with these dtypes (:func:`conform` enforces it), and every consumer may rely on them.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from okc_recon.money import MONEY

__all__ = [
    "CARRIERS",
    "CHARGE_CATEGORIES",
    "CHARGE_TYPES",
    "FULFILLMENT_SCHEMA",
    "INVOICE_FILE_SCHEMA",
    "INVOICE_LINE_SCHEMA",
    "REJECTED_FULFILLMENT_SCHEMA",
    "REJECTED_LINE_SCHEMA",
    "UTC_DATETIME",
    "WEIGHT_UNITS",
    "conform",
    "empty",
]

UTC_DATETIME = pl.Datetime("us", "UTC")

#: Normalised carrier names (``carrier`` columns).
CARRIERS = ("fedex", "ups", "usps", "dhl", "other")

#: Normalised charge types (``charge_type`` of an invoice line).
CHARGE_TYPES = (
    "transportation",
    "fuel",
    "residential",
    "delivery_area",
    "address_correction",
    "additional_handling",
    "dimensional",
    "signature",
    "saturday",
    "discount",
    "adjustment",
    "refund",
    "tax",
    "other",
)

#: What kind of billing event an invoice line belongs to (``charge_category``):
#: ``shipment`` the original charge for an outbound parcel, ``return`` a return label,
#: ``adjustment`` a post-shipment correction or credit (UPS ADJ, FedEx later-invoice lines,
#: USPS APV), ``void`` a voided/refunded label, ``invoice`` money billed at invoice level
#: that belongs to no shipment (service charges, payment fees).
CHARGE_CATEGORIES = ("shipment", "return", "adjustment", "void", "invoice")

#: Weight units a weight column may be in.
WEIGHT_UNITS = ("lb", "oz", "kg", "g")

#: One row per OKC fulfillment (SPEC §3).
FULFILLMENT_SCHEMA: Mapping[str, pl.DataType] = {
    "fulfillment_id": pl.Utf8(),
    "order_id": pl.Utf8(),
    "consumer_id": pl.Utf8(),
    "status_id": pl.Utf8(),  # OKC sends int or str; kept as text
    "status": pl.Utf8(),  # name from /v2/statuses, null when not resolved
    "shipping_carrier": pl.Utf8(),  # as given
    "carrier": pl.Utf8(),  # one of CARRIERS
    "shipping_method": pl.Utf8(),  # as given, may be a code like FE10
    "service": pl.Utf8(),  # normalised service name, null when unknown
    "tracking_number": pl.Utf8(),  # as given
    "tracking_key": pl.Utf8(),  # normalised (carriers.tracking), null when unusable
    "tracking_url": pl.Utf8(),
    "shipment_order_id": pl.Utf8(),
    "shipment_order_number": pl.Utf8(),
    "shipping_net_charge": MONEY,
    "shipping_charge_model": pl.Utf8(),  # lower case: flat_rate, cost_plus
    "weight": pl.Float64(),  # unit not published by OKC; see Settings.weight_unit
    "pickup_date": UTC_DATETIME,
    "delivery_date": UTC_DATETIME,
    "created_at": UTC_DATETIME,
    "updated_at": UTC_DATETIME,
    "order_line_count": pl.Int32(),
    "order_line_names": pl.Utf8(),  # names joined with "; "
}

#: Fulfillment records that could not be turned into a row, with why.
REJECTED_FULFILLMENT_SCHEMA: Mapping[str, pl.DataType] = {
    "fulfillment_id": pl.Utf8(),  # null when the record had no usable id
    "order_id": pl.Utf8(),
    "reason": pl.Utf8(),
    "raw": pl.Utf8(),  # the record as JSON, label_url removed
}

#: One row per carrier charge line (SPEC §4).
INVOICE_LINE_SCHEMA: Mapping[str, pl.DataType] = {
    "carrier": pl.Utf8(),  # one of CARRIERS
    "account_number": pl.Utf8(),
    "invoice_number": pl.Utf8(),
    "invoice_date": pl.Date(),
    "tracking_number": pl.Utf8(),  # raw, as in the file (prefix kept when the file has one)
    "tracking_key": pl.Utf8(),  # normalised; null when missing or corrupted
    "alt_tracking_key": pl.Utf8(),  # FedEx CrossRefTrackingID, UPS lead shipment number
    "tracking_corrupted": pl.Boolean(),  # Excel float artifact (7.9464E+11, …0.0)
    "ship_date": pl.Date(),
    "delivery_date": pl.Date(),  # POD date when the file gives one
    "delivery_time": pl.Time(),  # POD time (local to the destination) when given
    "service": pl.Utf8(),  # normalised service name, null when unknown
    "service_description": pl.Utf8(),  # raw service text/code from the file
    "charge_category": pl.Utf8(),  # one of CHARGE_CATEGORIES
    "charge_type": pl.Utf8(),  # one of CHARGE_TYPES
    "charge_code": pl.Utf8(),  # carrier's own code when given (UPS RES, FSC, …)
    "charge_description": pl.Utf8(),  # raw
    "amount": MONEY,  # credits negative
    "currency": pl.Utf8(),
    "billed_weight": pl.Float64(),
    "entered_weight": pl.Float64(),
    "weight_unit": pl.Utf8(),  # one of WEIGHT_UNITS for both weights
    "rated_on_dim": pl.Boolean(),  # billed on dimensional weight
    "label_status": pl.Utf8(),  # postage tools: voided, refunded, refund_submitted, refund_rejected
    "source_file": pl.Utf8(),
    "source_line": pl.Int64(),  # 1-based physical line (row for xlsx) in source_file
}

#: Invoice lines that could not be read, with why (lines in = parsed + rejected).
REJECTED_LINE_SCHEMA: Mapping[str, pl.DataType] = {
    "source_file": pl.Utf8(),
    "source_line": pl.Int64(),
    "format": pl.Utf8(),
    "reason": pl.Utf8(),
    "raw": pl.Utf8(),
}

#: One row per invoice file read.
INVOICE_FILE_SCHEMA: Mapping[str, pl.DataType] = {
    "source_file": pl.Utf8(),
    "format": pl.Utf8(),
    "encoding": pl.Utf8(),
    "sha256": pl.Utf8(),
    "lines_in": pl.Int64(),  # data lines (header and blank lines excluded)
    "lines_parsed": pl.Int64(),  # lines that produced charge lines
    "lines_rejected": pl.Int64(),
    "charge_lines": pl.Int64(),  # rows in .lines (a FedEx line yields several)
    "resent_lines": pl.Int64(),  # lines of invoices already read from another file, left out
    "duplicate_of": pl.Utf8(),  # the file this one (or its invoices) repeats
}


def empty(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with ``schema``."""
    return pl.DataFrame(schema=dict(schema))


def conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with exactly ``schema``'s columns, in order: missing ones null, dtypes cast.

    Casting is strict, so a value that does not fit its dtype raises instead of turning null.
    """
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )
