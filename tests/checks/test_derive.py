"""The Polars side of the checks: derived columns, option handling, the frame GX reads."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_series_equal

from okc_recon.checks import FULFILLMENT_CHECKS, INVOICE_CHECKS, CheckLimits
from okc_recon.checks._checks import resolve_checks
from okc_recon.checks._derive import (
    _band_labels,
    _robust_z,
    derive_fulfillments,
    url_host,
    with_tracking_keys,
)
from okc_recon.checks._run import _text_codes, gx_frame, resolve_as_of
from okc_recon.errors import ConfigError
from tests.checks.conftest import Fulfillments


def test_url_host() -> None:
    urls = pl.Series(
        [
            "https://www.FedEx.com/fedextrack/?trknbr=1",
            "http://user@tools.usps.com:443/go",
            "www.ups.com/track?x=1",
            "  https://dhl.de  ",
            None,
            "",
        ]
    )
    hosts = pl.select(url_host(pl.lit(urls))).to_series()
    assert hosts.to_list() == [
        "www.fedex.com",
        "tools.usps.com",
        "www.ups.com",
        "dhl.de",
        None,
        None,
    ]


def test_robust_z_uses_mad_then_mean_deviation() -> None:
    frame = pl.DataFrame(
        {
            "g": ["a"] * 9 + ["b"] * 9 + ["c"] * 3,
            "x": [10.0, 10.5, 9.5, 10.0, 10.5, 9.5, 10.0, 10.0, 40.0]
            + [10.0] * 8
            + [11.0]
            + [1.0, 2.0, 300.0],
        }
    )
    z = _robust_z(frame, "x", ["g"], 8)["charge_robust_z"]
    a = z[:9].to_list()
    # group a: median 10, MAD 0.5 -> 0.6745 * 30 / 0.5
    assert a[8] == pytest.approx(0.6745 * 30 / 0.5)
    assert max(abs(v) for v in a[:8]) < 1
    # group b: MAD 0 (most values equal): the mean absolute deviation stands in
    b = z[9:18].to_list()
    assert b[:8] == [0.0] * 8
    assert b[8] == pytest.approx(1.0 / (1.253314 * (1.0 / 9)))
    # group c is too small to judge
    assert z[18:].to_list() == [None, None, None]


def test_band_labels_double() -> None:
    labels = _band_labels(pl.Series([-1, 0, 0, 3, None]), "lb")
    assert labels == {-1: "0.5–1 lb", 0: "1–2 lb", 3: "8–16 lb"}


def test_tracking_keys_filled_only_where_missing() -> None:
    frame = pl.DataFrame(
        {
            "tracking_number": ["1z 5r8 939 03 5756 7127", "X1", "7.9464E+11", None],
            "tracking_key": [None, "KEPT", None, None],
        }
    )
    out = with_tracking_keys(frame)["tracking_key"]
    assert out.to_list() == ["1Z5R89390357567127", "KEPT", None, None]


def test_derived_fulfillment_columns() -> None:
    builder = Fulfillments(seed=41).clean(2)
    builder.add(status="In Transit", pickup_date=None, delivery_date=None, weight=8.0)
    builder.add(status="Awaiting Pickup", pickup_date=None, delivery_date=None)
    derived = derive_fulfillments(
        builder.frame(),
        as_of=datetime(2025, 10, 3, tzinfo=UTC),
        limits=CheckLimits(),
        weight_unit="oz",
    )
    assert derived["shipped"].to_list() == [True, True, True, False]
    assert derived["transit_days"].to_list() == [3, 3, None, None]
    assert derived["pickup_lag_days"].to_list() == [1, 1, None, None]
    # delivered on 10-05 15:30, as of 10-03 00:00: 2.65 days ahead
    assert derived["days_after_as_of"][0] == pytest.approx(2.6458, abs=1e-3)
    assert derived["weight_lb"].to_list() == [1.5 / 16, 1.5 / 16, 0.5, 1.5 / 16]
    assert derived["weight_band"][2] == "0.5–1 lb"
    assert derived["tracking_url_host_ok"].to_list() == [True] * 4
    assert derived["tracking_valid"].to_list() == [True] * 4
    assert derived["record_id"].to_list() == ["F0001", "F0002", "F0003", "F0004"]


def test_gx_frame_keeps_what_each_check_tests() -> None:
    frame = Fulfillments(seed=43).clean(5).frame()
    derived = derive_fulfillments(
        frame, as_of=datetime(2025, 10, 31, tzinfo=UTC), limits=CheckLimits(), weight_unit="lb"
    )
    out = gx_frame(derived, FULFILLMENT_CHECKS)
    # every column a check validates or conditions on, and nothing that is text
    wanted = {c.column for c in FULFILLMENT_CHECKS} | {c.when for c in FULFILLMENT_CHECKS if c.when}
    assert set(out.columns) == wanted
    assert pl.Utf8 not in out.schema.dtypes()
    assert isinstance(out.schema["carrier_code"], pl.Enum)


def test_text_codes_are_exact() -> None:
    frame = pl.DataFrame({"t": ["a", "b", "a", None, "c", "b"]})
    codes = frame.select(_text_codes(frame, "t", exact=True)).to_series()
    assert codes.is_null().to_list() == [False, False, False, True, False, False]
    assert codes[0] == codes[2]
    assert codes[1] == codes[5]
    assert codes.drop_nulls().n_unique() == 3
    assert codes.max() < 2**52  # exact in pandas' float64
    assert_series_equal(codes.is_duplicated(), frame["t"].is_duplicated(), check_names=False)


def test_resolve_checks_validates_options() -> None:
    checks = resolve_checks("invoice_lines", thresholds=0.75, severities={"amount_present": "info"})
    assert {c.mostly for c in checks} == {0.75}
    assert next(c for c in checks if c.name == "amount_present").severity == "info"
    assert [c.name for c in checks] == [c.name for c in INVOICE_CHECKS]
    with pytest.raises(ConfigError, match="known: "):
        resolve_checks("invoice_lines", severities={"weight_positive": "error"})


def test_limits_are_validated() -> None:
    with pytest.raises(ConfigError):
        CheckLimits(min_weight_lb=5, max_weight_lb=1)
    with pytest.raises(ConfigError):
        CheckLimits(charge_z_max=0)
    with pytest.raises(ConfigError):
        CheckLimits(min_amount=10, max_amount=-10)


def test_resolve_as_of() -> None:
    assert resolve_as_of("2025-10-31") == datetime(2025, 10, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert resolve_as_of(date(2025, 10, 31)) == resolve_as_of("2025-10-31")
    assert resolve_as_of(datetime(2025, 10, 31, 12)) == datetime(2025, 10, 31, 12, tzinfo=UTC)
    assert resolve_as_of("2025-10-31T08:00:00-04:00") == datetime(2025, 10, 31, 12, tzinfo=UTC)


def test_importing_the_checks_does_not_import_gx_or_pandas() -> None:
    code = (
        "import sys, okc_recon.checks; "
        "print(','.join(m for m in ('great_expectations', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
