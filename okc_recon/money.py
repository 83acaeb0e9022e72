"""Money: exact decimal amounts in Polars, parsed from text without float rounding.

Every money column in okc-recon has the dtype :data:`MONEY` (a 2-place decimal). Text is
turned into money by :func:`parse_money`, which rounds half away from zero (the way an
invoice total is rounded, and what Python's ``decimal.ROUND_HALF_UP`` does), so a value
like ``0.125`` becomes ``0.13`` rather than being truncated or rounded to even.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import polars as pl

__all__ = ["CENT", "MONEY", "money_from_cents", "parse_money", "to_decimal"]

#: The dtype of every money column: exact, two places.
MONEY = pl.Decimal(38, 2)
CENT = Decimal("0.01")

# Accepted text: optional sign (or accounting parentheses), optional $, digits with optional
# thousands separators, optional fraction, optional trailing minus or CR (credit) marker.
_MONEY_RE = (
    r"^(?<open>\()?\s*(?<sign>[-+])?\s*\$?\s*(?<sign2>[-+])?\s*"
    r"(?<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.(?<frac>[0-9]*))?\s*(?<trail>-|CR)?\s*(?<close>\))?$"
)


# Plain amounts (the vast majority of carrier lines) need no rounding and cast exactly.
# ASCII digits only: Polars' \d matches any script's digits, which its casts cannot read.
_PLAIN_RE = r"^[-+]?[0-9]{1,15}(?:\.[0-9]{0,2})?$"


def parse_money(expr: pl.Expr) -> pl.Expr:
    """A :data:`MONEY` expression from a text expression; null where the text is not money.

    Accepts ``12.5``, ``-3.00``, ``$1,234.50``, ``(4.20)`` and ``4.20-``/``4.20CR``
    (credits), ``$0.00000``. Empty text gives null. Rounds half away from zero to cents.
    """
    return expr.map_batches(_parse_money_series, return_dtype=MONEY, is_elementwise=True)


def _parse_money_series(values: pl.Series) -> pl.Series:
    frame = pl.DataFrame({"text": values.cast(pl.Utf8).str.strip_chars()}).with_columns(
        plain=pl.col("text").str.contains(_PLAIN_RE).fill_null(False)
    )
    result = frame.select(
        pl.when(pl.col("plain")).then(pl.col("text")).otherwise(None).cast(MONEY)
    ).to_series()
    others = frame.with_row_index("row").filter(~pl.col("plain") & pl.col("text").is_not_null())
    if others.height:
        # Only the rows that are not plain amounts go through the full grammar.
        parsed = others.select("row", money=_parse_money_full(pl.col("text")))
        result = result.scatter(parsed["row"], parsed["money"])
    return result.rename(values.name)


def _parse_money_full(text: pl.Expr) -> pl.Expr:
    parts = text.str.extract_groups(_MONEY_RE)
    int_part = parts.struct.field("int").str.replace_all(",", "")
    frac = parts.struct.field("frac").fill_null("")
    has_digits = (int_part.str.len_chars() + frac.str.len_chars()) > 0
    frac3 = (frac + "000").str.slice(0, 3)
    whole_cents = pl.when(int_part == "").then(pl.lit("0")).otherwise(int_part).cast(
        pl.Int64, strict=False
    ) * 100 + frac3.str.slice(0, 2).cast(pl.Int64)
    rounded = whole_cents + (frac3.str.slice(2, 1).cast(pl.Int8) >= 5).cast(pl.Int64)
    negative = (
        (parts.struct.field("sign") == "-").fill_null(False)
        ^ (parts.struct.field("sign2") == "-").fill_null(False)
        ^ parts.struct.field("trail").is_not_null()
        ^ (parts.struct.field("open").is_not_null() & parts.struct.field("close").is_not_null())
    )
    # Parentheses must be balanced to mean "credit"; one alone is not money.
    balanced = parts.struct.field("open").is_null() == parts.struct.field("close").is_null()
    cents = pl.when(negative).then(-rounded).otherwise(rounded)
    return (
        pl.when(text.is_not_null() & has_digits & balanced & int_part.str.len_chars().le(15))
        .then(money_from_cents(cents))
        .otherwise(pl.lit(None, dtype=MONEY))
    )


def money_from_cents(cents: pl.Expr) -> pl.Expr:
    """A :data:`MONEY` expression from an integer number of cents."""
    return cents.cast(pl.Decimal(38, 0)).cast(MONEY) / pl.lit(100).cast(MONEY)


def to_decimal(value: object) -> Decimal | None:
    """One value as money (a 2-place ``Decimal``), or ``None`` when it is not a number.

    Floats are read through their shortest ``repr`` (``12.5`` → ``Decimal("12.50")``), never
    through their binary value.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        value = repr(value)
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("$", ""))
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
