"""USPS postage through a postage tool: ShipStation and EasyPost shipment exports
(carrier-formats §2.4).

USPS sends most shippers no parcel invoice: postage is bought label by label and corrected
afterwards by APV adjustments. The exports list one row per label; columns are found by
header name (the aliases below cover the UI exports and the API field names).

- A label gives a ``Postage`` line (transportation) and, when not zero, ``Insurance`` and
  ``Label Fee`` lines; ``charge_category`` is ``return`` for return labels.
- Weights are ounces (ShipStation ``Weight (oz)`` or a weight-unit column; EasyPost
  ``weight``), kept as the entered weight: the tools do not report a billed weight.
- ``label_status``: ShipStation ``Voided`` → ``voided``; EasyPost ``refund_status``
  submitted / refunded / rejected → ``refund_submitted`` / ``refunded`` /
  ``refund_rejected``. A voided or refunded label also gives a refund line
  (``charge_category="void"``, ``charge_type="refund"``) that cancels its charges, dated
  the void date when there is one: the money came back. Submitted or rejected refunds did not.
- Adjustment records (APV, adjustment processing fees), exported with the labels and marked
  by a ``Transaction Type`` (ShipStation) or ``type`` (EasyPost) of ``Adjustment``/``APV…``,
  are ``charge_category="adjustment"`` lines dated by their transaction date.
- The invoice date of a label is its label date (postage is charged when the label is
  bought); these exports carry no invoice number, so ``invoice_number`` is null unless the
  file has an invoice/statement column.
"""

from __future__ import annotations

import re

import polars as pl

from okc_recon.carriers import _fields as f
from okc_recon.carriers._fields import Parsed
from okc_recon.carriers._text import Source, read_rows
from okc_recon.carriers.charges import charge_type_from_text
from okc_recon.carriers.services import ServiceMap, normalize_carrier
from okc_recon.money import MONEY

__all__ = [
    "EASYPOST",
    "EASYPOST_COLUMNS",
    "SHIPSTATION",
    "SHIPSTATION_COLUMNS",
    "parse_easypost",
    "parse_shipstation",
    "sniff_easypost",
    "sniff_shipstation",
]

SHIPSTATION = "shipstation"
EASYPOST = "easypost"

#: role -> accepted header names (normalised: lower case, single spaces)
SHIPSTATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "tracking": ("tracking number", "tracking #", "tracking no", "trackingnumber",
                 "parceltrackingnumber", "tracking"),
    "postage": ("shipment cost", "shipmentcost", "carrier fee", "shipping cost", "label cost",
                "postage cost", "postage", "cost", "amount"),
    "insurance": ("insurance cost", "insurancecost", "insurance"),
    "carrier": ("carrier", "carrier code", "carriercode", "provider"),
    "service": ("service", "service code", "servicecode", "shipping service"),
    "label_date": ("ship date", "shipdate", "date shipped", "label date", "create date",
                   "createdate"),
    "weight": ("weight (oz)", "weight oz", "weight", "weight value", "weight.value"),
    "weight_unit": ("weight unit", "weight units", "weight.units", "weightunits"),
    "voided": ("voided", "void", "is voided"),
    "void_date": ("void date", "voiddate", "voided date"),
    "is_return": ("is return label", "return label", "isreturnlabel", "is return"),
    "kind": ("transaction type", "transactiontype", "record type", "type"),
    "txn_date": ("transaction date", "transaction time", "transactiondatetime", "adjustment date",
                 "posted date"),
    "reason": ("adjustment reason", "reason", "description"),
    "account": ("account number", "account", "carrier account"),
    "invoice": ("invoice number", "invoice #", "statement number", "invoice"),
    "refund_status": ("refund status", "refundstatus"),
}  # fmt: skip

EASYPOST_COLUMNS: dict[str, tuple[str, ...]] = {
    "tracking": ("tracking_code", "tracking code"),
    "postage": ("postage_fee", "rate"),
    "insurance": ("insurance_fee",),
    "label_fee": ("label_fee",),
    "carrier": ("carrier",),
    "service": ("service",),
    "label_date": ("postage_label_created_at", "created_at"),
    "weight": ("weight",),
    "is_return": ("is_return",),
    "refund_status": ("refund_status",),
    "kind": ("type", "record_type"),
    "txn_date": ("adjusted_at", "transaction_date", "created_at"),
    "reason": ("adjustment_reason", "reason", "description"),
    "account": ("carrier_account_id", "account"),
    "invoice": ("invoice_id", "invoice_number"),
}

_STATUS = {
    "submitted": "refund_submitted",
    "refund_submitted": "refund_submitted",
    "pending": "refund_submitted",
    "requested": "refund_submitted",
    "refunded": "refunded",
    "accepted": "refunded",
    "rejected": "refund_rejected",
    "denied": "refund_rejected",
    "not_applicable": None,
    "": None,
}


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("\ufeff", "").strip().strip('"').lower())


def _locate(
    source: Source, aliases: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> tuple[int, dict[str, int]] | None:
    for line, row in zip(source.head_lines, source.head, strict=True):
        names = [_norm(c) for c in row]
        index: dict[str, int] = {}
        for role, candidates in aliases.items():
            for candidate in candidates:
                if candidate in names:
                    index[role] = names.index(candidate)
                    break
        if all(r in index for r in required):
            return line, index
    return None


def sniff_shipstation(source: Source) -> str | None:
    """``None`` when ``source`` is a ShipStation shipments export, else why not."""
    found = _locate(source, SHIPSTATION_COLUMNS, ("tracking", "postage", "carrier"))
    if found is None:
        return "no header row with 'Tracking Number', 'Shipment Cost' and 'Carrier' columns"
    return None


def sniff_easypost(source: Source) -> str | None:
    """``None`` when ``source`` is an EasyPost shipment report, else why not."""
    found = _locate(source, EASYPOST_COLUMNS, ("tracking", "postage", "label_date"))
    if found is None:
        return (
            "no header row with 'tracking_code', 'postage_fee' or 'rate', and "
            "'postage_label_created_at' or 'created_at' columns"
        )
    return None


def parse_shipstation(source: Source, *, service_map: ServiceMap | None = None) -> Parsed:
    """Read a ShipStation shipments export. See the module docstring."""
    found = _locate(source, SHIPSTATION_COLUMNS, ("tracking", "postage", "carrier"))
    assert found is not None, "sniff_shipstation() first"
    return _parse(source, *found, service_map=service_map)


def parse_easypost(source: Source, *, service_map: ServiceMap | None = None) -> Parsed:
    """Read an EasyPost shipment report. See the module docstring."""
    found = _locate(source, EASYPOST_COLUMNS, ("tracking", "postage", "label_date"))
    assert found is not None, "sniff_easypost() first"
    return _parse(source, *found, service_map=service_map)


#: What a row is, from its transaction type (``Transaction Type``, EasyPost ``type``, Pitney
#: Bowes ``transactionType``): checked in order on the lower-cased text, first match wins;
#: anything else (``Label``, ``POSTAGE PRINT``, empty) is a label.
_KINDS: tuple[tuple[str, str], ...] = (
    ("fund", r"\bfund\b|deposit|recharge|refill|postage purchase"),  # money into the account
    ("fee", r"\bfees?\b"),
    ("refund", r"refund|\bvoid"),
    ("adjustment", r"adjust|\bapv\b|underpaid|overpaid|dispute|\bdebit\b|\bcredit\b"),
)
# Transaction types say which way the money went; amounts are often unsigned.
_CREDIT = r"overpaid|refund|\bvoid|\bcredit\b"  # back to the shipper: negative
_DEBIT = r"underpaid|\bdebit\b|\bfees?\b"  # billed: positive


def _kind(text: pl.Expr) -> pl.Expr:
    key = text.str.to_lowercase()
    result: pl.Expr = pl.lit("label")
    for kind, pattern in reversed(_KINDS):
        result = pl.when(key.str.contains(pattern)).then(pl.lit(kind)).otherwise(result)
    return pl.when(key.is_null()).then(pl.lit("label")).otherwise(result)


def _parse(
    source: Source, header_line: int, index: dict[str, int], *, service_map: ServiceMap | None
) -> Parsed:
    header = source.head[source.head_lines.index(header_line)]
    rows, broken = read_rows(
        source,
        columns=sorted({0, *index.values()}),
        ncols=len(header),
        first_line=header_line + 1,
    )

    def c(role: str) -> pl.Expr:
        return pl.col(f"c{index[role]}") if role in index else pl.lit(None, dtype=pl.Utf8)

    weight_header = _norm(header[index["weight"]]) if "weight" in index else ""
    header_unit = "lb" if "(lb" in weight_header else "oz"
    frame = rows.select(
        "_line",
        pl.col("c0").alias("_first"),
        c("tracking").alias("_tid"),
        c("carrier").alias("carrier"),
        c("service").alias("service_description"),
        c("label_date").alias("_label_date"),
        c("txn_date").alias("_txn_date"),
        c("void_date").alias("_void_date"),
        c("weight").alias("_weight"),
        c("weight_unit").alias("_weight_unit"),
        c("voided").alias("_voided"),
        c("refund_status").alias("_refund_status"),
        c("is_return").alias("_is_return"),
        c("kind").alias("_kind_text"),
        c("reason").alias("_reason_text"),
        c("account").alias("account_number"),
        c("invoice").alias("invoice_number"),
        c("postage").alias("_postage"),
        c("insurance").alias("_insurance"),
        c("label_fee").alias("_label_fee"),
    )
    money = ["_postage", "_insurance", "_label_fee"]
    raw = frame.select(pl.col(m).alias(f"{m}_raw") for m in money)
    frame = f.money_columns(pl.concat([frame, raw], how="horizontal"), money)
    utf8 = pl.Utf8()
    kind_key = pl.col("_kind_text").str.to_lowercase()
    frame = frame.with_columns(
        f.lookup(frame, "_kind_text", _kind, utf8).alias("_kind"),
        f.lookup(frame, "carrier", normalize_carrier, utf8).alias("_carrier"),
        f.lookup(frame, "_label_date", f.parse_date, pl.Date()).alias("_label"),
        f.lookup(frame, "_txn_date", f.parse_date, pl.Date()).alias("_txn"),
        f.lookup(frame, "_void_date", f.parse_date, pl.Date()).alias("_void"),
        kind_key.str.contains(_CREDIT).fill_null(False).alias("_credit"),
        kind_key.str.contains(_DEBIT).fill_null(False).alias("_debit"),
    )
    is_label = pl.col("_kind") == "label"
    bad_money = pl.any_horizontal(
        pl.col(f"{m}_raw").is_not_null() & pl.col(m).is_null() for m in money
    )
    # EasyPost lists shipments created while rate shopping too: no label, no money, nothing
    # billed. Refills of the postage account are money in, not a shipping cost.
    no_label = (
        is_label
        & pl.col("_tid").is_null()
        & pl.col("_label_date").is_null()
        & pl.all_horizontal(pl.col(f"{m}_raw").is_null() for m in money)
    )
    frame = frame.with_columns((no_label | (pl.col("_kind") == "fund")).alias("_nothing"))
    reason = (
        pl.when(f.is_total_row(pl.col("_first")))
        .then(f.total_row_reason(pl.col("_first")))
        .when(pl.col("_nothing"))
        .then(None)
        .when(bad_money)
        .then(pl.lit("an amount is not a number"))
        .when(pl.col("_postage").is_null())
        .then(pl.lit("no postage amount"))
        .when(pl.coalesce(pl.col("_txn"), pl.col("_label")).is_null())
        .then(
            pl.format("no usable date (label date {})", pl.col("_label_date").fill_null("(empty)"))
        )
        .when(is_label & pl.col("_tid").is_null())
        .then(pl.lit("a label without a tracking number"))
    )
    frame = frame.with_columns(reason.alias("_reason"))
    good = frame.filter(pl.col("_reason").is_null() & ~pl.col("_nothing"))
    rejected = pl.concat(
        [
            frame.filter(pl.col("_reason").is_not_null()).select(
                "_line", pl.lit(None, dtype=pl.Utf8).alias("raw"), pl.col("_reason").alias("reason")
            ),
            broken,
        ]
    ).sort("_line")
    unit = f.weight_unit(pl.col("_weight_unit"), default=header_unit)
    weight = f.parse_weight(pl.col("_weight"))
    status = (
        pl.when(f.flag(pl.col("_voided")).fill_null(False))
        .then(pl.lit("voided"))
        .otherwise(
            pl.col("_refund_status")
            .str.to_lowercase()
            .str.strip_chars()
            .replace_strict(_STATUS, default=None, return_dtype=pl.Utf8)
        )
    )
    postage = pl.col("_postage")
    signed = (
        pl.when(pl.col("_credit") & (postage > 0))
        .then(-postage)
        .when(pl.col("_debit") & (postage < 0))
        .then(-postage)
        .otherwise(postage)
        .cast(MONEY)
    )
    is_label = pl.col("_kind") == "label"
    shared = good.with_columns(
        pl.coalesce(pl.col("_carrier"), pl.lit("usps")).alias("carrier"),
        pl.col("_tid").alias("tracking_number"),
        pl.col("service_description").alias("_service_text"),
        pl.col("_label").alias("ship_date"),
        pl.when(is_label)
        .then(pl.coalesce(pl.col("_label"), pl.col("_txn")))
        .otherwise(pl.coalesce(pl.col("_txn"), pl.col("_label")))
        .alias("invoice_date"),
        weight.alias("entered_weight"),
        pl.when(weight.is_not_null()).then(unit).alias("weight_unit"),
        pl.lit(False).alias("rated_on_dim"),
        pl.when(is_label).then(status).alias("label_status"),
        pl.when(f.flag(pl.col("_is_return")).fill_null(False))
        .then(pl.lit("return"))
        .otherwise(pl.lit("shipment"))
        .alias("_label_category"),
        signed.alias("_signed"),
        pl.lit("USD").alias("currency"),
        pl.col("_line").alias("source_line"),
    )
    keep = [
        "carrier", "account_number", "invoice_number", "invoice_date", "tracking_number",
        "_tid", "ship_date", "service_description", "_service_text", "entered_weight",
        "weight_unit", "rated_on_dim", "label_status", "currency", "source_line",
    ]  # fmt: skip
    labels = shared.filter(pl.col("_kind") == "label")
    others = shared.filter(pl.col("_kind") != "label")
    zero = pl.lit(0).cast(MONEY)
    text = pl.coalesce(pl.col("_reason_text"), pl.col("_kind_text"))
    text_type = charge_type_from_text(text)
    parts = [
        # A label on the shipper's own FedEx/UPS account costs nothing here (postage_fee 0):
        # the carrier bills it. No zero "Postage" line for it.
        labels.filter((postage != 0) | (pl.col("carrier") == "usps")).select(
            *keep,
            pl.col("_label_category").alias("charge_category"),
            pl.lit("transportation").alias("charge_type"),
            pl.lit("Postage").alias("charge_description"),
            postage.alias("amount"),
            pl.lit(0).alias("_order"),
        ),
        labels.filter(pl.col("_insurance").fill_null(zero) != 0).select(
            *keep,
            pl.col("_label_category").alias("charge_category"),
            pl.lit("other").alias("charge_type"),
            pl.lit("Insurance").alias("charge_description"),
            pl.col("_insurance").alias("amount"),
            pl.lit(1).alias("_order"),
        ),
        labels.filter(pl.col("_label_fee").fill_null(zero) != 0).select(
            *keep,
            pl.col("_label_category").alias("charge_category"),
            pl.lit("other").alias("charge_type"),
            pl.lit("Label Fee").alias("charge_description"),
            pl.col("_label_fee").alias("amount"),
            pl.lit(2).alias("_order"),
        ),
        labels.filter(pl.col("label_status").is_in(["voided", "refunded"])).select(
            *[k for k in keep if k != "invoice_date"],
            pl.coalesce(pl.col("_void"), pl.col("invoice_date")).alias("invoice_date"),
            pl.lit("void").alias("charge_category"),
            pl.lit("refund").alias("charge_type"),
            pl.lit("Postage Refund").alias("charge_description"),
            (
                -(
                    postage.fill_null(zero)
                    + pl.col("_insurance").fill_null(zero)
                    + pl.col("_label_fee").fill_null(zero)
                )
            )
            .cast(MONEY)
            .alias("amount"),
            pl.lit(3).alias("_order"),
        ),
        # Adjustments (APV under/overpaid, disputes, credit/debit), refunds and fees recorded
        # as transactions of their own, signed by what their type says.
        others.select(
            *keep,
            pl.when(pl.col("_kind") == "refund")
            .then(pl.lit("void"))
            .when((pl.col("_kind") == "fee") & pl.col("_tid").is_null())
            .then(pl.lit("invoice"))
            .otherwise(pl.lit("adjustment"))
            .alias("charge_category"),
            pl.when(pl.col("_kind") == "refund")
            .then(pl.lit("refund"))
            .when(pl.col("_kind") == "fee")
            .then(pl.lit("other"))
            .when(text_type.is_in(["other", "transportation"]))
            .then(pl.lit("adjustment"))
            .otherwise(text_type)
            .alias("charge_type"),
            text.fill_null(pl.lit("APV Adjustment")).alias("charge_description"),
            pl.col("_signed").alias("amount"),
            pl.lit(0).alias("_order"),
        ),
    ]
    lines = pl.concat([p.select(parts[0].columns) for p in parts])
    lines = f.finish(lines, source_file=source.name, service_map=service_map)
    lines_in = rows.height + broken.height
    return Parsed(lines, rejected, lines_in, lines_in - rejected.height)
