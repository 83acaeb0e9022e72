"""Rules, the dated commitments table, carrier calendars."""

from __future__ import annotations

import dataclasses
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from okc_recon.carriers.services import service_catalog
from okc_recon.errors import ConfigError
from okc_recon.reconciliation import Commitments, Rules, ServiceCommitment
from okc_recon.reconciliation.calendar import add_business_days, carrier_holidays
from okc_recon.reconciliation.rules import DEFAULT_SEVERITIES, ISSUE_CODES
from okc_recon.schema import CARRIERS

# --- Rules -------------------------------------------------------------------------------------


def test_defaults_are_the_rule_books():
    rules = Rules()
    assert rules.abs_tolerance == Decimal("0.25")
    assert rules.pct_tolerance == Decimal("0.02")
    assert rules.markup == Decimal("0")
    assert rules.compare_flat_rate is False
    assert rules.weight_unit == "auto"
    assert (rules.weight_abs_tolerance_lb, rules.weight_pct_tolerance) == (0.5, 0.10)
    assert (rules.unbilled_grace_days, rules.invoice_grace_days) == (7, 45)
    assert rules.late_grace_seconds == 60
    assert rules.surcharge_types == {
        "delivery_area",
        "additional_handling",
        "saturday",
        "signature",
        "other",
    }
    assert set(rules.severities) == set(ISSUE_CODES)
    assert rules.severity("LATE_DELIVERY") == "high"
    assert rules.commitments == Commitments.default()


def test_rules_are_frozen_hashable_and_keyword_only():
    rules = Rules()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.markup = Decimal("1")  # type: ignore[misc]
    assert hash(rules) == hash(Rules())
    with pytest.raises(TypeError):
        Rules(Decimal("1"))  # type: ignore[misc]
    assert rules.replace(markup="0.1").markup == Decimal("0.1")


def test_numbers_are_taken_exactly_from_text_and_floats():
    rules = Rules(abs_tolerance="0.50", pct_tolerance=0.03, markup=1)  # type: ignore[arg-type]
    assert rules.abs_tolerance == Decimal("0.50")
    assert rules.pct_tolerance == Decimal("0.03")
    assert rules.markup == Decimal("1")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"abs_tolerance": "-1"}, "must not be negative"),
        ({"markup": "-1"}, "markup"),
        ({"markup": "ten"}, "must be a number"),
        ({"markup": "0.1234567"}, "six decimal places"),
        ({"weight_unit": "stone"}, "weight_unit"),
        ({"weight_pct_tolerance": -0.1}, "weight_pct_tolerance"),
        ({"unbilled_grace_days": 1.5}, "unbilled_grace_days"),
        ({"surcharge_types": {"fuel", "teleport"}}, "teleport"),
        ({"service_equivalents": ["fedex_ground"]}, "pairs"),
        ({"severities": {"NOPE": "high"}}, "unknown issue code"),
        ({"severities": {"SURCHARGE": "urgent"}}, "one of"),
        ({"canceled_statuses": "("}, "regular expression"),
        ({"holidays": {"ups": ["tomorrow"]}}, "not a YYYY-MM-DD"),
    ],
)
def test_bad_rules_are_config_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        Rules(**changes)


def test_rules_from_toml(tmp_path: Path):
    (tmp_path / "extra.csv").write_text(
        "carrier,service,valid_from,valid_to,transit_business_days,commitment_time,guaranteed,"
        "claim_window_days,claim_window_start,confidence,source\n"
        "ups,ups_ground,2025-01-01,,3,,true,30,delivery,high,our contract\n",
        encoding="utf-8",
    )
    (tmp_path / "codes.csv").write_text("carrier,alias,service\nfedex,FX77,fedex_2day\n")
    (tmp_path / "rules.toml").write_text(
        """
        abs_tolerance = "0.50"
        markup = 0.1
        weight_unit = "oz"
        surcharge_types = ["saturday"]
        service_equivalents = [["ups_ground", "ups_ground_saver"]]
        commitments = "extra.csv"
        service_map = "codes.csv"
        [severities]
        SURCHARGE = "high"
        [holidays]
        all = ["2025-12-24"]
        """,
        encoding="utf-8",
    )
    rules = Rules.from_toml(tmp_path / "rules.toml")
    assert rules.abs_tolerance == Decimal("0.50")
    assert rules.markup == Decimal("0.1")
    assert rules.weight_unit == "oz"
    assert rules.surcharge_types == {"saturday"}
    assert rules.service_equivalents == {frozenset({"ups_ground", "ups_ground_saver"})}
    assert rules.severity("SURCHARGE") == "high"
    assert rules.severity("ADJUSTMENT") == "low"
    assert rules.holidays == {"all": (date(2025, 12, 24),)}
    row = rules.commitments.lookup("ups", "ups_ground", date(2025, 10, 6))
    assert row is not None
    assert row.guaranteed
    assert row.transit_business_days == 3
    assert rules.service_map is not None
    assert rules.service_map.lookup("fedex", "fx77") == "fedex_2day"
    # the same keys under a [rules] table
    (tmp_path / "nested.toml").write_text('[rules]\nmarkup = "0.2"\n', encoding="utf-8")
    assert Rules.from_toml(tmp_path / "nested.toml").markup == Decimal("0.2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("markup = ", "not valid TOML"),
        ("tolerance = 1", "unknown setting"),
        ("severities = 3", "must be a table"),
        ("commitments = 3", "path to a CSV"),
        ('commitments = "missing.csv"', "cannot read"),
    ],
)
def test_bad_rules_files(tmp_path: Path, text, message):
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        Rules.from_toml(path)
    with pytest.raises(ConfigError, match="cannot read"):
        Rules.from_toml(tmp_path / "nothing.toml")


def test_describe_lists_every_setting_as_text():
    described = Rules().describe()
    assert described["markup"] == "0"
    assert "fedex_ground = fedex_home_delivery" in described["service_equivalents"]
    assert all(isinstance(v, str) for v in described.values())


# --- commitments ---------------------------------------------------------------------------------


def test_the_built_in_table_is_valid_and_dated():
    table = Commitments.default()
    frame = table.frame()
    assert set(frame["carrier"]) <= set(CARRIERS)
    assert set(frame["service"]) <= set(service_catalog()["service"])
    assert set(frame["confidence"]) <= {"high", "med", "low"}
    assert frame.filter(pl.col("source") == "").is_empty()
    assert frame.filter(pl.col("claim_window_days").is_null()).is_empty()


@pytest.mark.parametrize(
    ("carrier", "service", "shipped", "guaranteed", "at"),
    [
        ("ups", "ups_next_day_air", date(2019, 6, 3), True, time(10, 30)),
        ("ups", "ups_next_day_air", date(2020, 6, 3), False, time(10, 30)),
        ("ups", "ups_next_day_air", date(2025, 10, 7), True, time(23, 59)),
        ("ups", "ups_ground", date(2025, 10, 7), False, None),
        ("fedex", "fedex_priority_overnight", date(2022, 12, 20), False, time(10, 30)),
        ("fedex", "fedex_priority_overnight", date(2025, 10, 7), True, time(10, 30)),
        ("fedex", "fedex_2day", date(2025, 10, 7), False, time(16, 30)),
        ("usps", "usps_priority_mail_express", date(2025, 10, 7), True, time(18, 0)),
    ],
)
def test_guarantees_by_date(carrier, service, shipped, guaranteed, at):
    row = Commitments.default().lookup(carrier, service, shipped)
    assert row is not None
    assert row.guaranteed is guaranteed
    assert row.commitment_time == at


def test_added_rows_override_where_they_overlap(tmp_path: Path):
    own = ServiceCommitment(
        carrier="ups",
        service="ups_next_day_air",
        valid_from=date(2025, 10, 1),
        valid_to=date(2025, 10, 31),
        transit_business_days=1,
        commitment_time=time(10, 30),
        guaranteed=True,
        claim_window_days=15,
        claim_window_start="delivery",
    )
    table = Commitments.default().extend([own])
    assert table.lookup("ups", "ups_next_day_air", date(2025, 10, 7)) == own
    assert table.lookup("ups", "ups_next_day_air", date(2025, 11, 7)).commitment_time == time(
        23, 59
    )
    assert Commitments.default().extend(None) == Commitments.default()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("acme,ups_ground,,,1,,true,15,delivery,low,x", "unknown carrier"),
        ("ups,ups_teleport,,,1,,true,15,delivery,low,x", "unknown service"),
        ("ups,ups_ground,2025-13-01,,1,,true,15,delivery,low,x", "valid_from"),
        ("ups,ups_ground,2025-02-01,2025-01-01,1,,true,15,delivery,low,x", "before valid_from"),
        ("ups,ups_ground,,,one,,true,15,delivery,low,x", "whole number"),
        ("ups,ups_ground,,,1,noon,true,15,delivery,low,x", "HH:MM"),
        ("ups,ups_ground,,,1,,maybe,15,delivery,low,x", "true or false"),
        ("ups,ups_ground,,,1,,true,15,pickup,low,x", "claim_window_start"),
    ],
)
def test_bad_commitment_rows(tmp_path: Path, row, message):
    path = tmp_path / "c.csv"
    header = (
        "carrier,service,valid_from,valid_to,transit_business_days,commitment_time,guaranteed,"
        "claim_window_days,claim_window_start,confidence,source"
    )
    path.write_text(f"# comment\n{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        Commitments.from_csv(path)
    path.write_text("carrier,service\nups,ups_ground\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing column"):
        Commitments.from_csv(path)


# --- calendar ------------------------------------------------------------------------------------


def test_carrier_holidays():
    ups = carrier_holidays("ups", [2025])
    assert date(2025, 11, 27) in ups  # Thanksgiving
    assert date(2025, 10, 13) not in ups  # Columbus Day: UPS delivers
    assert date(2025, 10, 13) in carrier_holidays("usps", [2025])
    assert date(2021, 12, 24) in carrier_holidays("fedex", [2021])  # Christmas observed Friday
    assert date(2022, 1, 1) not in carrier_holidays("ups", [2022])  # a Saturday: not a weekday
    extra = carrier_holidays("dhl", [2025], extra={"all": [date(2025, 12, 24)]})
    assert date(2025, 12, 24) in extra


def test_business_days_skip_weekends_and_each_carriers_holidays():
    frame = pl.DataFrame(
        {
            "start": [date(2025, 11, 26), date(2025, 10, 10), date(2025, 10, 11), None],
            "days": [1, 1, 1, 1],
            "carrier": ["ups", "usps", "ups", "ups"],
        }
    )
    out = frame.select(
        add_business_days(pl.col("start"), pl.col("days"), pl.col("carrier"), years=[2025])
    ).to_series()
    # Thanksgiving skipped; Columbus Day skipped by USPS only; Saturday rolls to Monday.
    assert out.to_list() == [date(2025, 11, 28), date(2025, 10, 14), date(2025, 10, 14), None]


def test_default_severities_cover_every_code():
    assert set(DEFAULT_SEVERITIES) == set(ISSUE_CODES)
