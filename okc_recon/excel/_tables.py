"""Frames made ready for a sheet: column kinds, safe text, tracking links, widths, row text.

:func:`prepare` turns any frame into a :class:`TableData`: identifiers become text, list and
struct columns become readable text, label URLs and tokens are removed from every text value,
``label_url`` columns are dropped, and a ``tracking_url`` column is added where a shipment's
carrier and tracking number allow one. :meth:`TableData.render` then writes any slice of its
rows as SpreadsheetML, vectorised in Polars.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from okc_recon.excel._styles import Styles
from okc_recon.excel._xml import (
    DANGEROUS_START,
    clean_text,
    col_letter,
    date_serial,
    datetime_serial,
    needs_care,
    style_attr,
    text_cell_expr,
    time_serial,
)

__all__ = [
    "LINK_LIMIT",
    "TRACKING_PAGES",
    "Column",
    "TableData",
    "prepare",
    "scrub_text",
    "scrub_text_expr",
]

#: Hyperlinks Excel keeps per worksheet; links past it would be dropped with a repair prompt.
LINK_LIMIT = 65_530
#: Longest URL Excel accepts in a hyperlink.
_MAX_URL = 2_079

#: The carriers' public tracking pages, used when a frame carries no ``tracking_url``.
TRACKING_PAGES = {
    "fedex": "https://www.fedex.com/fedextrack/?trknbr=",
    "ups": "https://www.ups.com/track?tracknum=",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
    "dhl": "https://www.dhl.com/us-en/home/tracking/tracking-express.html?submit=1&tracking-id=",
}

# Identifiers: always text, so leading zeros stay and Excel never shows 7.9464E+11.
_ID_NAME = re.compile(r"(^|_)(id|number|numbers|key|sha256)$")

# Credentials that must never reach a file: pre-signed label URLs (S3 query signatures),
# JSON Web Tokens and bearer headers. The literal markers are a cheap first pass.
_SECRET_MARKERS = ["x-amz-", "awsaccesskeyid", "signature=", "eyj", "bearer"]
_LABEL_URL = (
    r"(?i)https?://[^\s\"'<>]*(?:x-amz-signature|x-amz-credential|awsaccesskeyid|signature=)"
    r"[^\s\"'<>]*"
)
_JWT = r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
_BEARER = r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{8,}"
_LABEL_URL_PY = re.compile(_LABEL_URL)
_JWT_PY = re.compile(_JWT)
_BEARER_PY = re.compile(_BEARER)
LABEL_URL_REMOVED = "[label URL removed]"
TOKEN_REMOVED = "[token removed]"


def scrub_text_expr(text: pl.Expr) -> pl.Expr:
    """``text`` with label URLs and tokens replaced; rows without a marker are left as is."""
    scrubbed = (
        text.str.replace_all(_LABEL_URL, LABEL_URL_REMOVED)
        .str.replace_all(_JWT, TOKEN_REMOVED)
        .str.replace_all(_BEARER, f"Bearer {TOKEN_REMOVED}")
    )
    suspicious = text.str.contains_any(_SECRET_MARKERS, ascii_case_insensitive=True)
    return pl.when(suspicious).then(scrubbed).otherwise(text)


def scrub_text(value: str) -> str:
    """Python twin of :func:`scrub_text_expr`, for the few hand-written cells."""
    value = _LABEL_URL_PY.sub(LABEL_URL_REMOVED, value)
    value = _JWT_PY.sub(TOKEN_REMOVED, value)
    return _BEARER_PY.sub(f"Bearer {TOKEN_REMOVED}", value)


@dataclass(frozen=True)
class Column:
    """One sheet column: its header and kind (text, id, url, money, int, float, bool, date,
    datetime, time)."""

    name: str
    kind: str


def link_ok(url: pl.Expr) -> pl.Expr:
    """URLs that can be hyperlinks: http(s), no spaces or quotes, short enough, no secret."""
    ok = (
        url.str.contains(r"^https?://[^\s\"<>\\^`{|}]+$")
        & (url.str.len_bytes() <= _MAX_URL)
        & ~url.str.contains_any(_SECRET_MARKERS, ascii_case_insensitive=True)
    )
    return ok.fill_null(False)


def _kind(name: str, dtype: pl.DataType) -> str:
    if name == "tracking_url":
        return "url"
    if isinstance(dtype, pl.Decimal):
        return "money"
    if dtype.is_integer():
        return "id" if _ID_NAME.search(name) else "int"
    if dtype.is_float():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Time:
        return "time"
    if isinstance(dtype, pl.Duration):
        return "float"
    return "id" if _ID_NAME.search(name) else "text"


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if isinstance(dtype, pl.List | pl.Array):
        return col.cast(pl.List(pl.Utf8)).list.join(", ")
    if isinstance(dtype, pl.Struct):
        return col.struct.json_encode()
    return col.cast(pl.Utf8)


def _tracking_url(frame: pl.DataFrame) -> pl.Expr | None:
    """The carrier's public tracking page for each row, when the frame can say which."""
    number = next((c for c in ("tracking_key", "tracking_number") if c in frame.columns), None)
    if "carrier" not in frame.columns or number is None:
        return None
    key = pl.col(number).cast(pl.Utf8).str.replace_all(r"\s", "")
    page = pl.col("carrier").cast(pl.Utf8).replace_strict(TRACKING_PAGES, default=None)
    return pl.when(key.str.contains(r"^[A-Za-z0-9]{6,40}$")).then(pl.concat_str([page, key]))


def prepare(
    frame: pl.DataFrame, *, links: bool = False, url_after: str = "tracking_number"
) -> pl.DataFrame:
    """``frame`` made safe to write: ids and nested values as text, secrets scrubbed.

    With ``links``, a ``tracking_url`` column (the carrier's public tracking page) is added
    after ``url_after`` when the frame has none of its own.
    """
    frame = frame.drop([c for c in frame.columns if c.lower() == "label_url"])
    if links and "tracking_url" not in frame.columns:
        url = _tracking_url(frame)
        if url is not None:
            frame = frame.with_columns(url.alias("tracking_url"))
            if url_after in frame.columns:
                order = [c for c in frame.columns if c != "tracking_url"]
                at = order.index(url_after) + 1
                frame = frame.select([*order[:at], "tracking_url", *order[at:]])
    exprs: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        kind = _kind(name, dtype)
        if kind in ("text", "id", "url") or isinstance(dtype, pl.Null):
            text = scrub_text_expr(_as_text(name, dtype))
            # an empty text is a blank cell (what Excel's criteria and COUNTA take it for)
            exprs.append(pl.when(text != "").then(text).alias(name))
        elif isinstance(dtype, pl.Duration):
            exprs.append((pl.col(name).dt.total_microseconds() / 86_400_000_000).alias(name))
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs)


_TEXT_KINDS = ("text", "id", "url")
_ROW_NAME = "__okc_row__"
_ROW = pl.col(_ROW_NAME)
_ROW_INT = "__okc_row_number__"


def _concat(pieces: Sequence[str | pl.Expr]) -> pl.Expr:
    """One ``concat_str`` of ``pieces``, adjacent literal texts merged."""
    merged: list[str | pl.Expr] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged])


@dataclass(frozen=True)
class TableData:
    """A prepared frame and its sheet columns."""

    frame: pl.DataFrame
    columns: tuple[Column, ...]

    @classmethod
    def of(
        cls, frame: pl.DataFrame, *, links: bool = False, url_after: str = "tracking_number"
    ) -> TableData:
        prepared = prepare(frame, links=links, url_after=url_after)
        names = _unique_headers(prepared.columns)
        prepared = prepared.rename(dict(zip(prepared.columns, names, strict=True)))
        columns = tuple(Column(n, _kind(n, d)) for n, d in prepared.schema.items())
        return cls(prepared, columns)

    @property
    def height(self) -> int:
        return self.frame.height

    def _value(self, column: Column) -> tuple[pl.Expr, str | None, str]:
        """The ``<v>`` text of a non-text column, its :class:`Styles` field, its cell type."""
        col = pl.col(column.name)
        dtype = self.frame.schema[column.name]
        kind = column.kind
        if kind == "bool":
            return col.cast(pl.Int8).cast(pl.Utf8), None, "b"
        if kind == "date":
            return date_serial(col), "date", "n"
        if kind == "datetime":
            assert isinstance(dtype, pl.Datetime)
            return datetime_serial(col, dtype), "datetime", "n"
        if kind == "time":
            return time_serial(col), "time", "n"
        if kind == "float":
            number = col.cast(pl.Float64)
            return pl.when(number.is_finite()).then(number.cast(pl.Utf8)), "number", "n"
        return col.cast(pl.Utf8), "money" if kind == "money" else "integer", "n"

    def render(
        self, first_row: int, offset: int, length: int, styles: Styles, *, link_until: int = 0
    ) -> bytes:
        """Rows ``offset .. offset+length`` of the frame as ``<row>`` text from ``first_row``.

        URL cells look like links (the link style) on rows up to ``link_until``, the last
        row the sheet's hyperlinks reach, where the URL can be one.

        One pass finds, per column of this chunk, whether it holds nulls and (for text)
        values that need escaping, ``xml:space`` or a quote-prefix style; columns without
        either are rendered by plain concatenation, the rest by the careful expressions.
        """
        part = self.frame.slice(offset, length)
        if part.height == 0:
            return b""
        facts_exprs: list[pl.Expr] = []
        values: dict[int, tuple[pl.Expr, int | None, str]] = {}  # value, style, cell type
        for i, column in enumerate(self.columns):
            col = pl.col(column.name)
            if column.kind in _TEXT_KINDS:
                facts_exprs.append(col.is_null().any().alias(f"null{i}"))
                facts_exprs.append(needs_care(col).any().alias(f"care{i}"))
            else:
                value, key, kind = self._value(column)
                values[i] = (value, getattr(styles, key) if key else None, kind)
                facts_exprs.append(value.is_null().any().alias(f"null{i}"))
        facts = part.select(facts_exprs).row(0, named=True)

        pieces: list[str | pl.Expr] = ['<row r="', _ROW, '">']
        for i, column in enumerate(self.columns):
            letter = col_letter(i)
            cell: list[str | pl.Expr]
            if column.kind == "url":
                col = pl.col(column.name)
                # the link look only where the sheet has a hyperlink
                linked = (
                    pl.when(col.str.contains(DANGEROUS_START))
                    .then(pl.lit(style_attr(styles.text_quoted)))
                    .when(link_ok(col) & (pl.col(_ROW_INT) <= link_until))
                    .then(pl.lit(style_attr(styles.link)))
                    .otherwise(pl.lit(""))
                )
                ref = pl.concat_str([pl.lit(letter), _ROW])
                cell = [text_cell_expr(col, ref, style=None, quoted_style=0, style_expr=linked)]
            elif column.kind in _TEXT_KINDS:
                col = pl.col(column.name)
                style = {"text": None, "id": styles.id}[column.kind]
                quoted = styles.id_quoted if column.kind == "id" else styles.text_quoted
                if facts[f"care{i}"]:
                    cell = [
                        text_cell_expr(
                            col,
                            pl.concat_str([pl.lit(letter), _ROW]),
                            style=style,
                            quoted_style=quoted,
                        )
                    ]
                else:
                    cell = [
                        f'<c r="{letter}',
                        _ROW,
                        f'"{style_attr(style)} t="inlineStr"><is><t>',
                        col,
                        "</t></is></c>",
                    ]
            else:
                value, style, kind = values[i]
                type_attr = "" if kind == "n" else f' t="{kind}"'
                cell = [
                    f'<c r="{letter}',
                    _ROW,
                    f'"{style_attr(style)}{type_attr}><v>',
                    value,
                    "</v></c>",
                ]
            if facts[f"null{i}"]:
                pieces.append(_concat(cell).fill_null(""))
            else:
                pieces.extend(cell)
        pieces.append("</row>")
        rows = pl.int_range(first_row, first_row + part.height, dtype=pl.Int64)
        text = part.with_columns(rows.alias(_ROW_INT), rows.cast(pl.Utf8).alias(_ROW_NAME)).select(
            _concat(pieces).str.join("")
        )
        data = text.to_series().to_arrow().buffers()[2]
        return b"" if data is None else data.to_pybytes()

    def links(self, first_row: int, offset: int, length: int) -> pl.DataFrame:
        """``ref``/``url`` of the rows whose ``url`` cells can be hyperlinks."""
        found = [(i, c) for i, c in enumerate(self.columns) if c.kind == "url"]
        if not found:
            return pl.DataFrame(schema={"ref": pl.Utf8, "url": pl.Utf8, "row": pl.Int64})
        index, column = found[0]
        part = self.frame.slice(offset, length)
        row = pl.int_range(first_row, first_row + part.height, dtype=pl.Int64)
        url = pl.col(column.name)
        return (
            part.with_columns(row.alias("_row"))
            .filter(link_ok(url))
            .select(
                pl.concat_str([pl.lit(col_letter(index)), pl.col("_row").cast(pl.Utf8)]).alias(
                    "ref"
                ),
                url.alias("url"),
                pl.col("_row").alias("row"),
            )
        )

    def widths(self) -> list[float]:
        """A column width (in characters) per column that fits its header and values."""
        if self.height == 0:
            return [min(max(len(c.name) + 4, 10), 60) for c in self.columns]
        exprs = []
        for column in self.columns:
            col = pl.col(column.name)
            if column.kind in ("text", "id", "url"):
                exprs.append(col.str.len_chars().max())
            elif column.kind in ("money", "int"):
                exprs.append(col.cast(pl.Float64).abs().max().log10().floor() + 6)
            elif column.kind == "float":
                exprs.append(col.cast(pl.Float64).abs().max().log10().floor() + 5)
            else:
                size = {"bool": 5, "date": 10, "datetime": 19, "time": 8}[column.kind]
                exprs.append(pl.lit(size))
        values = self.frame.select(
            [e.cast(pl.Float64).alias(str(i)) for i, e in enumerate(exprs)]
        ).row(0)
        widths = []
        for column, value in zip(self.columns, values, strict=True):
            data = value if value is not None and value == value and value >= 0 else 4
            widths.append(float(min(max(len(column.name) + 4, data + 2, 8), 60)))
        return widths


def _unique_headers(names: Sequence[str]) -> list[str]:
    """Header texts that are clean, non-empty and unique (an Excel table requires it)."""
    seen: set[str] = set()
    out = []
    for name in names:
        base = clean_text(str(name)).replace("\n", " ").replace("\r", " ").strip()[:250]
        base = base or "column"
        candidate, n = base, 2
        while candidate.lower() in seen:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out
