"""FedEx Billing Online (FBO) "All Columns" CSV/XLSX download (carrier-formats §2.1, §4).

One row per tracking ID per invoice, a header row, columns found by header name because the
layout varies (156 columns with 25 charge pairs, 210 with ``Consolidated Account Number``,
``MPS Package ID`` and 51 pairs, …). The repeated ``Tracking ID Charge Description`` /
``Tracking ID Charge Amount`` pairs are read by position: every column from the first
description on, two at a time, while the header says so. Empty pairs between filled ones
are normal (each charge type can keep its own slot). For speed they are not parsed as 50 to
100 columns (nearly all empty): each row's text from the first pair on is cut off and split
on the delimiter, quotes respected, and only its non-empty pairs become rows of a long table.

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
from okc_recon.carriers._text import Source, physical_lines, read_rows, unused_char
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
    # Only the row-level columns go through the CSV parser; the 25 or 51 charge pairs are
    # cut from each row's text in one piece (see _pair_table): building 50-100 columns that
    # are nearly all empty costs the parser more than everything else together.
    rows, broken = read_rows(
        source,
        columns=sorted({0, *index.values()}),
        ncols=len(names) + 1,
        first_line=header_line + 1,
    )
    rows = rows.with_row_index("_row")
    long = _pair_table(source, rows, pairs)

    def c(role: str) -> pl.Expr:
        if role not in index:
            return pl.lit(None, dtype=pl.Utf8)
        return pl.col(f"c{index[role]}")

    base = rows.select(
        "_row",
        "_line",
        pl.col("c0").alias("_first"),
        c("account").str.strip_chars().alias("account_number"),
        c("invoice_date").alias("_invoice_date_raw"),
        c("invoice_number").str.strip_chars().alias("invoice_number"),
        c("tid").alias("_tid"),
        c("tca").alias("_tca"),
        c("net").alias("_net"),
        c("tca").alias("_tca_raw"),
        c("net").alias("_net_raw"),
    )
    base = f.money_columns(base, ["_tca", "_net"])
    # per row: the pairs' sum, whether it has any, and whether one is broken
    sums = long.group_by("_row").agg(
        pl.col("amount").sum().alias("_pair_sum"),
        pl.col("charge_description").is_not_null().any().alias("_has_pairs"),
        (pl.col("_amount_raw").is_not_null() & pl.col("amount").is_null()).any().alias("_bad"),
        (
            pl.col("charge_description").is_null()
            & pl.col("amount").is_not_null()
            & (pl.col("amount") != 0)
        )
        .any()
        .alias("_orphan"),
    )
    zero = pl.lit(0).cast(MONEY)
    tca = pl.col("_tca").fill_null(zero)
    base = (
        base.join(sums, on="_row", how="left", maintain_order="left")
        .with_columns(
            f.lookup(base, "_invoice_date_raw", f.parse_date, pl.Date()).alias("invoice_date"),
            pl.col("_pair_sum").fill_null(zero),
            pl.col("_has_pairs", "_bad", "_orphan").fill_null(False),
        )
        .with_columns(
            ((tca + pl.col("_pair_sum")).cast(MONEY) == pl.col("_net")).alias("_fits_a"),
            (pl.col("_pair_sum") == pl.col("_net")).alias("_fits_b"),
        )
    )
    both = (tca + pl.col("_pair_sum")).cast(MONEY)
    ok, failed = f.first_failure(
        base,
        [
            (f.is_total_row(pl.col("_first")), f.total_row_reason(pl.col("_first"))),
            (
                pl.col("invoice_number").is_null()
                & pl.col("_tid").is_null()
                & pl.col("_net_raw").is_null(),
                pl.lit("not a FedEx charge row: no invoice number, tracking ID or net charge"),
            ),
            (pl.col("invoice_number").is_null(), pl.lit("no Invoice Number")),
            (
                pl.col("invoice_date").is_null(),
                pl.format(
                    "Invoice Date {} is not a date", pl.col("_invoice_date_raw").fill_null("")
                ),
            ),
            (
                pl.col("_net").is_null(),
                pl.format(
                    "Net Charge Amount {} is not an amount",
                    pl.col("_net_raw").fill_null("(empty)"),
                ),
            ),
            (
                pl.col("_tca_raw").is_not_null() & pl.col("_tca").is_null(),
                pl.format("Transportation Charge Amount {} is not an amount", pl.col("_tca_raw")),
            ),
            (pl.col("_bad"), pl.lit("a Tracking ID Charge Amount is not an amount")),
            (pl.col("_orphan"), pl.lit("a Tracking ID Charge Amount has no description")),
            (
                ~pl.col("_fits_a") & ~pl.col("_fits_b"),
                pl.format(
                    "Net Charge Amount {} equals neither Transportation Charge Amount + charges "
                    "({}) nor the charges alone ({})",
                    pl.col("_net"),
                    both,
                    pl.col("_pair_sum"),
                ),
            ),
        ],
    )
    rejected = pl.concat(
        [failed.select("_line", pl.lit(None, dtype=pl.Utf8).alias("raw"), "reason"), broken]
    ).sort("_line")
    good = f.keep(base, ok)
    charges = _charge_lines(good, long, rows)
    # the row-level values of every good row, in row order; a charge line takes its row's
    details = _row_columns(f.keep(rows, ok), index, service_map, good)
    position = (
        pl.Series("_at", [None] * rows.height, dtype=pl.UInt32)
        .scatter(good["_row"], pl.int_range(good.height, dtype=pl.UInt32, eager=True))
        .gather(charges["_row"])
    )
    lines = pl.concat([charges, details.select(pl.all().gather(position))], how="horizontal")
    lines = lines.with_columns(
        pl.when((pl.col("_row_category") == "shipment") & ~pl.col("_has_transport"))
        .then(pl.lit("adjustment"))
        .otherwise(pl.col("_row_category"))
        .alias("charge_category"),
    ).rename({"_line": "source_line"})
    lines = f.finish(lines, source_file=source.name, service_map=service_map, ordered=True)
    lines_in = rows.height + broken.height
    return Parsed(lines, rejected, lines_in, lines_in - rejected.height)


# One CSV field, quoted ("…", "" inside) or not, in a file with delimiter {d}.
_FIELD = r'(?:"(?:[^"]|"")*"|[^{d}"\n]*)'


def _pair_table(
    source: Source, rows: pl.DataFrame, pairs: Sequence[tuple[int, int]]
) -> pl.DataFrame:
    """:func:`_pair_cells` with ``amount``: the raw amount as money (null: empty or not money)."""
    cells = _pair_cells(source, rows, pairs)
    return f.money_columns(cells.with_columns(pl.col("_amount_raw").alias("amount")), ["amount"])


def _pair_cells(
    source: Source, rows: pl.DataFrame, pairs: Sequence[tuple[int, int]]
) -> pl.DataFrame:
    """Every charge pair of every row that has something in it, in file order.

    Columns ``_row`` (the row's index in ``rows``), ``_slot`` (0-based pair), the raw
    ``charge_description`` and ``_amount_raw`` (each null when empty). Pairs are cut from
    each row's own text: everything after the field before the first pair, split on the
    delimiter (``","`` when every field is quoted).
    A row whose pairs mix quoted and unquoted fields, or that the text cannot be cut for,
    goes through the CSV parser, as do workbooks.
    """
    if not pairs:
        return _empty_pairs()
    first = pairs[0][0]
    data = source.data
    marker = unused_char(data) if data is not None else None
    if data is None or marker is None or len(source.delimiter) != 1:
        return _pairs_by_columns(source, rows, pairs, rows["_line"])
    d = re.escape(source.delimiter)
    # every line is cut (header and blank lines too), then the rows' short regions are
    # picked: cheaper than picking the rows' long lines first
    lines = physical_lines(data)
    cut = lines.str.replace(f"^(?:[^{d}\n]*{d}){{{first}}}", marker)
    quoted_lines = lines.str.contains('"', literal=True).fill_null(False)
    if quoted_lines.any():
        # lines with quotes are cut field by field, quotes respected (a third slower)
        at = quoted_lines.arg_true()
        aware = lines.gather(at).str.replace(f"^(?:{_FIELD.format(d=d)}{d}){{{first}}}", marker)
        cut = cut.scatter(at, aware)
    regions = pl.select(
        pl.when(cut.str.starts_with(marker)).then(
            cut.str.slice(1).str.strip_chars_end(source.delimiter)
        )
    ).to_series()
    ends_quoted = regions.str.ends_with('"').fill_null(False)
    if ends_quoted.any():  # "a","b","","": empty quoted fields at the end go too
        at = ends_quoted.arg_true()
        regions = regions.scatter(
            at, regions.gather(at).str.strip_chars_end(source.delimiter + '"')
        )
    frame = pl.DataFrame({"_row": rows["_row"], "_region": regions.gather(rows["_line"] - 1)})
    region = pl.col("_region")
    n = len(pairs)
    has_quote = frame.get_column("_region").str.contains('"', literal=True).fill_null(False)
    if not has_quote.any():
        return _explode_pairs(frame, region.str.split(source.delimiter), n)
    parts = [_explode_pairs(frame.filter(~has_quote), region.str.split(source.delimiter), n)]
    # every field quoted ("a","b",…): what remains once the separators and "" escapes are
    # gone must hold no quote, else the row mixes quoted and unquoted fields
    body = region.str.slice(1)
    clean = ~body.str.replace_all(f'"{d}"', "").str.replace_all('""', "").str.contains('"')
    quoted = frame.filter(has_quote).with_columns(
        (region.str.starts_with('"') & clean).alias("_clean")
    )
    tokens = body.str.split(f'"{source.delimiter}"')
    parts.append(_explode_pairs(quoted.filter(pl.col("_clean")), tokens, n, unescape=True))
    mixed = quoted.filter(~pl.col("_clean"))
    if mixed.height:
        odd = rows.filter(pl.col("_row").is_in(mixed["_row"].implode()))
        parts.append(_pairs_by_columns(source, odd, pairs, odd["_line"]))
    return pl.concat(parts).sort("_row", "_slot")


def _empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "_row": pl.UInt32,
            "_slot": pl.Int16,
            "charge_description": pl.Utf8,
            "_amount_raw": pl.Utf8,
        }
    )


def _explode_pairs(
    frame: pl.DataFrame, tokens: pl.Expr, n_pairs: int, *, unescape: bool = False
) -> pl.DataFrame:
    """``_row``, ``_slot``, description and raw amount of the non-empty pairs of ``frame``'s
    rows, from their ``tokens`` (the fields from the first pair on, in order)."""
    listed = frame.select("_row", tokens.alias("_tok")).with_columns(
        pl.col("_tok").list.len().fill_null(1).alias("_count")
    )
    listed = listed.with_columns((pl.col("_count").cum_sum() - pl.col("_count")).alias("_start"))
    tok = pl.col("_tok")
    if unescape:
        tok = tok.str.replace_all('""', '"', literal=True)
    exploded = listed.explode("_tok").with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) - pl.col("_start")).alias("_i")
    )
    # a description sits at an even position, its amount right after it
    text = pl.when(tok.str.strip_chars() != "").then(tok)
    exploded = exploded.with_columns(text.alias("_text")).with_columns(
        pl.when(pl.col("_i") + 1 < pl.col("_count"))
        .then(pl.col("_text").shift(-1))
        .alias("_amount_raw")
    )
    return exploded.filter(
        (pl.col("_i") % 2 == 0)
        & (pl.col("_i") < 2 * n_pairs)
        & (pl.col("_text").is_not_null() | pl.col("_amount_raw").is_not_null())
    ).select(
        "_row",
        (pl.col("_i") // 2).cast(pl.Int16).alias("_slot"),
        pl.col("_text").alias("charge_description"),
        pl.col("_amount_raw").str.strip_chars(),
    )


def _pairs_by_columns(
    source: Source, rows: pl.DataFrame, pairs: Sequence[tuple[int, int]], lines: pl.Series
) -> pl.DataFrame:
    """:func:`_explode_pairs` for rows the CSV parser splits (workbooks, mixed quoting)."""
    wanted = [p for pair in pairs for p in pair]
    if source.sheet is not None:
        cells = read_rows(source, columns=wanted, ncols=max(wanted) + 1)[0]
    else:
        assert source.data is not None
        texts = physical_lines(source.data).gather(lines - 1)
        joined = ("\n".join(texts.fill_null("").to_list()) + "\n").encode("utf-8")
        cells, _ = read_rows(
            Source(source.path, source.sha256, source.encoding, source.delimiter, joined,
                   None, (), ()),
            columns=wanted,
            ncols=max(wanted) + 1,
        )  # fmt: skip
        cells = cells.with_columns(lines.gather(cells["_line"] - 1).alias("_line"))
    cells = rows.select("_row", "_line").join(cells, on="_line", how="inner")
    long = pl.concat(
        cells.select(
            "_row",
            pl.lit(k, dtype=pl.Int16).alias("_slot"),
            pl.col(f"c{d}").alias("charge_description"),
            pl.col(f"c{a}").str.strip_chars().alias("_amount_raw"),
        )
        for k, (d, a) in enumerate(pairs)
    )
    return long.filter(
        pl.col("charge_description").is_not_null() | pl.col("_amount_raw").is_not_null()
    ).sort("_row", "_slot")


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
    frame = f.weight_columns(
        frame,
        {"_actual_weight": "_actual", "_rated_weight": "billed_weight", "_dim_l": "_l",
         "_dim_w": "_w", "_dim_h": "_h", "_dim_div": "_div"},
    )  # fmt: skip
    frame = frame.with_columns(
        actual_unit.alias("_actual_unit"),
        pl.coalesce(rated_unit, actual_unit).alias("_unit"),
        f.lookup(frame, "_ship_date", f.parse_date, pl.Date()).alias("ship_date"),
        f.lookup(frame, "_pod_date", f.parse_date, pl.Date()).alias("delivery_date"),
        f.lookup(frame, "_pod_time", f.parse_time, pl.Time()).alias("delivery_time"),
        f.lookup(
            frame,
            "_rated_method",
            lambda e: e.str.to_lowercase().str.contains("dim").fill_null(False),
            pl.Boolean(),
        )
        .fill_null(False)
        .alias("_dim_method"),
    )
    factor = {"lb": 1.0, "kg": 2.20462262185, "oz": 1 / 16, "g": 0.00220462262185}
    # Entered weight in the billed weight's unit when the two differ (rare, but real).
    to_lb = pl.col("_actual_unit").replace_strict(factor, default=None, return_dtype=pl.Float64)
    from_lb = pl.col("_unit").replace_strict(factor, default=None, return_dtype=pl.Float64)
    actual = pl.col("_actual")
    rated = pl.col("billed_weight")
    dim_weight = (pl.col("_l") * pl.col("_w") * pl.col("_h") / pl.col("_div")).ceil()
    rated_on_dim = pl.col("_dim_method") | (
        (dim_weight == rated) & (rated > actual.ceil())
    ).fill_null(False)
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

    def description(service_type: pl.Expr, ground: pl.Expr) -> pl.Expr:
        return pl.concat_str([service_type, ground], separator=" / ", ignore_nulls=True)

    frame = f.classify_many(
        frame,
        ["_service_type", "_ground_service"],
        {"service": service, "_is_return": is_return, "service_description": description},
    )
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


def _charge_lines(good: pl.DataFrame, long: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """One row per charge of the ``good`` rows, in file order: ``_row``, ``_line``,
    ``_order``, description, amount, type and ``_has_transport`` (whether the row bills any
    transportation)."""
    zero = pl.lit(0).cast(MONEY)
    transport = good.filter(
        pl.col("_fits_a") & ((pl.col("_tca").fill_null(zero) != 0) | ~pl.col("_has_pairs"))
    ).select(
        "_row",
        pl.lit(-1, dtype=pl.Int16).alias("_order"),
        pl.lit("Transportation Charge").alias("charge_description"),
        pl.col("_tca").fill_null(zero).alias("amount"),
        pl.lit("transportation").alias("charge_type"),
    )
    is_good = (
        pl.Series("_ok", [False] * rows.height, dtype=pl.Boolean)
        .scatter(good["_row"], True)
        .gather(long["_row"])
    )
    charged = long.filter(is_good & long["charge_description"].is_not_null())
    # A few dozen distinct descriptions: classify (and strip) each once; each line finds
    # its description's number once, then its text and type by that number.
    texts = charged.get_column("charge_description").unique()
    table = pl.DataFrame({"raw": texts}).select(
        pl.col("raw").str.strip_chars().alias("text"),
        charge_type_from_text(pl.col("raw").str.strip_chars()).alias("type"),
    )
    number = (
        pl.col("charge_description").replace_strict(
            texts, pl.int_range(texts.len(), dtype=pl.UInt32, eager=True), return_dtype=pl.UInt32
        )
        if texts.len()
        else pl.lit(None, dtype=pl.UInt32)
    )
    pairs = charged.select(
        "_row",
        pl.col("_slot").alias("_order"),
        number.alias("_n"),
        pl.col("amount").fill_null(zero),
    ).select(
        "_row",
        "_order",
        pl.lit(table["text"]).gather(pl.col("_n")).alias("charge_description"),
        "amount",
        pl.lit(table["type"]).gather(pl.col("_n")).alias("charge_type"),
    )
    key = (pl.col("_row").cast(pl.Int64) * 1024 + pl.col("_order").cast(pl.Int64) + 1).alias("_k")
    lines = transport.with_columns(key).merge_sorted(pairs.with_columns(key), key="_k").drop("_k")
    transported = pl.Series("_t", [False] * rows.height, dtype=pl.Boolean).scatter(
        lines.filter(pl.col("charge_type") == "transportation")["_row"], True
    )
    return lines.with_columns(
        pl.lit(rows["_line"]).gather(pl.col("_row")).alias("_line"),
        pl.lit(transported).gather(pl.col("_row")).alias("_has_transport"),
    )
