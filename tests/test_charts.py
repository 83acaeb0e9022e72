"""Altair charts of a reconciliation: the small frames behind them, and the chart specs."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from okc_recon.carriers.invoices import read_invoices
from okc_recon.charts import (
    money_at_stake_chart,
    money_at_stake_frame,
    transit_days_chart,
    transit_days_frame,
)
from okc_recon.fulfillments import read_fulfillments
from okc_recon.reconciliation import Reconciliation, reconcile

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="session")
def recon() -> Reconciliation:
    statuses = json.loads((SAMPLE / "statuses.json").read_text(encoding="utf-8"))
    fulfillments = read_fulfillments(SAMPLE / "fulfillments.json", statuses=statuses)
    return reconcile(fulfillments, read_invoices(SAMPLE / "invoices").lines, period="2025-10")


def test_money_at_stake_adds_up_to_the_issue_summary(recon: Reconciliation) -> None:
    frame = money_at_stake_frame(recon)
    assert "all" not in frame["carrier"].to_list()
    totals = recon.issue_summary.filter(pl.col("carrier") == "all")
    by_code = frame.group_by("issue_code").agg(
        pl.col("amount_at_stake").sum(), pl.col("exceptions").sum()
    )
    joined = totals.join(by_code, on="issue_code", suffix="_chart")
    assert joined.height == totals.height
    for row in joined.iter_rows(named=True):
        assert row["amount_at_stake_chart"] == pytest.approx(float(row["amount_at_stake"]))
        assert row["exceptions_chart"] == row["exceptions"]


def test_transit_days_count_every_delivered_shipment(recon: Reconciliation) -> None:
    frame = transit_days_frame(recon)
    dated = recon.shipments.filter(
        pl.col("ship_date").is_not_null() & pl.col("delivery_date").is_not_null()
    )
    assert int(frame["shipments"].sum()) == dated.height
    assert frame["transit_days"].min() >= 0
    assert frame.select("carrier", "service", "transit_days").is_duplicated().sum() == 0


def test_the_charts_are_altair_specs(recon: Reconciliation) -> None:
    money = money_at_stake_chart(recon).to_dict()
    assert money["mark"]["type"] == "bar"
    assert money["encoding"]["x"]["field"] == "carrier"
    assert money["encoding"]["color"]["field"] == "issue_code"
    assert "2025-10" in json.dumps(money["title"])
    (values,) = money["datasets"].values()
    assert len(values) == money_at_stake_frame(recon).height

    transit = transit_days_chart(recon).to_dict()
    marks = [layer["mark"]["type"] for layer in transit["layer"]]
    assert marks == ["rect", "text"]
    assert {layer["encoding"]["y"]["field"] for layer in transit["layer"]} == {"service"}


def test_a_month_without_exceptions_still_charts(recon: Reconciliation) -> None:
    import dataclasses

    empty = dataclasses.replace(
        recon,
        issue_summary=recon.issue_summary.clear(),
        shipments=recon.shipments.clear(),
    )
    assert money_at_stake_frame(empty).height == 0
    assert money_at_stake_chart(empty).to_dict()["mark"]["type"] == "bar"
    assert transit_days_frame(empty).height == 0
    assert transit_days_chart(empty).to_dict()["layer"]
