"""The suites on the sandbox's generated data: every deliberately bad record is found."""

from __future__ import annotations

import polars as pl
import pytest

from okc_recon import CheckReport, check_fulfillments
from okc_recon.fulfillments import fulfillments_frame
from okc_recon.sandbox import GeneratorConfig, World, generate

pytestmark = pytest.mark.xdist_group("gx")

CONFIG = GeneratorConfig(seed=11, orders_per_month=150, months=2)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(CONFIG)


@pytest.fixture(scope="module")
def checked(world: World) -> tuple[pl.DataFrame, pl.DataFrame, CheckReport]:
    frame, rejected = fulfillments_frame(world.fulfillments, statuses=world.statuses)
    return frame, rejected, check_fulfillments(frame, as_of="2025-12-31")


def test_every_bad_record_is_found(
    world: World, checked: tuple[pl.DataFrame, pl.DataFrame, CheckReport]
) -> None:
    frame, rejected, report = checked
    assert len(world.bad_records) >= 7 * CONFIG.months
    named = set(report.failures["record_id"])
    rejected_ids = set(rejected["fulfillment_id"].drop_nulls())
    without_id = [fid for fid, what in world.bad_records.items() if "no id" in what]
    for fid, what in world.bad_records.items():
        if fid in without_id:
            continue
        # records that do not parse are the reader's to report; the rest are the checks'
        assert fid in named or fid in rejected_ids, (fid, what)
        assert not (fid in named and fid in rejected_ids)
    # a record with no id cannot be named by it: the reader keeps it aside, one per bad record
    assert rejected.filter(pl.col("fulfillment_id").is_null()).height == len(without_id)
    in_frame = {fid for fid in world.bad_records if fid in set(frame["fulfillment_id"])}
    assert in_frame <= named
    assert len(in_frame) >= 4 * CONFIG.months


def test_errors_are_bad_records_or_planted_problems(
    world: World, checked: tuple[pl.DataFrame, pl.DataFrame, CheckReport]
) -> None:
    """No false alarms at error level: each error names a bad record, a planted problem
    OKC's data really has (a carrier that does not match the tracking number), or the
    fulfillment whose tracking number a bad record duplicates."""
    frame, _, report = checked
    bad = set(world.bad_records)
    planted = {p.fulfillment_id for p in world.planted if p.fulfillment_id}
    bad_keys = frame.filter(pl.col("fulfillment_id").is_in(list(bad)))["tracking_key"].drop_nulls()
    partners = set(frame.filter(pl.col("tracking_key").is_in(bad_keys.to_list()))["fulfillment_id"])
    errors = report.failures.filter(pl.col("severity") == "error")
    unexplained = errors.filter(~pl.col("record_id").is_in(list(bad | planted | partners)))
    assert unexplained.is_empty(), unexplained
    mismatches = errors.filter(
        pl.col("record_id").is_in(list(planted - bad)) & ~pl.col("record_id").is_in(list(partners))
    )
    assert set(mismatches["expectation"]) <= {"tracking_number_valid"}
    assert report.weight_unit is None  # auto, and no invoice lines given
