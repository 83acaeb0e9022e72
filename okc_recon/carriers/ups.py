"""UPS Billing Data CSV/XLSX (carrier-formats §2.3, §4): no header, positional, one row per
charge.

Version 2.1 rows have about 250 fields (older ones 244, and any row may be shorter: missing
fields read as empty). Positions used (0-based): 2 account, 4 invoice date, 5 invoice
number, 9 currency, 10 invoice amount (checked, never summed), 11 transaction date, 13 lead
shipment number, 20 tracking number, 26/27 entered weight and unit, 28/29 billed weight and
unit (``L``/``K``/``O``), 31 billed weight type, 34/35 charge category and detail codes, 43
charge classification code, 44/45 charge description code and text, 52 net amount, 116
shipment date, 121 delivery date.

- ``INF`` (informational) rows carry no money: they are read and counted, but give no
  charge line.
- ``ADJ`` category rows and the adjustment detail codes (``ADC``, ``RADJ``, ``SCC``, ``GSR``…)
  are ``charge_category="adjustment"``; ``MIS`` rows and rows without a tracking number
  (service charges, payment fees) are ``"invoice"`` lines: money billed at invoice level.
- The tracking number is position 20, falling back to the lead shipment number (13) only
  when 20 is empty; the lead number is also the line's ``alt_tracking_key``.
- The service is read from the freight (``FRT``) row's code or text and given to the
  package's other rows on the same invoice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import polars as pl

from okc_recon.carriers import _fields as f
from okc_recon.carriers._fields import Parsed
from okc_recon.carriers._text import Source, read_rows
from okc_recon.carriers.charges import (
    charge_type_from_text,
    ups_charge_category,
    ups_charge_type,
    ups_code_type,
)
from okc_recon.carriers.services import ServiceMap, normalize_service
from okc_recon.money import MONEY

__all__ = ["FORMAT", "POSITIONS", "WIDTH", "parse", "sniff"]

logger = logging.getLogger("okc_recon")

FORMAT = "ups_billing_data"

#: Field positions (0-based) the reader uses.
POSITIONS: dict[str, int] = {
    "version": 0,
    "account_number": 2,
    "invoice_date": 4,
    "invoice_number": 5,
    "currency": 9,
    "invoice_amount": 10,
    "transaction_date": 11,
    "lead_shipment_number": 13,
    "package_quantity": 18,
    "tracking_number": 20,
    "entered_weight": 26,
    "entered_unit": 27,
    "billed_weight": 28,
    "billed_unit": 29,
    "billed_weight_type": 31,
    "charge_category_code": 34,
    "charge_category_detail_code": 35,
    "charge_classification_code": 43,
    "charge_description_code": 44,
    "charge_description": 45,
    "incentive_amount": 51,
    "net_amount": 52,
    "shipment_date": 116,
    "delivery_date": 121,
    "misc_line_1": 174,
    "misc_line_2": 175,
    "misc_line_3": 176,
}
#: Fields in a version 2.1 row.
WIDTH = 250

_CLASSIFICATIONS = ("FRT", "FSC", "ACC", "GOV", "BRK", "TAX", "EXM", "MSC", "INF")
_VERSION_RE = re.compile(r"^\d{1,2}\.\d{1,2}$")
# ISO as UPS writes it; m/d/yyyy once Excel has opened and saved the file
_DATE_RE = re.compile(r"^(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})")
# Shipping charge corrections state the weights in Miscellaneous Line 1/2 (174/175):
# "ENTERED WEIGHT: 5.0 KGS", "AUDITED WEIGHT: 10.5 KGS".
_MISC_WEIGHT = r"(?i){}\s+WEIGHT\s*:?\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Z]+)"
_DIM_WEIGHT_TYPES = ["2", "02", "7", "07", "9", "09"]


def _looks_like_row(row: tuple[str, ...]) -> bool:
    return (
        len(row) > POSITIONS["net_amount"]
        and bool(_VERSION_RE.match(row[0]))
        and bool(_DATE_RE.match(row[POSITIONS["invoice_date"]]))
        and row[POSITIONS["charge_classification_code"]].upper() in _CLASSIFICATIONS
    )


def _header_line(source: Source) -> int:
    """The line of a header row someone pasted on top (UPS ships none), or 0.

    UPS publishes the column names separately ("Billing Data Dictionary"); analysts often
    paste them above the data. That row is a header, not a rejected line.
    """
    for line, row in zip(source.head_lines[:3], source.head[:3], strict=True):
        first = row[0].strip().lower() if row else ""
        invoice = row[POSITIONS["invoice_number"]].strip().lower() if len(row) > 5 else ""
        if first == "version" and "invoice" in invoice:
            return line
    return 0


def sniff(source: Source) -> str | None:
    """``None`` when ``source`` is UPS Billing Data, else why not."""
    if not source.head:
        return "the file has no rows"
    # One row that fits is proof enough (a version, an ISO date at 4 and a classification
    # code at 43 do not happen by chance); junk or damaged rows nearby are the reader's job.
    if any(_looks_like_row(row) for row in source.head):
        return None
    first = source.head[0]
    return (
        "rows do not look like UPS Billing Data (no header; a version like '2.1' first, an "
        "ISO invoice date at position 5, a charge classification code like FRT at position "
        f"44); the first row has {len(first)} fields starting {', '.join(first[:3])!r}"
    )


#: The positions parse reads (the writers place the others too).
_READ = [
    "version", "account_number", "invoice_date", "invoice_number", "currency",
    "invoice_amount", "transaction_date", "lead_shipment_number", "tracking_number",
    "entered_weight", "entered_unit", "billed_weight", "billed_unit", "billed_weight_type",
    "charge_category_code", "charge_category_detail_code", "charge_classification_code",
    "charge_description_code", "charge_description", "net_amount", "shipment_date",
    "delivery_date", "misc_line_1", "misc_line_2",
]  # fmt: skip


# columns parse needs for its checks only
_SCRATCH = ["_version", "_versioned", "_invoice_date", "_invoice_amount_raw",
            "_invoice_amount", "_amount_raw"]  # fmt: skip


def parse(source: Source, *, service_map: ServiceMap | None = None) -> Parsed:
    """Read a UPS Billing Data file. See the module docstring for the rules."""
    p = POSITIONS
    header = _header_line(source)
    rows, broken = read_rows(
        source, columns=[p[name] for name in _READ], ncols=WIDTH, first_line=header + 1
    )

    def c(name: str) -> pl.Expr:
        return pl.col(f"c{p[name]}")

    # Identifiers and codes: stripping each value is cheaper than looking up distinct ones.
    frame = rows.select(
        pl.col("_line").alias("source_line"),
        c("version").alias("_version"),
        c("account_number").str.strip_chars().alias("account_number"),
        c("invoice_date").alias("_invoice_date"),
        c("invoice_number").str.strip_chars().alias("invoice_number"),
        c("currency").str.strip_chars().alias("currency"),
        c("invoice_amount").alias("_invoice_amount_raw"),
        c("transaction_date").alias("_transaction_date"),
        c("lead_shipment_number").alias("_lead"),
        c("tracking_number").alias("_tracking"),
        c("entered_weight").alias("_entered_weight"),
        c("entered_unit").alias("_entered_unit"),
        c("billed_weight").alias("_billed_weight"),
        c("billed_unit").alias("_billed_unit"),
        c("billed_weight_type").str.strip_chars().alias("_billed_type"),
        c("charge_category_code").str.strip_chars().str.to_uppercase().alias("_category_code"),
        c("charge_category_detail_code").str.strip_chars().str.to_uppercase().alias("_detail_code"),
        c("charge_classification_code").str.strip_chars().str.to_uppercase().alias("_class"),
        c("charge_description_code").str.strip_chars().alias("charge_code"),
        c("charge_description").str.strip_chars().alias("charge_description"),
        c("net_amount").alias("amount"),
        c("net_amount").alias("_amount_raw"),
        c("shipment_date").alias("_shipment_date"),
        c("delivery_date").alias("_delivery_date"),
        pl.concat_str(
            [c("misc_line_1"), c("misc_line_2")], separator=" | ", ignore_nulls=True
        ).alias("_misc"),
    )
    frame = f.money_columns(frame, ["amount"])
    frame = frame.with_columns(
        f.lookup(frame, "_invoice_date", f.parse_date, pl.Date()).alias("invoice_date"),
        f.lookup(frame, "_invoice_amount_raw", f.money, MONEY).alias("_invoice_amount"),
        f.lookup(frame, "_version", lambda e: e.str.contains(_VERSION_RE.pattern), pl.Boolean())
        .fill_null(False)
        .alias("_versioned"),
    )
    ok, failed = f.first_failure(
        frame.rename({"source_line": "_line"}),
        [
            (f.is_total_row(pl.col("_version")), f.total_row_reason(pl.col("_version"))),
            (
                ~pl.col("_versioned"),
                pl.lit("not a UPS Billing Data row: position 1 is not a version like 2.1"),
            ),
            (pl.col("invoice_number").is_null(), pl.lit("no Invoice Number (position 6)")),
            (
                pl.col("invoice_date").is_null(),
                pl.format(
                    "Invoice Date {} (position 5) is not a date",
                    pl.col("_invoice_date").fill_null("(empty)"),
                ),
            ),
            (
                ~pl.col("_class").is_in(_CLASSIFICATIONS).fill_null(False),
                pl.format(
                    "unknown Charge Classification Code {} (position 44)",
                    pl.col("_class").fill_null("(empty)"),
                ),
            ),
            (
                pl.col("amount").is_null(),
                pl.format(
                    "Net Amount {} (position 53) is not an amount",
                    pl.col("_amount_raw").fill_null("(empty)"),
                ),
            ),
        ],
    )
    good = f.keep(frame, ok)
    rejected = pl.concat(
        [failed.select("_line", pl.lit(None, dtype=pl.Utf8).alias("raw"), "reason"), broken]
    ).sort("_line")
    _check_invoice_totals(good, source)
    is_inf = good.get_column("_class") == "INF"
    informational = good.select("source_line", "invoice_number", "amount").filter(is_inf)
    nonzero_inf = informational.filter(pl.col("amount") != 0).height
    if nonzero_inf:
        logger.warning(
            "%s: %d INF (informational) rows carry a non-zero Net Amount; INF rows are never "
            "billed money, so they were left out",
            source.path.name,
            nonzero_inf,
        )
    # only what the charge lines need is carried on (and copied by the filter)
    lines = _lines(f.keep(good.drop(_SCRATCH), ~is_inf), service_map)
    lines = f.finish(lines, source_file=source.name, service_map=service_map, ordered=True)
    lines_in = rows.height + broken.height
    silent = informational.select("source_line", pl.lit("ups").alias("carrier"), "invoice_number")
    return Parsed(lines, rejected, lines_in, lines_in - rejected.height, silent)


def _misc_weight(kind: str, part: int) -> Callable[[pl.Expr], pl.Expr]:
    """From Miscellaneous Line text, the ``kind`` (ENTERED/AUDITED) weight (1) or unit (2)."""
    pattern = _MISC_WEIGHT.format(kind)

    def extract(text: pl.Expr) -> pl.Expr:
        found = text.str.extract(pattern, part)
        return found.cast(pl.Float64, strict=False) if part == 1 else f.weight_unit(found)

    return extract


def _check_invoice_totals(good: pl.DataFrame, source: Source) -> None:
    """Warn when an invoice's lines do not add up to the Invoice Amount it repeats."""
    totals = (
        good.select("invoice_number", "amount", "_invoice_amount")
        .group_by("invoice_number")
        .agg(pl.col("amount").sum().alias("lines"), pl.col("_invoice_amount").first())
        .filter(
            pl.col("_invoice_amount").is_not_null() & (pl.col("lines") != pl.col("_invoice_amount"))
        )
    )
    for number, lines, stated in totals.head(5).iter_rows():  # at most five warnings
        logger.warning(
            "%s: UPS invoice %s lines sum to %s but its Invoice Amount is %s "
            "(rejected rows or a partial download?)",
            source.path.name, number, lines, stated,
        )  # fmt: skip


def _lines(good: pl.DataFrame, service_map: ServiceMap | None) -> pl.DataFrame:
    tracking = pl.coalesce(pl.col("_tracking"), pl.col("_lead"))
    frame = good.with_columns(
        tracking.alias("tracking_number"),
        tracking.alias("_tid"),
        pl.col("_lead").alias("_alt"),
        tracking.is_not_null().alias("_has_tracking"),
    )
    # Codes, units, dates and descriptions repeat on every row: what takes work (matching
    # texts) is done once per distinct value (f.lookup); comparing codes is done per row.
    utf8 = pl.Utf8()
    frame = frame.with_columns(
        ups_charge_category(
            pl.col("_category_code"), pl.col("_detail_code"), pl.col("_has_tracking"), upper=True
        ).alias("charge_category"),
        f.lookup(frame, "charge_description", charge_type_from_text, utf8).alias("_text_type"),
        f.lookup(frame, "charge_code", ups_code_type, utf8).alias("_code_type"),
        pl.coalesce(
            f.lookup(frame, "charge_code", _service_of(service_map), utf8),
            f.lookup(frame, "charge_description", _service_of(service_map), utf8),
        ).alias("_service"),
    )
    frame = frame.with_columns(
        ups_charge_type(
            pl.col("_class"),
            pl.col("charge_code"),
            pl.col("_detail_code"),
            pl.col("charge_description"),
            pl.col("charge_category"),
            text_type=pl.col("_text_type"),
            code_type=pl.col("_code_type"),
            upper=True,
        ).alias("charge_type")
    )
    date = pl.Date()
    entered_unit = f.lookup(frame, "_entered_unit", f.weight_unit, utf8)
    billed_unit = f.lookup(frame, "_billed_unit", f.weight_unit, utf8)
    frame = f.weight_columns(
        frame, {"_entered_weight": "_own_entered", "_billed_weight": "_own_billed"}
    )
    own_entered = pl.col("_own_entered")
    own_billed = pl.col("_own_billed")
    misc = {
        (kind, part): f.lookup(frame, "_misc", _misc_weight(kind, part), dtype)
        for kind in ("ENTERED", "AUDITED")
        for part, dtype in ((1, pl.Float64()), (2, utf8))
    }
    # A correction row without weights of its own states them in its Miscellaneous Lines.
    from_misc = (
        own_entered.is_null()
        & own_billed.is_null()
        & (misc["ENTERED", 1].is_not_null() | misc["AUDITED", 1].is_not_null())
    )
    frame = frame.with_columns(
        pl.when(from_misc).then(misc["ENTERED", 2]).otherwise(entered_unit).alias("_entered_u"),
        pl.when(from_misc)
        .then(pl.coalesce(misc["AUDITED", 2], misc["ENTERED", 2]))
        .otherwise(pl.coalesce(billed_unit, entered_unit))
        .alias("_unit"),
        pl.when(from_misc).then(misc["ENTERED", 1]).otherwise(own_entered).alias("_entered"),
        pl.when(from_misc).then(misc["AUDITED", 1]).otherwise(own_billed).alias("billed_weight"),
        f.lookup(frame, "_shipment_date", f.parse_date, date).alias("_ship"),
        f.lookup(frame, "_transaction_date", f.parse_date, date).alias("_txn"),
        f.lookup(frame, "_delivery_date", f.parse_date, date).alias("delivery_date"),
        f.lookup(frame, "_billed_type", lambda e: e.is_in(_DIM_WEIGHT_TYPES), pl.Boolean())
        .fill_null(False)
        .alias("rated_on_dim"),
    )
    factor = {"lb": 1.0, "kg": 2.20462262185, "oz": 1 / 16, "g": 0.00220462262185}
    entered = pl.col("_entered")
    converted = (
        entered
        * pl.col("_entered_u").replace_strict(factor, default=None, return_dtype=pl.Float64)
        / pl.col("_unit").replace_strict(factor, default=None, return_dtype=pl.Float64)
    )
    # a correction or refund of the freight names the service too (003 Ground, 013 NDA Saver)
    is_freight = pl.col("_class") == "FRT"
    frame = frame.with_columns(
        pl.lit("ups").alias("carrier"),
        pl.when(pl.col("_has_tracking")).then(pl.coalesce("_ship", "_txn")).alias("ship_date"),
        pl.when(pl.col("_entered_u") == pl.col("_unit"))
        .then(entered)
        .otherwise(converted)
        .alias("entered_weight"),
        pl.when(pl.col("billed_weight").is_not_null() | entered.is_not_null())
        .then(pl.col("_unit"))
        .alias("weight_unit"),
        pl.when(is_freight).then(pl.col("_service")).alias("_frt_service"),
        pl.when(is_freight).then(pl.col("charge_description")).alias("_frt_text"),
    )
    # Weights and the service sit on the package's freight row; every charge line of the
    # package on the same invoice carries them, as FedEx rows do.
    return _share_package_values(frame)


def _share_package_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Each row with the service, weights and dimensional flag of its package (tracking
    number on an invoice): the first given on any of the package's rows.

    A package's rows follow each other in UPS files, so the rows are taken in runs of one
    package (comparing neighbours costs next to nothing) and only runs are grouped; the
    runs of a package that comes back later in the file are then grouped by their text.
    """
    group = ["invoice_number", "tracking_number"]
    shared = ["service", "service_description", "billed_weight", "entered_weight",
              "weight_unit", "rated_on_dim"]  # fmt: skip
    values = [
        pl.col("_frt_service").drop_nulls().first().alias("service"),
        pl.col("_frt_text").drop_nulls().first().alias("service_description"),
        pl.col("billed_weight").drop_nulls().first(),
        pl.col("entered_weight").drop_nulls().first(),
        pl.col("weight_unit").drop_nulls().first(),
        pl.col("rated_on_dim").any(),
    ]
    frame = frame.with_columns(
        pl.struct(group).rle_id().alias("_run"),
        pl.when(pl.col("_has_tracking")).then(pl.col("rated_on_dim")).alias("rated_on_dim"),
    )
    per_run = frame.group_by("_run", maintain_order=True).agg(pl.col(group).first(), *values)
    tracked = per_run.filter(pl.col("tracking_number").is_not_null())
    if tracked.select(pl.struct(group).is_duplicated().any()).item():
        # a package split over several runs: its runs share what any of them has
        again = per_run.rename({"service": "_frt_service", "service_description": "_frt_text"})
        package = again.group_by(group).agg(*values)
        per_run = per_run.select("_run", *group).join(
            package, on=group, how="left", maintain_order="left", nulls_equal=True
        )
    taken = per_run.select(
        pl.when(pl.col("tracking_number").is_not_null()).then(pl.col(c)).alias(c) for c in shared
    )
    return (
        frame.drop(shared, strict=False)
        .with_columns(taken.get_column(c).gather(frame["_run"]).alias(c) for c in shared)
        .with_columns(pl.col("rated_on_dim").fill_null(False))
    )


def _service_of(service_map: ServiceMap | None) -> Callable[[pl.Expr], pl.Expr]:
    def service(text: pl.Expr) -> pl.Expr:
        return normalize_service(pl.lit("ups"), text, service_map)

    return service
