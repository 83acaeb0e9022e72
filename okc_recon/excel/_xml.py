"""SpreadsheetML cells and rows, rendered as text: vectorised in Polars for data, by hand for a few.

openpyxl's own cell writer runs at about 120,000 cells a second here (pure-Python XML), so a
100,000-shipment month (over ten million cells) would take minutes. Data rows are therefore
rendered by Polars expressions into ``<row>`` text, column by column, and spliced into the
worksheet parts that openpyxl writes (see :mod:`okc_recon.excel._package`). The few cells of
titles, headers and the Summary are rendered by the plain functions at the end, which follow
the same rules.

The rules that keep a workbook safe and openable:

- Text is always an inline string (``t="inlineStr"``), never a formula, whatever it starts
  with. Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return also gets
  a ``quotePrefix`` style, so Excel keeps it as text even when a user edits the cell.
- Characters XML 1.0 forbids (C0 controls other than tab, LF and CR; U+FFFE, U+FFFF) become
  U+FFFD; ``&``, ``<``, ``>`` are escaped and CR is written as ``&#13;`` so it survives
  parsing. Text is cut to 32,000 characters (Excel's cell limit is 32,767).
- Numbers are written from their exact text (money from its Decimal), never via a float.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

import polars as pl

__all__ = [
    "DANGEROUS_START",
    "EXCEL_MAX_TEXT",
    "clean_text",
    "col_letter",
    "py_cell",
    "py_row",
]

#: Text that Excel (or a CSV round trip) would take for a formula.
DANGEROUS_START = r"^[=+\-@\t\r]"
#: Characters XML 1.0 does not allow.
_ILLEGAL_XML = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_ILLEGAL_XML_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DANGEROUS_PY = re.compile(DANGEROUS_START)
#: Longest text written to one cell (Excel allows 32,767 UTF-16 units; leave a margin).
EXCEL_MAX_TEXT = 32_000
#: Excel's day 0 (the 1900 date system, after its 1900 leap-year bug) as a Unix-epoch offset.
_EXCEL_EPOCH_DAYS = 25_569
_MICROS_PER_DAY = 86_400_000_000


def col_letter(index: int) -> str:
    """``0 -> "A"``, ``25 -> "Z"``, ``26 -> "AA"``."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def clean_text(value: str) -> str:
    """``value`` with XML-illegal characters replaced and cut to :data:`EXCEL_MAX_TEXT`."""
    return _ILLEGAL_XML_PY.sub("\ufffd", value)[:EXCEL_MAX_TEXT]


def _escape_py(value: str) -> str:
    return (
        clean_text(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", "&#13;")
    )


def escape_expr(text: pl.Expr) -> pl.Expr:
    """Polars twin of :func:`_escape_py`; the replacements run only on rows that need them."""
    cut = text.str.slice(0, EXCEL_MAX_TEXT)
    escaped = (
        cut.str.replace_all(_ILLEGAL_XML, "\ufffd")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all("\r", "&#13;", literal=True)
    )
    needs = cut.str.contains(r"[&<>\r\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]")
    return pl.when(needs).then(escaped).otherwise(cut)


def style_attr(style: int | None) -> str:
    """The ``s="…"`` attribute of a style index (nothing for the default style 0)."""
    return "" if not style else f' s="{style}"'


def needs_care(text: pl.Expr) -> pl.Expr:
    """Text that needs more than plain concatenation: escaping, ``xml:space``, a quote-prefix
    style, or cutting to :data:`EXCEL_MAX_TEXT`."""
    return text.str.contains(
        r"^[\s=+\-@]|\s$|[&<>\r\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
    ) | (text.str.len_bytes() > EXCEL_MAX_TEXT)


def text_cell_expr(
    text: pl.Expr,
    ref: pl.Expr,
    *,
    style: int | None,
    quoted_style: int,
    style_expr: pl.Expr | None = None,
) -> pl.Expr:
    """``<c>`` inline-string cells for ``text`` (null stays null: the cell is left out).

    ``style_expr`` (the ``s="…"`` attribute text per row) replaces the choice between
    ``style`` and ``quoted_style``.
    """
    space = pl.when(text.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"'))
    styled = (
        pl.when(text.str.contains(DANGEROUS_START))
        .then(pl.lit(style_attr(quoted_style)))
        .otherwise(pl.lit(style_attr(style)))
        if style_expr is None
        else style_expr
    )
    return pl.concat_str(
        [
            pl.lit('<c r="'),
            ref,
            pl.lit('"'),
            styled,
            pl.lit(' t="inlineStr"><is><t'),
            space.otherwise(pl.lit("")),
            pl.lit(">"),
            escape_expr(text),
            pl.lit("</t></is></c>"),
        ]
    )


def date_serial(expr: pl.Expr) -> pl.Expr:
    """Excel serial day numbers (text) of a Date expression; null before 1900-03-01."""
    days = expr.cast(pl.Int32)
    return pl.when(days >= -25_508).then((days + _EXCEL_EPOCH_DAYS).cast(pl.Utf8))


def datetime_serial(expr: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    """Excel serial numbers (text) of a Datetime expression, as UTC wall time."""
    if dtype.time_zone is not None:
        expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    micros = expr.dt.cast_time_unit("us").cast(pl.Int64)
    serial = micros.cast(pl.Float64) / _MICROS_PER_DAY + _EXCEL_EPOCH_DAYS
    return pl.when(serial >= 61).then(serial.round(8).cast(pl.Utf8))


def time_serial(expr: pl.Expr) -> pl.Expr:
    """Excel day fractions (text) of a Time expression."""
    nanos = expr.cast(pl.Int64)
    return (nanos.cast(pl.Float64) / (_MICROS_PER_DAY * 1000)).round(10).cast(pl.Utf8)


# --- a few cells by hand (titles, headers, Summary, Run info) ---------------------------------


def py_cell(
    ref: str,
    value: object,
    *,
    style: int | None = None,
    quoted_style: int | None = None,
    formula: str | None = None,
) -> str:
    """One ``<c>`` element for a Python value (or a formula with its cached ``value``).

    Strings are inline text (never formulas); ``quoted_style`` replaces ``style`` for text
    that starts like a formula. Dates and datetimes become serial numbers (give a date
    ``style``); ``None`` without a formula gives an empty string (no cell).
    """
    if formula is not None:
        cached = "" if value is None else _cached(value)
        if isinstance(value, str):
            return (
                f'<c r="{ref}"{style_attr(style)} t="str"><f>{_escape_py(formula)}</f>'
                f"<v>{_escape_py(value)}</v></c>"
            )
        if isinstance(value, bool):
            return (
                f'<c r="{ref}"{style_attr(style)} t="b"><f>{_escape_py(formula)}</f>'
                f"<v>{cached}</v></c>"
            )
        return f'<c r="{ref}"{style_attr(style)}><f>{_escape_py(formula)}</f><v>{cached}</v></c>'
    if value is None:
        return ""
    if isinstance(value, str):
        if value == "":
            return ""
        if quoted_style is not None and _DANGEROUS_PY.match(value):
            style = quoted_style
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return (
            f'<c r="{ref}"{style_attr(style)} t="inlineStr"><is><t{space}>'
            f"{_escape_py(value)}</t></is></c>"
        )
    if isinstance(value, bool):
        return f'<c r="{ref}"{style_attr(style)} t="b"><v>{int(value)}</v></c>'
    return f'<c r="{ref}"{style_attr(style)}><v>{_cached(value)}</v></c>'


def _cached(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        delta = value - datetime(1899, 12, 30)
        return repr(round(delta.days + delta.seconds / 86_400 + delta.microseconds / 8.64e10, 8))
    if isinstance(value, date):
        return str((value - date(1899, 12, 30)).days)
    if isinstance(value, time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return repr(round(seconds / 86_400, 10))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"cannot write a {type(value).__name__} as a cell value")


def py_row(row: int, cells: Sequence[str]) -> str:
    """One ``<row>`` element from rendered cells."""
    return f'<row r="{row}">{"".join(cells)}</row>'
