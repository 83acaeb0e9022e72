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

__all__ = ["FORMAT", "parse", "sniff"]

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


def sniff(source: Source) -> str | None:
    """``None`` when ``source`` is an FBO download, else why not."""
    if _find_header(source) is None:
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
    wanted = sorted({*index.values(), *(p for pair in pairs for p in pair)})
    rows, broken = read_rows(
        source, columns=wanted, ncols=len(names) + 1, first_line=header_line + 1
    )

    def c(role: str) -> pl.Expr:
        return pl.col(f"c{index[role]}") if role in index else pl.lit(None, dtype=pl.Utf8)

    desc_cols = [f"c{d}" for d, _ in pairs]
    amt_cols = [f"c{a}" for _, a in pairs]
    base = rows.select(
        pl.col("_line"),
        c("account").alias("account_number"),
        c("invoice_date").alias("_invoice_date_raw"),
        c("invoice_number").alias("invoice_number"),
        c("prefix").alias("_prefix"),
        c("tid").alias("_tid"),
        c("tca").alias("_tca"),
        c("net").alias("_net"),
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
        *[pl.col(d).alias(f"_d{k}") for k, d in enumerate(desc_cols)],
        *[pl.col(a).alias(f"_a{k}") for k, a in enumerate(amt_cols)],
    )
    amounts = [f"_a{k}" for k in range(len(pairs))]
    raw_amounts = base.select(
        pl.col("_tca").alias("_tca_raw"),
        pl.col("_net").alias("_net_raw"),
        *[pl.col(a).alias(f"{a}_raw") for a in amounts],
    )
    base = f.money_columns(
        pl.concat([base, raw_amounts], how="horizontal"), ["_tca", "_net", *amounts]
    )
    bad_amount = [pl.col(f"{a}_raw").is_not_null() & pl.col(a).is_null() for a in amounts]
    orphan_amount = [
        pl.col(f"_d{k}").is_null() & pl.col(f"_a{k}").is_not_null() & (pl.col(f"_a{k}") != 0)
        for k in range(len(pairs))
    ]
    zero = pl.lit(0).cast(MONEY)
    pair_sum = f.money_sum(amounts)
    tca = pl.col("_tca").fill_null(zero)
    base = base.with_columns(
        f.parse_date(pl.col("_invoice_date_raw")).alias("invoice_date"),
        pair_sum.alias("_pair_sum"),
        ((tca + pair_sum).cast(MONEY) == pl.col("_net")).alias("_fits_a"),
        (pair_sum == pl.col("_net")).alias("_fits_b"),
        pl.any_horizontal(pl.col(f"_d{k}").is_not_null() for k in range(len(pairs))).alias(
            "_has_pairs"
        )
        if pairs
        else pl.lit(False).alias("_has_pairs"),
    )
    reason = (
        pl.when(
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
    good = base.filter(pl.col("_reason").is_null())
    rejected = pl.concat(
        [
            base.filter(pl.col("_reason").is_not_null()).select(
                "_line", pl.lit(None, dtype=pl.Utf8).alias("raw"), pl.col("_reason").alias("reason")
            ),
            broken,
        ]
    ).sort("_line")
    if good.height:
        fits = good.select(pl.col("_fits_a").sum(), pl.col("_fits_b").sum())
        logger.debug(
            "%s: %d rows fit net = transportation + charges, %d net = charges",
            source.path.name,
            fits.item(0, 0),
            fits.item(0, 1),
        )
    lines = _charge_lines(good, len(pairs), service_map)
    lines = f.finish(lines, source_file=source.name, service_map=service_map)
    lines_in = rows.height + broken.height
    return Parsed(lines, rejected, lines_in, lines_in - rejected.height)


def _row_columns(frame: pl.DataFrame, service_map: ServiceMap | None) -> pl.DataFrame:
    """Row-level values every charge line of a row shares."""
    actual_unit = f.weight_unit(pl.col("_actual_units"))
    rated_unit = f.weight_unit(pl.col("_rated_units"))
    unit = pl.coalesce(rated_unit, actual_unit)
    actual = f.parse_weight(pl.col("_actual_weight"))
    rated = f.parse_weight(pl.col("_rated_weight"))
    factor = {"lb": 1.0, "kg": 2.20462262185, "oz": 1 / 16, "g": 0.00220462262185}
    # Entered weight in the billed weight's unit when the two differ (rare, but real).
    to_lb = actual_unit.replace_strict(factor, default=None, return_dtype=pl.Float64)
    from_lb = unit.replace_strict(factor, default=None, return_dtype=pl.Float64)
    entered = pl.when(actual_unit == unit).then(actual).otherwise(actual * to_lb / from_lb)
    dims = [f.parse_weight(pl.col(n)) for n in ("_dim_l", "_dim_w", "_dim_h")]
    divisor = f.parse_weight(pl.col("_dim_div"))
    dim_weight = (dims[0] * dims[1] * dims[2] / divisor).ceil()
    rated_on_dim = pl.col("_rated_method").str.to_lowercase().str.contains("dim").fill_null(
        False
    ) | ((dim_weight == rated) & (rated > actual.ceil())).fill_null(False)
    prefix = pl.col("_prefix")
    tid = pl.col("_tid")
    # "Home Delivery" / "Ground Economy" say more than "FedEx Ground"; "Return Manager" less.
    service = pl.coalesce(
        normalize_service(pl.lit("fedex"), pl.col("_ground_service"), service_map),
        normalize_service(pl.lit("fedex"), pl.col("_service_type"), service_map),
    )
    xref = pl.concat_str([pl.col("_xref_prefix"), pl.col("_xref")], ignore_nulls=True)
    category = (
        pl.when(tid.is_null())
        .then(pl.lit("invoice"))
        .when(
            pl.concat_str([pl.col("_service_type"), pl.col("_ground_service")], ignore_nulls=True)
            .str.to_lowercase()
            .str.contains("return")
            .fill_null(False)
        )
        .then(pl.lit("return"))
        .otherwise(pl.lit("shipment"))
    )
    return frame.with_columns(
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
        f.parse_date(pl.col("_ship_date")).alias("ship_date"),
        f.parse_date(pl.col("_pod_date")).alias("delivery_date"),
        f.parse_time(pl.col("_pod_time")).alias("delivery_time"),
        pl.concat_str(
            [pl.col("_service_type"), pl.col("_ground_service")], separator=" / ", ignore_nulls=True
        ).alias("service_description"),
        service.alias("service"),
        category.alias("_row_category"),
        rated.alias("billed_weight"),
        entered.alias("entered_weight"),
        pl.when(rated.is_not_null() | actual.is_not_null()).then(unit).alias("weight_unit"),
        rated_on_dim.alias("rated_on_dim"),
        pl.col("currency").fill_null(pl.lit("USD")),
        pl.col("_line").alias("source_line"),
    )


def _charge_lines(good: pl.DataFrame, n_pairs: int, service_map: ServiceMap | None) -> pl.DataFrame:
    rows = _row_columns(good, service_map)
    shared = [
        "carrier", "account_number", "invoice_number", "invoice_date", "tracking_number",
        "_tid", "_alt", "ship_date", "delivery_date", "delivery_time", "service_description",
        "service", "_row_category", "billed_weight", "entered_weight", "weight_unit",
        "rated_on_dim", "currency", "source_line",
    ]  # fmt: skip
    zero = pl.lit(0).cast(MONEY)
    transport = rows.filter(
        pl.col("_fits_a") & ((pl.col("_tca").fill_null(zero) != 0) | ~pl.col("_has_pairs"))
    ).select(
        *shared,
        pl.lit("Transportation Charge").alias("charge_description"),
        pl.col("_tca").fill_null(zero).alias("amount"),
        pl.lit(-1).alias("_order"),
    )
    parts = [transport]
    for k in range(n_pairs):
        parts.append(
            rows.filter(pl.col(f"_d{k}").is_not_null()).select(
                *shared,
                pl.col(f"_d{k}").alias("charge_description"),
                pl.col(f"_a{k}").fill_null(zero).alias("amount"),
                pl.lit(k).alias("_order"),
            )
        )
    lines = pl.concat(parts)
    charge_type = (
        pl.when(pl.col("_order") == -1)
        .then(pl.lit("transportation"))
        .otherwise(charge_type_from_text(pl.col("charge_description")))
    )
    lines = lines.with_columns(charge_type.alias("charge_type"))
    # A row that bills no transportation is a post-shipment adjustment (an address
    # correction, a GSR credit… on a later invoice).
    has_transport = (pl.col("charge_type") == "transportation").any().over("source_line")
    return lines.with_columns(
        pl.when((pl.col("_row_category") == "shipment") & ~has_transport)
        .then(pl.lit("adjustment"))
        .otherwise(pl.col("_row_category"))
        .alias("charge_category")
    )
