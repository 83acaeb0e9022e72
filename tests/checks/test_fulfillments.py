from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from okc_recon import CheckReport, ConfigError, check_fulfillments
from okc_recon.carriers.tracking import make_tracking_number, tracking_key
from okc_recon.checks import EXPECTATIONS_SCHEMA, FAILURES_SCHEMA, FULFILLMENT_CHECKS
from okc_recon.money import MONEY
from okc_recon.schema import INVOICE_LINE_SCHEMA, conform
from tests.checks.conftest import AS_OF, Fulfillments, clean_fulfillments, pairs

pytestmark = pytest.mark.xdist_group("gx")


@pytest.fixture(scope="module")
def report(fulfillment_case: tuple[pl.DataFrame, set[tuple[str, str]]]) -> CheckReport:
    return check_fulfillments(fulfillment_case[0], as_of=AS_OF, weight_unit="lb")


def test_every_planted_problem_is_found_and_named(
    report: CheckReport, fulfillment_case: tuple[pl.DataFrame, set[tuple[str, str]]]
) -> None:
    frame, expected = fulfillment_case
    # exactly the planted problems: every one named by its record, nothing else flagged
    assert pairs(report.failures) == expected
    assert {check for _, check in expected} == {c.name for c in FULFILLMENT_CHECKS}
    assert report.rows == {"fulfillments": frame.height}


def test_failures_show_the_offending_values(report: CheckReport) -> None:
    values = dict(
        report.failures.select(
            pl.concat_str("record_id", "expectation", separator="/"), "value"
        ).iter_rows()
    )
    by_check = report.failures.group_by("expectation").agg(pl.col("value"))
    shown = {row[0]: row[1] for row in by_check.iter_rows()}
    assert any("shipping_net_charge=-3.10" in v for v in shown["charge_positive"])
    assert any("shipping_net_charge=0.00" in v for v in shown["charge_positive"])
    assert any("detected_carrier=fedex" in v for v in shown["tracking_number_valid"])
    assert any("delivery_date=2025-11-04T00:00:00Z" in v for v in shown["dates_not_in_future"])
    assert any("tracking_number=7.9464E+11" in v for v in shown["tracking_number_not_corrupted"])
    assert any("tracking_url_host=track.example.net" in v for v in shown["tracking_url_host"])
    assert any("shipping_net_charge=95.00" in v for v in shown["charge_not_anomalous"])
    assert any("weight_unit=lb" in v for v in shown["weight_plausible"])
    # a record without an id is named by its row
    missing = [k for k in values if k.endswith("/fulfillment_id_present")]
    assert len(missing) == 1
    assert missing[0].startswith("(row ")


def test_frames_have_their_schemas_and_agree(report: CheckReport) -> None:
    assert dict(report.expectations.schema) == dict(EXPECTATIONS_SCHEMA)
    assert dict(report.failures.schema) == dict(FAILURES_SCHEMA)
    assert report.expectations["expectation"].to_list() == [c.name for c in FULFILLMENT_CHECKS]
    # GX's unexpected counts are exactly the failure rows reported per check
    counts = report.failures.group_by("expectation").len()
    joined = report.expectations.join(counts, on="expectation", how="left").with_columns(
        pl.col("len").fill_null(0).cast(pl.Int64)
    )
    assert joined["unexpected_count"].to_list() == joined["len"].to_list()
    assert (joined["success"] == (joined["unexpected_count"] == 0)).all()
    assert set(report.expectations["status"]) == {"failed"}
    assert not report.success
    assert report.weight_unit == "lb"
    assert report.weight_inference is None


def test_a_clean_frame_passes_every_expectation() -> None:
    report = check_fulfillments(clean_fulfillments(), as_of=AS_OF, weight_unit="lb")
    assert report.success
    assert report.failures.is_empty()
    assert report.expectations["status"].to_list() == ["passed"] * len(FULFILLMENT_CHECKS)
    assert not report.failed_over_threshold("info")
    assert report.warnings == ()


def test_unknown_weight_unit_skips_weight_magnitude_checks_with_a_warning() -> None:
    builder = Fulfillments(seed=11).clean(10)
    builder.add(weight=400.0)  # implausible in lb, plausible in oz: must not be flagged
    report = check_fulfillments(builder.frame(), as_of=AS_OF)  # auto, no invoice lines
    assert report.weight_unit is None
    assert report.success
    skipped = report.expectations.filter(pl.col("status") == "skipped")
    assert skipped["expectation"].to_list() == ["weight_plausible"]
    assert skipped["success"].to_list() == [None]
    assert skipped["note"].to_list() == ["weight unit unknown"]
    assert len(report.warnings) == 1
    assert "weight magnitude checks were skipped" in report.warnings[0]
    assert report.summary().filter(pl.col("suite") == "all")["skipped"].item() == 1


def _matched_invoice_lines(frame: pl.DataFrame, entered_lb: float) -> pl.DataFrame:
    lines = frame.select(
        pl.lit("ups").alias("carrier"),
        pl.col("tracking_number"),
        tracking_key(pl.col("tracking_number")).alias("tracking_key"),
        pl.lit(entered_lb).alias("entered_weight"),
        pl.lit(entered_lb).round(0).alias("billed_weight"),
        pl.lit("lb").alias("weight_unit"),
        pl.lit(False).alias("rated_on_dim"),
        pl.lit(date(2025, 10, 10)).alias("invoice_date"),
        pl.lit(Decimal("8.40")).cast(MONEY).alias("amount"),
    )
    return conform(lines, INVOICE_LINE_SCHEMA)


def test_auto_weight_unit_is_inferred_from_matched_invoice_lines() -> None:
    builder = Fulfillments(seed=13)
    for _ in range(30):
        builder.add(weight=24.0)  # ounces: 1.5 lb on the invoices
    builder.add("weight_plausible", weight=4000.0)  # 250 lb
    frame = builder.frame()  # no tracking keys: they are derived from the numbers
    lines = _matched_invoice_lines(frame.head(30), 1.5)
    report = check_fulfillments(frame, as_of=AS_OF, invoice_lines=lines)
    assert report.weight_unit == "oz"
    assert report.weight_inference is not None
    assert report.weight_inference.unit == "oz"
    assert report.weight_inference.confidence > 0.3
    assert report.warnings == ()
    assert pairs(report.failures) == builder.expected
    assert "inferred as oz" in report._repr_html_()


def test_undecided_inference_warns_and_skips() -> None:
    builder = Fulfillments(seed=17).clean(5)
    frame = builder.frame()
    lines = _matched_invoice_lines(frame, 1.5)  # 5 matches: too few to decide
    report = check_fulfillments(frame, as_of=AS_OF, invoice_lines=lines)
    assert report.weight_unit is None
    assert report.weight_inference is not None
    assert report.weight_inference.matched == 5
    assert "weight unit not inferred" in report.warnings[0]
    assert report.expectations.filter(pl.col("expectation") == "weight_plausible")[
        "status"
    ].to_list() == ["skipped"]


def test_thresholds_and_severities_are_configurable(
    fulfillment_case: tuple[pl.DataFrame, set[tuple[str, str]]],
) -> None:
    frame, _ = fulfillment_case
    report = check_fulfillments(
        frame,
        as_of=AS_OF,
        weight_unit="lb",
        thresholds={"charge_positive": 0.9, "tracking_url_host": 0.5},
        severities={"charge_positive": "info", "tracking_number_unique": "warning"},
    )
    exp = {row["expectation"]: row for row in report.expectations.iter_rows(named=True)}
    # 2 of the charges are not positive: 90% must pass, and more than that do
    assert exp["charge_positive"]["mostly"] == 0.9
    assert exp["charge_positive"]["success"] is True
    assert exp["charge_positive"]["severity"] == "info"
    assert exp["tracking_number_unique"]["severity"] == "warning"
    assert exp["tracking_url_host"]["success"] is True
    # the failing records are still listed, with the configured severity
    charge = report.failures.filter(pl.col("expectation") == "charge_positive")
    assert charge.height == 2
    assert set(charge["severity"]) == {"info"}
    # one number for every check
    strict = check_fulfillments(frame, as_of=AS_OF, weight_unit="lb", thresholds=0.5)
    assert strict.expectations["mostly"].unique().to_list() == [0.5]
    assert strict.success


def test_as_of_defaults_to_now() -> None:
    builder = Fulfillments(seed=19).clean(3)
    tomorrow = datetime.now(UTC) + timedelta(days=2)
    builder.add("dates_not_in_future", updated_at=tomorrow)
    report = check_fulfillments(builder.frame(), weight_unit="lb")
    assert pairs(report.failures) == builder.expected
    assert abs((report.as_of - datetime.now(UTC)).total_seconds()) < 600


def test_options_are_validated_before_any_work() -> None:
    frame = clean_fulfillments()
    with pytest.raises(ConfigError, match="unknown fulfillments check"):
        check_fulfillments(frame, thresholds={"no_such_check": 0.5})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        check_fulfillments(frame, thresholds={"charge_positive": 1.5})
    with pytest.raises(ConfigError, match="must be one of error, warning, info"):
        check_fulfillments(frame, severities={"charge_positive": "fatal"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="weight_unit must be one of"):
        check_fulfillments(frame, weight_unit="stone")
    with pytest.raises(ConfigError, match="as_of must be a date"):
        check_fulfillments(frame, as_of="31/10/2025")


def test_duplicate_ids_are_each_reported_with_their_row() -> None:
    rng = random.Random(2301)
    builder = Fulfillments(seed=23).clean(4)
    number = make_tracking_number("ups", rng)
    for _ in range(3):
        builder.add(fulfillment_id="SAME", tracking_number=number)
    report = check_fulfillments(
        builder.frame(), as_of=AS_OF, weight_unit="lb", severities=None, thresholds=None
    )
    dup = report.failures.filter(pl.col("expectation") == "fulfillment_id_unique")
    assert dup["row"].to_list() == [4, 5, 6]
    assert set(dup["record_id"]) == {"SAME"}
    same_tracking = report.failures.filter(pl.col("expectation") == "tracking_number_unique")
    assert same_tracking["row"].to_list() == [4, 5, 6]
    assert_frame_equal(
        dup.select("suite", "severity").unique(),
        pl.DataFrame({"suite": ["fulfillments"], "severity": ["error"]}),
    )
