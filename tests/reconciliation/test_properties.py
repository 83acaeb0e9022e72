"""The reconciliation's invariants (rule book, "Invariants"), as Hypothesis properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okc_recon.money import MONEY
from okc_recon.reconciliation import Reconciliation
from okc_recon.schema import CHARGE_CATEGORIES, CHARGE_TYPES
from tests.reconciliation.factory import fulfillment, line, run, utc

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# the two variance properties draw simpler cases: fewer examples cover them
FEWER = settings(SETTINGS, max_examples=15)
KEYS = [f"T{i}" for i in range(6)]
keys = st.sampled_from(KEYS)
maybe_keys = st.one_of(st.none(), keys)
cents = st.integers(min_value=-2_000, max_value=9_000)
days = st.integers(min_value=-50, max_value=60)
OCT_1 = date(2025, 10, 1)


def money(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


@st.composite
def fulfillment_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for index in range(draw(st.integers(min_value=0, max_value=7))):
        key = draw(maybe_keys)
        pickup = draw(st.one_of(st.none(), days))
        rows.append(
            fulfillment(
                key,
                fulfillment_id=f"F{index}",
                status=draw(st.sampled_from(["Shipped", "Delivered", "Canceled", "Pending", None])),
                pickup=None if pickup is None else OCT_1 + timedelta(days=pickup),
                created_at=utc(OCT_1 + timedelta(days=draw(days))),
                shipping_net_charge=draw(st.one_of(st.none(), cents.map(money))),
                shipping_charge_model=draw(st.sampled_from(["cost_plus", "flat_rate", None])),
                weight=draw(st.one_of(st.none(), st.floats(min_value=0.1, max_value=40))),
                carrier=draw(st.sampled_from(["ups", "fedex", None])),
            )
        )
    return rows


@st.composite
def line_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        invoice = draw(st.integers(min_value=0, max_value=3))
        rows.append(
            line(
                draw(maybe_keys),
                str(money(draw(cents))),
                alt_tracking_key=draw(maybe_keys),
                invoice_number=f"I-{invoice}",
                invoice_date=OCT_1 + timedelta(days=7 * invoice),
                ship_date=draw(st.one_of(st.none(), days.map(lambda d: OCT_1 + timedelta(d)))),
                charge_category=draw(st.sampled_from(CHARGE_CATEGORIES)),
                charge_type=draw(st.sampled_from(CHARGE_TYPES)),
                carrier=draw(st.sampled_from(["ups", "fedex"])),
                source_file=draw(st.sampled_from(["a.csv", "b.csv"])),
                rated_on_dim=draw(st.booleans()),
            )
        )
    return rows


def _total(frame: pl.DataFrame, column: str) -> Decimal:
    value = frame.select(pl.col(column).cast(MONEY).sum()).item()
    return Decimal("0.00") if value is None else value


def _check_accounting(recon: Reconciliation, fulfillments: list, lines: list) -> None:
    # every fulfillment in exactly one shipment row or in cannot_reconcile
    placed = recon.shipments["fulfillment_id"].to_list()
    placed += recon.cannot_reconcile["fulfillment_id"].to_list()
    assert sorted(placed) == sorted(row["fulfillment_id"] for row in fulfillments)
    # every line assigned to exactly one shipment or unmatched
    out = recon.invoice_lines
    assert out.height == len(lines)
    assigned = out.filter(pl.col("assigned") == "shipment")
    assert assigned["shipment_key"].null_count() == 0
    assert set(assigned["shipment_key"]) <= set(recon.shipments["tracking_key"])
    carrier_side = recon.unmatched.filter(pl.col("side") == "carrier")
    assert carrier_side.height == out.height - assigned.height
    assert assigned.group_by("shipment_key").len().sort("shipment_key")["len"].to_list() == (
        recon.shipments.filter(pl.col("line_count") > 0)
        .sort("tracking_key")["line_count"]
        .to_list()
    )
    # money in = money out, to the cent
    money_in = sum((row["amount"] for row in lines), Decimal("0.00"))
    assert money_in == _total(recon.shipments, "carrier_total") + _total(carrier_side, "amount")
    # the exceptions add up to the shipments' and the summary's figures
    on_shipments = recon.exceptions.filter(pl.col("issue_code") != "NOT_IN_OKC")
    assert _total(on_shipments, "amount_at_stake") == _total(recon.shipments, "amount_at_stake")
    everything = recon.summary.filter(pl.col("carrier") == "all").row(0, named=True)
    assert everything["exceptions"] == recon.exceptions.height
    assert everything["amount_at_stake"] == _total(recon.exceptions, "amount_at_stake")
    per_carrier = recon.summary.filter(pl.col("carrier") != "all")
    for column in ("shipments", "okc_charges", "carrier_billed", "exceptions", "amount_at_stake"):
        assert everything[column] == per_carrier[column].sum() or per_carrier.is_empty()


@SETTINGS
@given(fulfillment_rows(), line_rows())
def test_every_fulfillment_and_line_is_accounted_for_and_money_balances(fulfillments, lines):
    recon = run(fulfillments, lines)
    _check_accounting(recon, fulfillments, lines)


@st.composite
def shipments_billed_once(draw: st.DrawFn) -> tuple[list[dict], list[dict]]:
    """Cost-plus shipments with distinct keys, each billed by one transportation line."""
    count = draw(st.integers(min_value=1, max_value=6))
    fulfillments, lines = [], []
    for index in range(count):
        key = f"S{index}"
        okc, carrier = draw(cents), draw(cents)
        shipped = OCT_1 + timedelta(days=draw(st.integers(min_value=0, max_value=30)))
        fulfillments.append(
            fulfillment(
                key, fulfillment_id=f"F{index}", shipping_net_charge=money(okc), pickup=shipped
            )
        )
        lines.append(
            line(key, str(money(carrier)), ship_date=shipped, invoice_number=f"I-{index % 2}")
        )
    return fulfillments, lines


def _variances(recon: Reconciliation) -> dict[str, Decimal]:
    return dict(zip(recon.shipments["tracking_key"], recon.shipments["variance"], strict=True))


@FEWER
@given(shipments_billed_once())
def test_reconciling_fulfillments_against_themselves_finds_no_charge_variance(case):
    fulfillments, lines = case
    for row, billed in zip(fulfillments, lines, strict=True):
        billed["amount"] = row["shipping_net_charge"]
    recon = run(fulfillments, lines)
    assert "CHARGE_VARIANCE" not in recon.exceptions["issue_code"].to_list()
    assert set(_variances(recon).values()) == {Decimal("0.00")}
    _check_accounting(recon, fulfillments, lines)


@FEWER
@given(shipments_billed_once())
def test_swapping_okc_and_carrier_amounts_swaps_the_sign_of_every_variance(case):
    fulfillments, lines = case
    before = _variances(run(fulfillments, lines))
    for row, billed in zip(fulfillments, lines, strict=True):
        row["shipping_net_charge"], billed["amount"] = billed["amount"], row["shipping_net_charge"]
    after = _variances(run(fulfillments, lines))
    assert after == {key: -value for key, value in before.items()}
