from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from okc_recon.money import MONEY, parse_money, to_decimal


def parse(values):
    return (
        pl.DataFrame({"s": values}, schema={"s": pl.Utf8})
        .select(parse_money(pl.col("s")))["s"]
        .to_list()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", "12.50"),
        ("-3.00", "-3.00"),
        ("$1,234.50", "1234.50"),
        ("(4.20)", "-4.20"),
        ("4.20-", "-4.20"),
        ("4.20CR", "-4.20"),
        ("$0.00000", "0.00"),
        ("0.125", "0.13"),
        ("-0.125", "-0.13"),
        ("12.345", "12.35"),
        ("12.355", "12.36"),
        (" 7 ", "7.00"),
        (".5", "0.50"),
        ("-$5.00", "-5.00"),
        ("$-5.00", "-5.00"),
    ],
)
def test_parse_money_accepts_invoice_spellings(text, expected):
    assert parse([text]) == [Decimal(expected)]


@pytest.mark.parametrize(
    "text", ["", "abc", "1e3", "-", "1,23", "(4.20", "12.3.4", None, "١٢", "١٢.50", "$١,٢٣٤.00"]
)
def test_parse_money_rejects_non_money(text):
    assert parse([text]) == [None]


@given(
    st.decimals(
        min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False
    )
)
def test_parse_money_rounds_half_up_like_decimal(value):
    expected = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert parse([format(value, "f")]) == [expected]


def test_dtype_is_exact_two_places():
    assert pl.DataFrame({"s": ["1.10"]}).select(parse_money(pl.col("s"))).schema["s"] == MONEY


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.5, "12.50"),
        (0.1 + 0.2, "0.30"),
        ("1,000.005", "1000.01"),
        (3, "3.00"),
        (None, None),
        (True, None),
        (float("nan"), None),
        ("x", None),
        (Decimal("2.675"), "2.68"),
    ],
)
def test_to_decimal(value, expected):
    assert to_decimal(value) == (None if expected is None else Decimal(expected))


def test_plain_and_spelled_amounts_mixed_in_one_column_keep_their_rows():
    values = ["1.10", "(2.00)", None, "3", "$4.005", "x", "-5.5", "", "6.00CR", "7.01"]
    expected = ["1.10", "-2.00", None, "3.00", "4.01", None, "-5.50", None, "-6.00", "7.01"]
    assert parse(values) == [None if e is None else Decimal(e) for e in expected]


def test_parse_money_works_inside_lazy_frames_and_keeps_the_column_name():
    out = (
        pl.LazyFrame({"amt": ["1.00", "(1.00)"]}).with_columns(parse_money(pl.col("amt"))).collect()
    )
    assert out.schema == pl.Schema({"amt": MONEY})
    assert out["amt"].to_list() == [Decimal("1.00"), Decimal("-1.00")]
