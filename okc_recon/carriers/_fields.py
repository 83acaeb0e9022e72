"""Field parsers the invoice readers share: money, dates, times, weights, flags; and the
last step every reader takes, :func:`finish`, which turns a reader's charge lines into
``schema.INVOICE_LINE_SCHEMA`` (tracking keys, services, order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from okc_recon import schema
from okc_recon.carriers import tracking
from okc_recon.carriers.services import (
    ServiceMap,
    normalize_carrier,
    normalize_service,
    service_catalog,
)
from okc_recon.money import MONEY, parse_money

__all__ = [
    "Parsed",
    "classify",
    "classify_many",
    "finish",
    "first_failure",
    "flag",
    "is_total_row",
    "keep",
    "lookup",
    "money",
    "money_columns",
    "parse_date",
    "parse_time",
    "parse_weight",
    "total_row_reason",
    "tracking_columns",
    "weight_columns",
    "weight_unit",
]

# Plain amounts (what carrier files hold almost always) cast exactly and fast; anything else
# ($, thousands separators, parentheses, CR, more than two decimals…) goes to parse_money.
_PLAIN_MONEY = r"^-?[0-9]{1,15}(?:\.[0-9]{1,2})?$"

_DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d.%m.%Y")


@dataclass(frozen=True)
class Parsed:
    """What a reader got from one file: charge lines, rejected lines and the line counts.

    ``rejected`` has ``_line``, ``raw`` (null: filled in from the file by the caller) and
    ``reason``. ``lines_in`` counts data lines (not header, summary or blank lines);
    ``lines_parsed`` those read without error, whether they yield charge lines or, like
    UPS ``INF`` rows, none.
    """

    lines: pl.DataFrame  # schema.INVOICE_LINE_SCHEMA
    rejected: pl.DataFrame
    lines_in: int
    lines_parsed: int
    #: ``source_line``, ``carrier``, ``invoice_number`` of parsed lines that gave no charge
    #: line (UPS ``INF`` rows), so a re-sent invoice's every line can be counted
    silent: pl.DataFrame | None = None


def lookup(
    frame: pl.DataFrame,
    source: str | pl.Expr,
    fn: Callable[[pl.Expr], pl.Expr],
    dtype: pl.DataType,
) -> pl.Expr:
    """``fn(source)`` computed once per distinct value of ``source`` in ``frame``.

    Carrier files repeat the same dates, unit codes, service texts and charge descriptions
    on every row: parsing each distinct value once and looking the result up is exact and
    much faster than running regexes and date formats over millions of rows.
    """
    expr = pl.col(source) if isinstance(source, str) else source
    keys = frame.select(expr.alias("k").unique()).get_column("k")
    has_null = keys.null_count() > 0
    keys = keys.drop_nulls()
    values = pl.DataFrame({"k": keys}).select(fn(pl.col("k")).cast(dtype).alias("v"))["v"]
    mapped = expr.replace_strict(keys, values, default=None, return_dtype=dtype)
    if has_null:
        at_null = pl.select(fn(pl.lit(None, dtype=pl.Utf8)).cast(dtype)).item()
        if at_null is not None:
            mapped = mapped.fill_null(pl.lit(at_null, dtype=dtype))
    return mapped


def money(expr: pl.Expr) -> pl.Expr:
    """:func:`okc_recon.money.parse_money` of text that can be money at all (printable
    ASCII): other digits (``١٢``, ``１２``) are not amounts on a carrier invoice, and
    ``parse_money`` would fail on them rather than give null."""
    return parse_money(pl.when(expr.str.contains(r"^[ -~]*$")).then(expr))


def money_columns(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """``frame`` with each text column in ``columns`` turned into :data:`MONEY`.

    Same result as :func:`okc_recon.money.parse_money` (null where the text is not money),
    but plain amounts like ``12.34`` / ``-3.5`` are cast directly, which is exact and two
    orders of magnitude faster; only the other texts go through ``parse_money``.
    """
    if not columns:
        return frame
    plain = {c: pl.col(c).str.contains(_PLAIN_MONEY) for c in columns}
    out = frame.with_columns(
        pl.when(plain[c]).then(pl.col(c).cast(MONEY, strict=False)).alias(f"__m_{c}")
        for c in columns
    )
    needs = out.select(
        pl.any_horizontal((~plain[c] & pl.col(c).is_not_null()) for c in columns).alias("_n")
    )["_n"]
    if needs.any():
        indexed = out.with_row_index("__i")
        rest = indexed.filter(needs)
        fixed = rest.select(
            "__i",
            *[pl.coalesce(pl.col(f"__m_{c}"), money(pl.col(c))).alias(f"__m_{c}") for c in columns],
        )
        indexed = indexed.update(fixed, on="__i", how="left", include_nulls=False)
        out = indexed.drop("__i")
    return out.with_columns(pl.col(f"__m_{c}").alias(c) for c in columns).drop(
        f"__m_{c}" for c in columns
    )


def parse_date(expr: pl.Expr) -> pl.Expr:
    """A date from ``yyyymmdd``, ISO (``2025-10-06``, with or without a time), ``m/d/yyyy``…

    Null when no format fits. Timestamps with a zone (``…Z``, ``…-04:00``) are dated by
    their UTC day, the day OKC's UTC datetimes use: a label bought at 20:05 in New York on
    31 October (``2025-11-01T00:05:12Z``) is dated 1 November. Timestamps without a zone
    are dated as written. ``20251006.0`` (a ``yyyymmdd`` column that pandas turned into
    floats) is the date it plainly is.
    """
    text = expr.str.strip_chars()
    text = pl.when(text.str.contains(r"^\d{8}\.0+$")).then(text.str.slice(0, 8)).otherwise(text)
    iso_ts = text.str.extract(r"^(\d{4}-\d{2}-\d{2})[T ]", 1)
    us_ts = text.str.extract(r"^(\d{1,2}/\d{1,2}/\d{4})[T ]", 1)
    candidates = [text.str.strptime(pl.Date, fmt, strict=False) for fmt in _DATE_FORMATS]
    zoned = (
        text.str.replace(r"Z$", "+00:00")
        .str.replace(r"([+-]\d{2})(\d{2})$", "$1:$2")  # +0000 as well as +00:00
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False)
        .dt.convert_time_zone("UTC")
        .dt.date()
    )
    return pl.coalesce(
        zoned,
        iso_ts.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        us_ts.str.strptime(pl.Date, "%m/%d/%Y", strict=False),
        *candidates,
    )


def parse_time(expr: pl.Expr) -> pl.Expr:
    """A time of day from ``hhmm`` (FedEx), ``h:mm`` or ``hh:mm:ss``; null otherwise.

    A date-time gives its time: Excel stores a time of day as a date-time on its epoch, so
    a workbook's ``0:00`` reads as ``1899-12-31 00:00:00``.
    """
    text = expr.str.strip_chars()
    text = pl.coalesce(
        text.str.extract(r"^\d{4}-\d{2}-\d{2}[T ](\d{1,2}:\d{2}(?::\d{2})?)", 1), text
    )
    digits = text.str.replace(":", "", literal=True).str.zfill(4)
    valid = text.str.contains(r"^\d{1,2}:?\d{2}$")
    hhmm = pl.when(valid).then(digits)
    hours = hhmm.str.slice(0, 2).cast(pl.Int32, strict=False)
    minutes = hhmm.str.slice(2, 2).cast(pl.Int32, strict=False)
    ok = hours.is_between(0, 23) & minutes.is_between(0, 59)
    # pl.time raises on out-of-range parts even in an untaken branch: null them first
    from_hhmm = pl.time(pl.when(ok).then(hours), pl.when(ok).then(minutes))
    return pl.coalesce(from_hhmm, text.str.strptime(pl.Time, "%H:%M:%S", strict=False))


def parse_weight(expr: pl.Expr) -> pl.Expr:
    """A weight as a float; null when empty, not a number, or zero (charge-only rows)."""
    value = (
        expr.str.strip_chars().str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
    )
    return pl.when(value > 0).then(value)


def weight_columns(frame: pl.DataFrame, columns: Mapping[str, str]) -> pl.DataFrame:
    """``frame`` with a weight column ``columns[text]`` (:func:`parse_weight`) for each text
    column: a straight cast for plain numbers, the full parse only when a value needs it."""
    casts = frame.select(
        pl.col(c).cast(pl.Float64, strict=False).alias(name) for c, name in columns.items()
    )
    odd = frame.select(
        pl.any_horizontal(
            casts.get_column(name).is_null() & pl.col(c).is_not_null()
            for c, name in columns.items()
        )
    ).to_series()
    if odd.any():
        casts = frame.select(parse_weight(pl.col(c)).alias(name) for c, name in columns.items())
    else:
        casts = casts.select(pl.when(pl.col(n) > 0).then(pl.col(n)).alias(n) for n in casts.columns)
    return frame.with_columns(casts)


def first_failure(
    frame: pl.DataFrame, checks: Sequence[tuple[pl.Expr, pl.Expr]]
) -> tuple[pl.Series, pl.DataFrame]:
    """Which rows of ``frame`` pass every check, and why the others do not.

    ``checks`` are ``(fails, message)`` pairs in order. Returns ``ok`` (a boolean per row)
    and the failing rows' ``_line`` with ``reason``, the message of their first failing
    check. Messages are built for the failing rows only, not formatted for every row.
    """
    fails = [condition.fill_null(False) for condition, _ in checks]
    failed = frame.select(pl.any_horizontal(fails).alias("_failed")).to_series()
    reason: Any = None
    for condition, (_, message) in zip(fails, checks, strict=True):
        reason = (pl.when(condition) if reason is None else reason.when(condition)).then(message)
    rejected = frame.filter(failed).select("_line", reason.cast(pl.Utf8).alias("reason"))
    return ~failed, rejected


def keep(frame: pl.DataFrame, ok: pl.Series) -> pl.DataFrame:
    """``frame``'s rows where ``ok`` holds: ``frame`` itself when all do (no copy)."""
    return frame if ok.all() else frame.filter(ok)


def weight_unit(expr: pl.Expr, default: str | None = None) -> pl.Expr:
    """``lb``/``oz``/``kg``/``g`` from carrier unit codes: ``L``, ``LB``, ``lbs``, ``K``, ``O``…"""
    key = expr.str.strip_chars().str.to_lowercase().str.replace_all(r"[^a-z]", "")
    mapping = {
        "l": "lb", "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
        "o": "oz", "oz": "oz", "ozs": "oz", "ounce": "oz", "ounces": "oz",
        "k": "kg", "kg": "kg", "kgs": "kg", "kilogram": "kg", "kilograms": "kg",
        "g": "g", "gr": "g", "gram": "g", "grams": "g",
    }  # fmt: skip
    unit = key.replace_strict(mapping, default=None, return_dtype=pl.Utf8)
    return unit if default is None else unit.fill_null(pl.lit(default))


#: A spreadsheet footer or subtotal line: "Total", "Grand Total:", "Subtotal", "TOTALS".
TOTAL_ROW = r"(?i)^\s*(?:grand\s+|sub\s*)?totals?\b"


def is_total_row(expr: pl.Expr) -> pl.Expr:
    """True where ``expr`` (a row's first cell) says the row is a total someone added."""
    return expr.str.contains(TOTAL_ROW).fill_null(False)


def total_row_reason(expr: pl.Expr) -> pl.Expr:
    """The rejection reason of a total row whose first cell is ``expr``."""
    return pl.format("a total row ({}), not a charge line", expr.str.strip_chars())


def flag(expr: pl.Expr) -> pl.Expr:
    """True for ``true``/``yes``/``y``/``1``/``x``; False for other text; null when empty."""
    key = expr.str.strip_chars().str.to_lowercase()
    return pl.when(key != "").then(key.is_in(["true", "yes", "y", "1", "x", "t"]))


def tracking_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``tracking_key``, ``alt_tracking_key`` and ``tracking_corrupted`` from
    its raw ``_tid`` and ``_alt`` columns.

    Tracking numbers are nearly all distinct, so the key is computed on the column itself
    (a lookup by distinct value would hash every row twice for nothing). The alternate
    identifier is keyed only where it differs from the tracking number, and only values
    that give no key can be Excel float artifacts.
    """
    for name in ("_tid", "_alt"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias(name))
    frame = frame.with_columns(tracking.tracking_key(pl.col("_tid")).alias("tracking_key"))
    indexed = frame.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_at"), "_tid", "_alt", "tracking_key"
    )
    alt = indexed.filter(
        pl.col("_alt").is_not_null() & (pl.col("_alt") != pl.col("_tid")).fill_null(True)
    )
    keyless = indexed.filter(pl.col("tracking_key").is_null() & pl.col("_tid").is_not_null())
    alt_key = pl.Series("alt_tracking_key", [None] * frame.height, dtype=pl.Utf8)
    if alt.height:
        keys = alt.select(
            pl.col("_at"),
            tracking.tracking_key(pl.col("_alt")).alias("_key"),
            pl.col("tracking_key"),
        ).with_columns(
            pl.when(pl.col("_key") != pl.col("tracking_key"))
            .then(pl.col("_key"))
            .when(pl.col("tracking_key").is_null())
            .then(pl.col("_key"))
            .alias("_key")
        )
        alt_key = alt_key.scatter(keys["_at"], keys["_key"])
    corrupted = pl.Series("tracking_corrupted", [False] * frame.height, dtype=pl.Boolean)
    if keyless.height:
        flags = keyless.select(tracking.is_float_artifact(pl.col("_tid")).fill_null(False))
        corrupted = corrupted.scatter(keyless["_at"], flags.to_series())
    return frame.with_columns(alt_key, corrupted)


def classify(
    frame: pl.DataFrame,
    columns: Sequence[str],
    fn: Callable[..., pl.Expr],
    name: str,
) -> pl.DataFrame:
    """``frame`` with column ``name`` = ``fn(*columns)``, computed once per distinct
    combination of ``columns`` and joined back (row order kept)."""
    return classify_many(frame, columns, {name: fn})


def classify_many(
    frame: pl.DataFrame, columns: Sequence[str], fns: Mapping[str, Callable[..., pl.Expr]]
) -> pl.DataFrame:
    """:func:`classify` for several results of the same columns: one join for all."""
    combos = frame.select(columns).unique()
    combos = combos.with_columns(
        fn(*[pl.col(c) for c in columns]).alias(name) for name, fn in fns.items()
    )
    frame = frame.drop([name for name in fns if name in frame.columns])
    return frame.join(combos, on=list(columns), how="left", nulls_equal=True,
                      maintain_order="left")  # fmt: skip


def finish(
    lines: pl.DataFrame,
    *,
    source_file: str,
    service_map: ServiceMap | None,
    ordered: bool = False,
) -> pl.DataFrame:
    """A reader's charge lines as ``schema.INVOICE_LINE_SCHEMA``, in file order.

    ``lines`` has the schema's columns a reader knows (money already :data:`MONEY`, dates
    already dates) plus ``_tid`` (the raw tracking identifier to key on) and ``_alt`` (the
    carrier's alternate identifier, raw) unless the tracking columns are already there,
    ``_service_text`` (raw service text/code to normalise) when ``service`` is not, and
    ``_order`` (position within the line). ``carrier`` may be raw text. ``ordered`` says
    the lines already are in file order (no sort needed).
    """
    if "tracking_key" not in lines.columns:
        lines = tracking_columns(lines)
    carriers = lines.get_column("carrier").unique() if "carrier" in lines.columns else None
    if carriers is not None and not carriers.drop_nulls().is_in(schema.CARRIERS).all():
        lines = lines.with_columns(
            lookup(lines, "carrier", normalize_carrier, pl.Utf8()).alias("carrier")
        )
    if "_service_text" in lines.columns:
        known = service_catalog()["service"].implode()

        def normalise(carrier: pl.Expr, text: pl.Expr) -> pl.Expr:
            return pl.coalesce(
                pl.when(text.is_in(known)).then(text),
                normalize_service(carrier, text, service_map),
            )

        lines = classify(lines, ["carrier", "_service_text"], normalise, "_service")
        if "service" in lines.columns:
            lines = lines.with_columns(pl.coalesce("service", "_service").alias("service"))
        else:
            lines = lines.rename({"_service": "service"})
    lines = lines.with_columns(pl.lit(source_file).alias("source_file"))
    if not ordered:
        order = ["source_line", "_order"] if "_order" in lines.columns else ["source_line"]
        lines = lines.sort(order, maintain_order=True)
    return schema.conform(lines, schema.INVOICE_LINE_SCHEMA)


def empty_lines() -> pl.DataFrame:
    """No lines, with the schema."""
    return schema.empty(schema.INVOICE_LINE_SCHEMA)


def money_sum(columns: Sequence[str]) -> pl.Expr:
    """The sum of money columns, nulls as zero (zero when there are none)."""
    if not columns:
        return pl.lit(0).cast(MONEY)
    # sum_horizontal skips nulls itself; filling them first is three times slower
    return pl.sum_horizontal(columns).cast(MONEY).fill_null(pl.lit(0).cast(MONEY))
