"""Field parsers: the fast money path equals parse_money; dates, times, units, flags."""

from __future__ import annotations

from datetime import date, time

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okc_recon.carriers._fields import (
    flag,
    lookup,
    money_columns,
    parse_date,
    parse_time,
    parse_weight,
    weight_unit,
)
from okc_recon.money import parse_money

money_texts = st.one_of(
    st.decimals(min_value=-(10**6), max_value=10**6, places=2).map(str),
    st.decimals(min_value=-1000, max_value=1000, places=5).map(str),
    st.from_regex(r"\(?-?\$?[0-9]{0,7}(,[0-9]{3})?(\.[0-9]{0,4})?\)?(CR|-)?", fullmatch=True),
    st.text(max_size=6),
    st.none(),
)


@given(st.lists(money_texts, min_size=1, max_size=30))
@settings(max_examples=150, deadline=None)
def test_money_columns_equals_parse_money(values: list[str | None]) -> None:
    frame = pl.DataFrame(
        {"a": values, "b": list(reversed(values))}, schema={"a": pl.Utf8, "b": pl.Utf8}
    )
    fast = money_columns(frame, ["a", "b"])
    slow = frame.select(parse_money(pl.col("a")), parse_money(pl.col("b")))
    assert fast.to_dict(as_series=False) == slow.to_dict(as_series=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20251006", date(2025, 10, 6)),
        ("2025-10-06", date(2025, 10, 6)),
        ("10/6/2025", date(2025, 10, 6)),
        ("2025-10-06 00:00:00", date(2025, 10, 6)),
        ("2025-10-06T23:30:00Z", date(2025, 10, 6)),
        ("2025-10-06T23:30:00-05:00", date(2025, 10, 7)),  # UTC day
        ("20251306", None),
        ("junk", None),
        (None, None),
    ],
)
def test_parse_date(text: str | None, expected: date | None) -> None:
    frame = pl.DataFrame({"d": [text]}, schema={"d": pl.Utf8})
    assert frame.select(parse_date(pl.col("d"))).item() == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1030", time(10, 30)), ("0:00", time(0, 0)), ("9:05", time(9, 5)),
     ("12:30:15", time(12, 30, 15)), ("2460", None), ("x", None)],
)  # fmt: skip
def test_parse_time(text: str, expected: time | None) -> None:
    assert pl.select(parse_time(pl.lit(text))).item() == expected


@pytest.mark.parametrize(
    ("code", "unit"),
    [("L", "lb"), ("lbs", "lb"), ("LB", "lb"), ("K", "kg"), ("KGS", "kg"), ("O", "oz"),
     ("oz", "oz"), ("G", "g"), ("I", None), (None, None)],
)  # fmt: skip
def test_weight_unit(code: str | None, unit: str | None) -> None:
    frame = pl.DataFrame({"u": [code]}, schema={"u": pl.Utf8})
    assert frame.select(weight_unit(pl.col("u"))).item() == unit


def test_parse_weight_and_flag() -> None:
    frame = pl.DataFrame({"w": ["3.1", "20", "0.0", "1,200.5", "x", None],
                          "f": ["TRUE", "false", "Y", "1", "", None]})  # fmt: skip
    out = frame.select(parse_weight(pl.col("w")), flag(pl.col("f")))
    assert out["w"].to_list() == [3.1, 20.0, None, 1200.5, None, None]
    assert out["f"].to_list() == [True, False, True, True, None, None]


def test_lookup_equals_the_expression_on_every_row() -> None:
    values = ["20251006", "2025-10-07", None, "junk", "20251006"] * 3
    frame = pl.DataFrame({"d": values})
    direct = frame.select(parse_date(pl.col("d")))["d"]
    looked = frame.select(lookup(frame, "d", parse_date, pl.Date()))["d"]
    assert looked.to_list() == direct.to_list()
    # a function that maps null to a value keeps doing so
    filled = frame.select(lookup(frame, "d", lambda e: e.fill_null("none"), pl.Utf8()))["d"]
    assert filled.to_list() == [v if v is not None else "none" for v in values]
