"""The suites on ``sample_data/``: the sample month's files, read by the real readers."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from okc_recon import CheckReport, check_fulfillments, check_invoices, read_invoices
from okc_recon.fulfillments import load_fulfillments
from okc_recon.sandbox import generate

pytestmark = pytest.mark.xdist_group("gx")

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def sample() -> tuple[pl.DataFrame, CheckReport]:
    if not (SAMPLE / "fulfillments.json").is_file():
        pytest.skip("sample_data/ has not been generated")
    statuses = json.loads((SAMPLE / "statuses.json").read_text(encoding="utf-8"))
    frame, _ = load_fulfillments(SAMPLE / "fulfillments.json", statuses=statuses)
    lines = read_invoices(SAMPLE / "invoices").lines
    report = check_fulfillments(frame, as_of="2025-12-31", invoice_lines=lines).combine(
        check_invoices(lines, as_of="2025-12-31")
    )
    return frame, report


def test_weight_unit_is_inferred_from_the_invoices(
    sample: tuple[pl.DataFrame, CheckReport],
) -> None:
    _, report = sample
    assert report.weight_unit == "lb"
    assert report.weight_inference is not None
    assert report.weight_inference.confidence > 0.9
    assert report.warnings == ()
    assert report.expectations.filter(pl.col("status") == "skipped").is_empty()


def test_invoice_errors_are_the_excel_mangled_number_only(
    sample: tuple[pl.DataFrame, CheckReport],
) -> None:
    _, report = sample
    errors = report.failures.filter(
        (pl.col("suite") == "invoice_lines") & (pl.col("severity") == "error")
    )
    # README: FedEx tracking number 147719547905 is written as Excel shows it
    assert errors["expectation"].unique().to_list() == ["tracking_number_not_corrupted"]
    assert errors.height == 1
    assert errors["value"].item().startswith("tracking_number=1.4772E+11")
    assert errors["record_id"].item().endswith(".csv:2")


def test_fulfillment_errors_are_the_generators_bad_records_and_plants(
    sample: tuple[pl.DataFrame, CheckReport],
) -> None:
    frame, report = sample
    world = generate()  # the sample month's world (seed 2025)
    bad = set(world.bad_records)
    planted = {p.fulfillment_id for p in world.planted if p.fulfillment_id}
    bad_keys = frame.filter(pl.col("fulfillment_id").is_in(list(bad)))["tracking_key"]
    partners = set(
        frame.filter(pl.col("tracking_key").is_in(bad_keys.drop_nulls().to_list()))[
            "fulfillment_id"
        ]
    )
    errors = report.failures.filter(
        (pl.col("suite") == "fulfillments") & (pl.col("severity") == "error")
    )
    assert not errors.is_empty()
    assert set(errors["record_id"]) <= bad | planted | partners
    in_frame_bad = bad & set(frame["fulfillment_id"])
    assert in_frame_bad <= set(report.failures["record_id"])
