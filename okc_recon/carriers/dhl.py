"""DHL Express invoice CSV/XLSX (carrier-formats §2.5; limited public evidence, LOW–MED).

The first line is a summary record, not a header: ``H``, bill date, invoice number, account
number, account name, (blank), the warehouse address in five fields (7–11), the invoice
total (12), the currency (13) and the number of shipments (14) (1-based positions). Detail
lines follow without a header, one per shipment (air waybill), ``D`` first:

=====  ==========================================================================
 pos   field (0-based)
=====  ==========================================================================
 1     waybill number
 2     shipment date
 3     product code (``P`` Express Worldwide, ``K`` 9:00, ``T`` 12:00, ``N`` domestic…)
 4     product name
 5     pieces
 6/7   origin / destination (IATA station or country)
 8     declared weight (kg)
 9     billed weight (kg)
 10    weight flag: ``A`` actual, ``V`` volumetric (billed on dimensional weight)
 11    delivery date
 12    currency
 13    weight charge (transportation)
 14–31 ``XC1`` … ``XC9`` extra charges: name, amount (empty slots allowed)
 32    discount (negative)
 33    total charge of the shipment
 34    shipper reference
=====  ==========================================================================

Each shipment gives a transportation line, one line per filled ``XC`` slot and one for a
non-zero discount; a line whose total is not their sum is rejected. The invoice number,
date and account come from the summary line; the summary total is checked, never added.
Weights are kilograms.
"""

from __future__ import annotations

import logging
import re

import polars as pl

from okc_recon.carriers import _fields as f
from okc_recon.carriers._fields import Parsed
from okc_recon.carriers._text import Source, read_rows
from okc_recon.carriers.charges import charge_type_from_text
from okc_recon.carriers.services import ServiceMap
from okc_recon.money import MONEY, to_decimal

__all__ = ["DETAIL_WIDTH", "FORMAT", "SUMMARY_WIDTH", "XC_SLOTS", "parse", "sniff"]

logger = logging.getLogger("okc_recon")

FORMAT = "dhl_express"
XC_SLOTS = 9
DETAIL_WIDTH = 35
SUMMARY_WIDTH = 14
_FIRST_XC = 14
_DATE_RE = re.compile(r"^(\d{8}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})")


def _summary(source: Source) -> tuple[str, ...] | None:
    if not source.head:
        return None
    first = source.head[0]
    if len(first) >= 12 and first[0].upper() == "H" and _DATE_RE.match(first[1]) and first[2]:
        return first
    return None


def sniff(source: Source) -> str | None:
    """``None`` when ``source`` is a DHL Express invoice file, else why not."""
    if _summary(source) is None:
        return (
            "the first line is not a DHL summary record ('H', bill date, invoice number, "
            "account, …)"
        )
    details = [row for row in source.head[1:] if row and row[0].upper() == "D"]
    if source.head[1:] and not details:
        return "no 'D' shipment lines follow the summary record"
    return None


def parse(source: Source, *, service_map: ServiceMap | None = None) -> Parsed:
    """Read a DHL Express invoice file. See the module docstring for the layout."""
    summary = _summary(source)
    assert summary is not None, "sniff() first"
    summary_line = source.head_lines[0]
    xc = [(_FIRST_XC + 2 * k, _FIRST_XC + 2 * k + 1) for k in range(XC_SLOTS)]
    rows, broken = read_rows(
        source, columns=list(range(DETAIL_WIDTH)), ncols=DETAIL_WIDTH, first_line=summary_line + 1
    )
    invoice_date = pl.select(f.parse_date(pl.lit(summary[1]))).item()
    amount_cols = ["c13", "c32", "c33", *[f"c{a}" for _, a in xc]]
    raw = rows.select([pl.col(c).alias(f"{c}_raw") for c in amount_cols])
    frame = f.money_columns(pl.concat([rows, raw], how="horizontal"), amount_cols)
    zero = pl.lit(0).cast(MONEY)
    parts_sum = f.money_sum(["c13", "c32", *[f"c{a}" for _, a in xc]])
    bad_amount = pl.any_horizontal(
        pl.col(f"{c}_raw").is_not_null() & pl.col(c).is_null() for c in amount_cols
    )
    reason = (
        pl.when(pl.col("c0").str.to_uppercase() != "D")
        .then(pl.lit("not a DHL shipment line (does not start with D)"))
        .when(pl.col("c1").is_null())
        .then(pl.lit("no waybill number"))
        .when(bad_amount)
        .then(pl.lit("an amount is not a number"))
        .when(pl.col("c33").is_null())
        .then(pl.lit("no total charge"))
        .when(parts_sum != pl.col("c33"))
        .then(
            pl.format(
                "total {} is not weight charge + extra charges + discount ({})",
                pl.col("c33"),
                parts_sum,
            )
        )
    )
    frame = frame.with_columns(reason.alias("_reason"))
    good = frame.filter(pl.col("_reason").is_null())
    rejected = pl.concat(
        [
            frame.filter(pl.col("_reason").is_not_null()).select(
                "_line", pl.lit(None, dtype=pl.Utf8).alias("raw"), pl.col("_reason").alias("reason")
            ),
            broken,
        ]
    ).sort("_line")
    stated = to_decimal(summary[11]) if len(summary) > 11 else None
    billed = good["c33"].sum() if good.height else None
    if stated is not None and billed is not None and stated != billed:
        logger.warning(
            "%s: DHL invoice %s states a total of %s, its shipment lines sum to %s",
            source.path.name, summary[2], stated, billed,
        )  # fmt: skip
    billed_weight = f.parse_weight(pl.col("c9"))
    entered_weight = f.parse_weight(pl.col("c8"))
    shared = good.with_columns(
        pl.lit("dhl").alias("carrier"),
        pl.lit(summary[3] or None, dtype=pl.Utf8).alias("account_number"),
        pl.lit(summary[2], dtype=pl.Utf8).alias("invoice_number"),
        pl.lit(invoice_date, dtype=pl.Date).alias("invoice_date"),
        pl.col("c1").alias("tracking_number"),
        pl.col("c1").alias("_tid"),
        f.parse_date(pl.col("c2")).alias("ship_date"),
        f.parse_date(pl.col("c11")).alias("delivery_date"),
        pl.col("c4").alias("service_description"),
        pl.coalesce(pl.col("c3"), pl.col("c4")).alias("_service_text"),
        pl.lit("shipment").alias("charge_category"),
        billed_weight.alias("billed_weight"),
        entered_weight.alias("entered_weight"),
        pl.when(billed_weight.is_not_null() | entered_weight.is_not_null())
        .then(pl.lit("kg"))
        .alias("weight_unit"),
        (pl.col("c10").str.to_uppercase() == "V").fill_null(False).alias("rated_on_dim"),
        pl.coalesce(pl.col("c12"), pl.lit(summary[12] if len(summary) > 12 else None)).alias(
            "currency"
        ),
        pl.col("_line").alias("source_line"),
    )
    keep = [
        "carrier", "account_number", "invoice_number", "invoice_date", "tracking_number",
        "_tid", "ship_date", "delivery_date", "service_description", "_service_text",
        "charge_category", "billed_weight", "entered_weight", "weight_unit", "rated_on_dim",
        "currency", "source_line",
    ]  # fmt: skip
    parts = [
        shared.select(
            *keep,
            pl.lit("Weight Charge").alias("charge_description"),
            pl.lit("transportation").alias("charge_type"),
            pl.col("c13").fill_null(zero).alias("amount"),
            pl.lit(-1).alias("_order"),
        )
    ]
    for k, (name, amount) in enumerate(xc):
        parts.append(
            shared.filter(
                pl.col(f"c{name}").is_not_null() | pl.col(f"c{amount}").is_not_null()
            ).select(
                *keep,
                pl.col(f"c{name}").fill_null(pl.lit(f"XC{k + 1}")).alias("charge_description"),
                charge_type_from_text(pl.col(f"c{name}")).fill_null("other").alias("charge_type"),
                pl.col(f"c{amount}").fill_null(zero).alias("amount"),
                pl.lit(k).alias("_order"),
            )
        )
    parts.append(
        shared.filter(pl.col("c32").is_not_null() & (pl.col("c32") != 0)).select(
            *keep,
            pl.lit("Discount").alias("charge_description"),
            pl.lit("discount").alias("charge_type"),
            pl.col("c32").alias("amount"),
            pl.lit(XC_SLOTS).alias("_order"),
        )
    )
    lines = pl.concat(parts)
    lines = f.finish(lines, source_file=source.name, service_map=service_map)
    lines_in = rows.height + broken.height
    return Parsed(lines, rejected, lines_in, lines_in - rejected.height)
