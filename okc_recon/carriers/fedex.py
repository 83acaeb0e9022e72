"""FedEx Billing Online (FBO) "All Columns" CSV/XLSX download (carrier-formats §2.1, §4).

One row per tracking ID per invoice, a header row, columns found by header name because the
layout varies (156 columns with 25 charge pairs, 210 with ``Consolidated Account Number``,
``MPS Package ID`` and 51 pairs, …). The repeated ``Tracking ID Charge Description`` /
``Tracking ID Charge Amount`` pairs are read by position: every column from the first
description on, two at a time, while the header says so. Empty pairs between filled ones
are normal (each charge type can keep its own slot).

Each row becomes one charge line per non-empty pair, plus the ``Transportation Charge
Amount`` as a line of its own when the row's net follows the first of FedEx's two
conventions:

- ``Net Charge Amount = Transportation Charge Amount + Σ pairs`` (discounts negative), or
- ``Net Charge Amount = Σ pairs``, where a pair is the transportation charge itself; adding
  ``Transportation Charge Amount`` on top would count it twice.

Each row is checked against both, to the cent; a row that fits neither is rejected with both
sums in the reason, so nothing is billed twice or silently dropped. Invoice-level columns
(``Original Amount Due``, ``Current Balance``) repeat on every row and are never summed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import polars as pl

from okc_recon.carriers import _fields as f
from okc_recon.carriers._fields import Parsed
from okc_recon.carriers._text import Source, read_rows
from okc_recon.carriers.charges import charge_type_from_text
from okc_recon.carriers.services import ServiceMap, normalize_service
from okc_recon.money import MONEY

__all__ = ["FORMAT", "edi_header", "parse", "sniff"]

logger = logging.getLogger("okc_recon")

FORMAT = "fedex_fbo"

_REQUIRED = ("invoice number", "express or ground tracking id", "net charge amount")

# schema role -> header names (normalised) it may have
_COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("bill to account number",),
    "invoice_date": ("invoice date",),
    "invoice_number": ("invoice number",),
    "payor": ("payor",),
    "prefix": ("ground tracking id prefix",),
    "tid": ("express or ground tracking id",),
    "tca": ("transportation charge amount",),
    "net": ("net charge amount",),
    "service_type": ("service type",),
    "ground_service": ("ground service",),
    "ship_date": ("shipment date",),
    "pod_date": ("pod delivery date",),
    "pod_time": ("pod delivery time",),
    "actual_weight": ("actual weight amount",),
    "actual_units": ("actual weight units",),
    "rated_weight": ("rated weight amount",),
    "rated_units": ("rated weight units",),
    "dim_length": ("dim length",),
    "dim_width": ("dim width",),
    "dim_height": ("dim height",),
    "dim_divisor": ("dim divisor",),
    "rated_method": ("rated method",),
    "xref_prefix": ("crossreftrackingid prefix",),
    "xref": ("crossreftrackingid",),
    "currency": ("invoice currency code", "currency code", "currency"),
}

_DESC_RE = re.compile(r"^tracking id charge description(?:[ ._(]*\d+\)?)?$")
_AMT_RE = re.compile(r"^tracking id charge amount(?:[ ._(]*\d+\)?)?$")


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("\ufeff", "").strip().strip('"').lower())


def _find_header(source: Source) -> tuple[int, list[str]] | None:
    for line, row in zip(source.head_lines, source.head, strict=True):
        names = [_norm(c) for c in row]
        if all(r in names for r in _REQUIRED) and any(_DESC_RE.match(n) for n in names):
            return line, list(row)
    return None


#: Headings of FedEx's EDI "CSV selectable" invoice (carrier-formats §2.1): one record per
#: tracking number with fixed amount columns, a different file from the FBO download.
_EDI_HEADINGS = ("net chrg", "freight amt", "fuel amt", "resi amt", "das amt", "earned disc",
                 "vol disc", "inv charge")  # fmt: skip


def edi_header(source: Source) -> tuple[str, ...] | None:
    """The header row when ``source`` looks like a FedEx EDI CSV invoice, else ``None``."""
    for row in source.head[:5]:
        names = {_norm(c) for c in row}
        if "tracking number" in names and len(names & set(_EDI_HEADINGS)) >= 2:
            return row
    return None


def sniff(source: Source) -> str | None:
    """``None`` when ``source`` is an FBO download, else why not."""
    if _find_header(source) is None:
        if edi_header(source) is not None:
            return (
                "this is a FedEx EDI CSV invoice ('Net Chrg', 'Freight Amt'… one record per "
                "tracking number), not the FedEx Billing Online 'All Columns' download "
                "okc-recon reads (FBO → Reporting → Create Report → All Columns → CSV)"
            )
        return (
            "no header row with 'Invoice Number', 'Express or Ground Tracking ID', "
            "'Net Charge Amount' and 'Tracking ID Charge Description' columns"
        )
    return None


def _pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    normed = [_norm(n) for n in names]
    start = next(i for i, n in enumerate(normed) if _DESC_RE.match(n))
    pairs = []
    i = start
    while i + 1 < len(normed) and _DESC_RE.match(normed[i]) and _AMT_RE.match(normed[i + 1]):
        pairs.append((i, i + 1))
        i += 2
    return pairs


def parse(source: Source, *, service_map: ServiceMap | None = None) -> Parsed:
    """Read an FBO download. See the module docstring for the rules."""
    found = _find_header(source)
    assert found is not None, "sniff() first"
    header_line, names = found
    normed = [_norm(n) for n in names]
    index: dict[str, int] = {}
    for role, candidates in _COLUMNS.items():
        for candidate in candidates:
            if candidate in normed:
                index[role] = normed.index(candidate)
                break
    pairs = _pairs(names)
    wanted = sorted({0, *index.values(), *(p for pair in pairs for p in pair)})
    rows, broken = read_rows(
        source, columns=wanted, ncols=len(names) + 1, first_line=header_line + 1
    )

    def c(role: str) -> pl.Expr:
        if role not in index:
            return pl.lit(None, dtype=pl.Utf8)
        return pl.col(f"c{index[role]}")

    amounts = [f"_a{k}" for k in range(len(pairs))]
    base = rows.select(
        pl.col("_line"),
        pl.col("c0").alias("_first"),
        c("account").alias("account_number"),
        c("invoice_date").alias("_invoice_date_raw"),
        c("invoice_number").alias("invoice_number"),
        c("prefix").alias("_prefix"),
        c("tid").alias("_tid"),
        c("tca").alias("_tca"),
        c("net").alias("_net"),
        c("tca").alias("_tca_raw"),
        c("net").alias("_net_raw"),
        *[pl.col(f"c{d}").alias(f"_d{k}") for k, (d, _) in enumerate(pairs)],
        *[pl.col(f"c{a}").alias(f"_a{k}") for k, (_, a) in enumerate(pairs)],
        *[pl.col(f"c{a}").alias(f"_a{k}_raw") for k, (_, a) in enumerate(pairs)],
    )
    strip = lambda e: e.str.strip_chars()  # noqa: E731
    base = base.with_columns(
        f.lookup(base, "account_number", strip, pl.Utf8()).alias("account_number"),
        f.lookup(base, "invoice_number", strip, pl.Utf8()).alias("invoice_number"),
    )
    base = f.money_columns(base, ["_tca", "_net", *amounts])
    zero = pl.lit(0).cast(MONEY)
    pair_sum = f.money_sum(amounts)
    tca = pl.col("_tca").fill_null(zero)
    bad_amount = [pl.col(f"{a}_raw").is_not_null() & pl.col(a).is_null() for a in amounts]
    orphan_amount = [
        pl.col(f"_d{k}").is_null() & pl.col(f"_a{k}").is_not_null() & (pl.col(f"_a{k}") != 0)
        for k in range(len(pairs))
    ]
    base = base.with_columns(
        f.lookup(base, "_invoice_date_raw", f.parse_date, pl.Date()).alias("invoice_date"),
        pair_sum.alias("_pair_sum"),
        pl.any_horizontal(pl.col(f"_d{k}").is_not_null() for k in range(len(pairs))).alias(
            "_has_pairs"
        )
        if pairs
        else pl.lit(False).alias("_has_pairs"),
    ).with_columns(
        ((tca + pl.col("_pair_sum")).cast(MONEY) == pl.col("_net")).alias("_fits_a"),
        (pl.col("_pair_sum") == pl.col("_net")).alias("_fits_b"),
    )
    reason = (
        pl.when(f.is_total_row(pl.col("_first")))
        .then(f.total_row_reason(pl.col("_first")))
        .when(
            pl.col("invoice_number").is_null()
            & pl.col("_tid").is_null()
            & pl.col("_net_raw").is_null()
        )
        .then(pl.lit("not a FedEx charge row: no invoice number, tracking ID or net charge"))
        .when(pl.col("invoice_number").is_null())
        .then(pl.lit("no Invoice Number"))
        .when(pl.col("invoice_date").is_null())
        .then(pl.format("Invoice Date {} is not a date", pl.col("_invoice_date_raw").fill_null("")))
        .when(pl.col("_net").is_null())
        .then(
            pl.format(
                "Net Charge Amount {} is not an amount", pl.col("_net_raw").fill_null("(empty)")
            )
        )
        .when(pl.col("_tca_raw").is_not_null() & pl.col("_tca").is_null())
        .then(pl.format("Transportation Charge Amount {} is not an amount", pl.col("_tca_raw")))
        .when(pl.any_horizontal(bad_amount) if bad_amount else pl.lit(False))
        .then(pl.lit("a Tracking ID Charge Amount is not an amount"))
        .when(pl.any_horizontal(orphan_amount) if orphan_amount else pl.lit(False))
        .then(pl.lit("a Tracking ID Charge Amount has no description"))
        .when(~pl.col("_fits_a") & ~pl.col("_fits_b"))
        .then(
            pl.format(
                "Net Charge Amount {} equals neither Transportation Charge Amount + charges ({}) "
                "nor the charges alone ({})",
                pl.col("_net"),
                (tca + pl.col("_pair_sum")).cast(MONEY),
                pl.col("_pair_sum"),
            )
        )
    )
    base = base.with_columns(reason.alias("_reason"))
    rejected = pl.concat(
        [
            base.filter(pl.col("_reason").is_not_null()).select(
                "_line",
                pl.lit(None, dtype=pl.Utf8).alias("raw"),
                pl.col("_reason").alias("reason"),
            ),
            broken,
        ]
    ).sort("_line")
    ok = base.get_column("_reason").is_null()
    good = (
        base.filter(ok)
        .drop("_reason", "_first", "_tca_raw", "_net_raw", *[f"{a}_raw" for a in amounts])
        .with_row_index("_row")
    )
    charges = _charge_lines(good, len(pairs))
    details = _row_columns(rows.filter(ok), index, service_map, good)
    # rows and their details are aligned: give each charge line its row's values by position
    lines = pl.concat(
        [charges, details.select(pl.all().gather(charges.get_column("_row")))],
        how="horizontal",
    )
    lines = lines.with_columns(
        pl.when((pl.col("_row_category") == "shipment") & ~pl.col("_has_transport"))
        .then(pl.lit("adjustment"))
        .otherwise(pl.col("_row_category"))
        .alias("charge_category"),
    ).rename({"_line": "source_line"})
    lines = f.finish(lines, source_file=source.name, service_map=service_map)
    lines_in = rows.height + broken.height
    return Parsed(lines, rejected, lines_in, lines_in - rejected.height)


def _row_columns(
    rows: pl.DataFrame,
    index: dict[str, int],
    service_map: ServiceMap | None,
    good: pl.DataFrame,
) -> pl.DataFrame:
    """Row-level values every charge line of a row shares, one row per good data row."""

    def c(role: str) -> pl.Expr:
        if role not in index:
            return pl.lit(None, dtype=pl.Utf8)
        return pl.col(f"c{index[role]}")

    frame = rows.select(
        c("prefix").alias("_prefix"),
        c("tid").alias("_tid"),
        c("service_type").alias("_service_type"),
        c("ground_service").alias("_ground_service"),
        c("ship_date").alias("_ship_date"),
        c("pod_date").alias("_pod_date"),
        c("pod_time").alias("_pod_time"),
        c("actual_weight").alias("_actual_weight"),
        c("actual_units").alias("_actual_units"),
        c("rated_weight").alias("_rated_weight"),
        c("rated_units").alias("_rated_units"),
        c("dim_length").alias("_dim_l"),
        c("dim_width").alias("_dim_w"),
        c("dim_height").alias("_dim_h"),
        c("dim_divisor").alias("_dim_div"),
        c("rated_method").alias("_rated_method"),
        c("xref_prefix").alias("_xref_prefix"),
        c("xref").alias("_xref"),
        c("currency").alias("currency"),
    )
    frame = pl.concat(
        [frame, good.select("account_number", "invoice_number", "invoice_date")],
        how="horizontal",
    )
    utf8 = pl.Utf8()
    actual_unit = f.lookup(frame, "_actual_units", f.weight_unit, utf8)
    rated_unit = f.lookup(frame, "_rated_units", f.weight_unit, utf8)
    frame = frame.with_columns(
        actual_unit.alias("_actual_unit"),
        pl.coalesce(rated_unit, actual_unit).alias("_unit"),
        f.parse_weight(pl.col("_actual_weight")).alias("_actual"),
        f.parse_weight(pl.col("_rated_weight")).alias("billed_weight"),
        f.lookup(frame, "_ship_date", f.parse_date, pl.Date()).alias("ship_date"),
        f.lookup(frame, "_pod_date", f.parse_date, pl.Date()).alias("delivery_date"),
        f.lookup(frame, "_pod_time", f.parse_time, pl.Time()).alias("delivery_time"),
    )
    factor = {"lb": 1.0, "kg": 2.20462262185, "oz": 1 / 16, "g": 0.00220462262185}
    # Entered weight in the billed weight's unit when the two differ (rare, but real).
    to_lb = pl.col("_actual_unit").replace_strict(factor, default=None, return_dtype=pl.Float64)
    from_lb = pl.col("_unit").replace_strict(factor, default=None, return_dtype=pl.Float64)
    actual = pl.col("_actual")
    rated = pl.col("billed_weight")
    dims = [f.parse_weight(pl.col(n)) for n in ("_dim_l", "_dim_w", "_dim_h")]
    dim_weight = (dims[0] * dims[1] * dims[2] / f.parse_weight(pl.col("_dim_div"))).ceil()
    rated_on_dim = pl.col("_rated_method").str.to_lowercase().str.contains("dim").fill_null(
        False
    ) | ((dim_weight == rated) & (rated > actual.ceil())).fill_null(False)
    prefix = pl.col("_prefix")
    tid = pl.col("_tid")
    xref = pl.concat_str([pl.col("_xref_prefix"), pl.col("_xref")], ignore_nulls=True)

    def service(service_type: pl.Expr, ground: pl.Expr) -> pl.Expr:
        # "Home Delivery" / "Ground Economy" say more than "FedEx Ground"; "Return Manager" less.
        return pl.coalesce(
            normalize_service(pl.lit("fedex"), ground, service_map),
            normalize_service(pl.lit("fedex"), service_type, service_map),
        )

    def is_return(service_type: pl.Expr, ground: pl.Expr) -> pl.Expr:
        text = pl.concat_str([service_type, ground], ignore_nulls=True)
        return text.str.to_lowercase().str.contains("return").fill_null(False)

    frame = f.classify(frame, ["_service_type", "_ground_service"], service, "service")
    frame = f.classify(frame, ["_service_type", "_ground_service"], is_return, "_is_return")
    frame = frame.with_columns(
        pl.lit("fedex").alias("carrier"),
        pl.when(prefix.is_not_null() & tid.is_not_null())
        .then(pl.concat_str([prefix, tid], separator=" "))
        .otherwise(tid)
        .alias("tracking_number"),
        pl.when(pl.col("_xref").is_not_null())
        .then(xref)
        .when(prefix.is_not_null() & tid.is_not_null())
        .then(pl.concat_str([prefix, tid]))
        .alias("_alt"),
        pl.concat_str(
            [pl.col("_service_type"), pl.col("_ground_service")], separator=" / ", ignore_nulls=True
        ).alias("service_description"),
        pl.when(tid.is_null())
        .then(pl.lit("invoice"))
        .when(pl.col("_is_return"))
        .then(pl.lit("return"))
        .otherwise(pl.lit("shipment"))
        .alias("_row_category"),
        pl.when(pl.col("_actual_unit") == pl.col("_unit"))
        .then(actual)
        .otherwise(actual * to_lb / from_lb)
        .alias("entered_weight"),
        pl.when(rated.is_not_null() | actual.is_not_null())
        .then(pl.col("_unit"))
        .alias("weight_unit"),
        rated_on_dim.alias("rated_on_dim"),
        pl.col("currency").fill_null(pl.lit("USD")),
    )
    frame = f.tracking_columns(frame)
    return frame.select(
        "carrier", "account_number", "invoice_number", "invoice_date",
        "tracking_number", "tracking_key", "alt_tracking_key", "tracking_corrupted",
        "ship_date", "delivery_date", "delivery_time", "service", "service_description",
        "_row_category", "billed_weight", "entered_weight", "weight_unit", "rated_on_dim",
        "currency",
    )  # fmt: skip


def _charge_lines(good: pl.DataFrame, n_pairs: int) -> pl.DataFrame:
    """One row per charge: ``_line``, ``_order``, description, amount, type, category."""
    zero = pl.lit(0).cast(MONEY)
    lazy = good.lazy()
    parts = [
        lazy.filter(
            pl.col("_fits_a") & ((pl.col("_tca").fill_null(zero) != 0) | ~pl.col("_has_pairs"))
        ).select(
            "_line",
            "_row",
            pl.lit(-1, dtype=pl.Int16).alias("_order"),
            pl.lit("Transportation Charge").alias("charge_description"),
            pl.col("_tca").fill_null(zero).alias("amount"),
        )
    ]
    for k in range(n_pairs):
        parts.append(
            lazy.filter(pl.col(f"_d{k}").is_not_null()).select(
                "_line",
                "_row",
                pl.lit(k, dtype=pl.Int16).alias("_order"),
                pl.col(f"_d{k}").alias("charge_description"),
                pl.col(f"_a{k}").fill_null(zero).alias("amount"),
            )
        )
    lines = pl.concat(parts).collect()
    # A few dozen distinct descriptions: classify (and strip) each once, then look them up.
    texts = pl.concat(
        [good.get_column(f"_d{k}").drop_nulls().unique() for k in range(n_pairs)]
        + [pl.Series(["Transportation Charge"])]
    ).unique()
    table = pl.DataFrame({"raw": texts}).with_columns(
        pl.col("raw").str.strip_chars().alias("text"),
        charge_type_from_text(pl.col("raw").str.strip_chars()).alias("type"),
    )
    lines = lines.with_columns(
        pl.col("charge_description").replace_strict(table["raw"], table["text"]),
        pl.when(pl.col("_order") == -1)
        .then(pl.lit("transportation"))
        .otherwise(pl.col("charge_description").replace_strict(table["raw"], table["type"]))
        .alias("charge_type"),
    )
    # A row that bills no transportation is a post-shipment adjustment (an address
    # correction, a GSR credit… on a later invoice).
    billed = lines.filter(pl.col("charge_type") == "transportation").get_column("_line").unique()
    return lines.with_columns(pl.col("_line").is_in(billed.implode()).alias("_has_transport"))
