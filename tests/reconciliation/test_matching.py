"""Matching: which fulfillments are shipments, which line bills which, and why others do not."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from okc_recon.carriers.services import ServiceMap
from okc_recon.errors import ConfigError
from okc_recon.reconciliation import Rules, reconcile
from okc_recon.schema import INVOICE_LINE_SCHEMA
from tests.reconciliation.factory import (
    billed,
    found,
    fulfillment,
    fulfillments_frame,
    line,
    lines_frame,
    number,
    run,
    shipment,
    utc,
)


def test_fulfillments_that_cannot_be_reconciled_say_why():
    shared = number()
    rows = [
        fulfillment(None, fulfillment_id="corrupt", tracking_number="7.9464E+11"),
        fulfillment(None, fulfillment_id="none"),
        fulfillment(None, fulfillment_id="pending", status="Pending", pickup_date=None),
        fulfillment(None, fulfillment_id="canceled", status="Canceled by Client"),
        fulfillment(shared, fulfillment_id="first", created_at=utc(date(2025, 10, 1))),
        fulfillment(shared, fulfillment_id="second", created_at=utc(date(2025, 10, 2))),
        fulfillment(
            number(),
            fulfillment_id="later",
            pickup=date(2025, 11, 2),
            created_at=utc(date(2025, 11, 1)),
        ),
        fulfillment(
            number(),
            fulfillment_id="no-pickup-later",
            pickup=None,
            created_at=utc(date(2025, 11, 1)),
        ),
    ]
    recon = run(rows, billed(shared))
    reasons = dict(
        zip(recon.cannot_reconcile["fulfillment_id"], recon.cannot_reconcile["reason"], strict=True)
    )
    assert reasons == {
        "corrupt": "tracking number corrupted",
        "none": "no tracking number",
        "pending": "not shipped yet",
        "canceled": "canceled before shipping",
        "second": "shares tracking number with fulfillment first",
        "later": "picked up after the period",
        "no-pickup-later": "created after the period",
    }
    assert recon.shipments["fulfillment_id"].to_list() == ["first"]
    assert recon.cannot_reconcile.columns == [
        "fulfillment_id",
        "order_id",
        "tracking_number",
        "reason",
    ]
    # every fulfillment is in exactly one place
    assert recon.shipments.height + recon.cannot_reconcile.height == len(rows)


def test_the_earliest_created_fulfillment_keeps_a_shared_number_whatever_the_row_order():
    shared = number()
    rows = [
        fulfillment(shared, fulfillment_id="b", created_at=utc(date(2025, 10, 3))),
        fulfillment(shared, fulfillment_id="a", created_at=utc(date(2025, 10, 3))),
        fulfillment(shared, fulfillment_id="c", created_at=utc(date(2025, 10, 2))),
    ]
    recon = run(rows, billed(shared))
    assert recon.shipments["fulfillment_id"].to_list() == ["c"]
    assert sorted(recon.cannot_reconcile["fulfillment_id"]) == ["a", "b"]


def test_lines_match_by_tracking_key_then_by_the_alternate_key():
    lead, piece = number(), number()
    lines = [
        line(lead, "8.50"),
        line(piece, "1.50", alt_tracking_key=lead),
        line(None, "1.00", alt_tracking_key=lead, tracking_number=None),
    ]
    recon = run([fulfillment(lead, shipping_net_charge=Decimal("11.00"))], lines)
    assert recon.invoice_lines["match_via"].to_list() == [
        "tracking_key",
        "alt_tracking_key",
        "alt_tracking_key",
    ]
    assert recon.invoice_lines["shipment_key"].to_list() == [lead, lead, lead]
    assert shipment(recon, lead)["carrier_total"] == Decimal("11.00")
    assert shipment(recon, lead)["line_count"] == 3


def test_a_line_whose_own_number_is_a_shipment_is_not_moved_by_its_alternate_key():
    a, b = number(), number()
    recon = run([fulfillment(a), fulfillment(b)], [*billed(a, alt_tracking_key=b), *billed(b)])
    assert recon.invoice_lines["shipment_key"].to_list() == [a, a, b, b]
    assert found(recon) == set()


def test_unmatched_carrier_lines_say_why():
    known = number()
    lines = [
        *billed(known),
        line(
            None,
            "25.00",
            tracking_number=None,
            charge_category="invoice",
            charge_type="other",
            charge_description="Service Charge",
        ),
        line(None, "8.00", tracking_number="7.9464E+11", tracking_corrupted=True),
        line(None, "3.00", tracking_number=None),
        line(number(), "5.00", ship_date=date(2025, 11, 3)),
        line(number(), "6.00", ship_date=date(2025, 8, 20)),
        line(number(), "7.00", charge_category="return"),
        line(number(), "9.00"),
    ]
    recon = run([fulfillment(known)], lines)
    carrier = recon.unmatched.filter(pl.col("side") == "carrier")
    assert carrier["reason"].to_list() == [
        "invoice-level charge",
        "tracking number corrupted",
        "no tracking number",
        "shipped after the period",
        "shipped before the months pulled",
        "return not in OKC",
        "not in OKC",
    ]
    assert carrier["amount"].to_list() == [
        Decimal(a) for a in ("25.00", "8.00", "3.00", "5.00", "6.00", "7.00", "9.00")
    ]
    assert [code for _, code in found(recon)] == ["NOT_IN_OKC"]
    summary = recon.summary.filter(pl.col("carrier") == "all").row(0, named=True)
    assert summary["invoice_level_charges"] == Decimal("25.00")
    assert summary["unmatched_carrier_amount"] == Decimal("38.00")


def test_invoice_lines_keep_every_input_line_and_column_in_order():
    a, b = number(), number()
    rows = [*billed(b), line(number(), "4.00"), *billed(a)]
    recon = run([fulfillment(a), fulfillment(b)], rows)
    given = lines_frame(rows)
    assert_frame_equal(recon.invoice_lines.select(given.columns), given)
    assert recon.invoice_lines.columns == [
        *INVOICE_LINE_SCHEMA,
        "shipment_key",
        "match_via",
        "assigned",
        "duplicate",
        "period",
    ]
    assert recon.invoice_lines["assigned"].to_list() == [
        "shipment",
        "shipment",
        "unmatched",
        "shipment",
        "shipment",
    ]


def test_shipments_keep_the_fulfillments_order_and_columns():
    ts = [number() for _ in range(4)]
    recon = run([fulfillment(t) for t in ts], [line(t, "10.00") for t in reversed(ts)])
    assert recon.shipments["tracking_key"].to_list() == ts
    assert recon.shipments.columns[:4] == [
        "tracking_key",
        "tracking_number",
        "fulfillment_id",
        "order_id",
    ]
    assert "charge_address_correction" in recon.shipments.columns
    assert recon.shipments["invoice_numbers"].to_list() == ["I-100"] * 4


def test_invoice_numbers_are_listed_in_invoice_order():
    t = number()
    lines = [
        line(t, "8.50", invoice_number="Z-9", invoice_date=date(2025, 10, 4)),
        line(
            t,
            "1.00",
            invoice_number="A-1",
            invoice_date=date(2025, 10, 20),
            charge_category="adjustment",
            charge_type="adjustment",
        ),
        line(
            t,
            "0.50",
            invoice_number="M-5",
            invoice_date=date(2025, 10, 12),
            charge_category="adjustment",
            charge_type="adjustment",
        ),
    ]
    recon = run([fulfillment(t)], lines)
    row = shipment(recon, t)
    assert row["invoice_numbers"] == "Z-9, M-5, A-1"
    assert row["invoice_count"] == 3


def test_without_a_period_every_fulfillment_is_current():
    t, u = number(), number()
    rows = [fulfillment(t, pickup=date(2024, 1, 5)), fulfillment(u, pickup=date(2025, 11, 5))]
    recon = run(rows, billed(t, ship_date=date(2024, 1, 5)), period=None)
    assert recon.period is None
    assert recon.shipments["period"].to_list() == ["current", "current"]
    assert found(recon) == {(u, "UNBILLED")}


def test_the_default_as_of_is_the_end_of_the_invoice_grace_period():
    t = number()
    recon = reconcile(
        fulfillments_frame([fulfillment(t)]),
        lines_frame(billed(t)),
        rules=Rules(weight_unit="lb"),
        period="2025-10",
    )
    assert recon.as_of == date(2025, 12, 15)
    recon = reconcile(
        fulfillments_frame([fulfillment(t)]),
        lines_frame(billed(t)),
        rules=Rules(weight_unit="lb", invoice_grace_days=10),
        period="2025-10",
        as_of="2025-11-01",
    )
    assert recon.as_of == date(2025, 11, 1)


def test_the_rules_service_map_reads_okc_method_codes():
    t = number("fedex")
    okc = fulfillment(t, carrier="fedex", shipping_method="FX99", service=None)
    lines = [line(t, "10.00", carrier="fedex", service="fedex_2day")]
    assert found(run([okc], lines)) == set()  # unknown code: no mismatch can be claimed
    smap = ServiceMap.default().extend({("fedex", "FX99"): "fedex_express_saver"})
    recon = run([okc], lines, rules=Rules(weight_unit="lb", service_map=smap))
    assert found(recon) == {(t, "SERVICE_MISMATCH")}
    assert shipment(recon, t)["service"] == "fedex_express_saver"


@pytest.mark.parametrize("period", ["2025-13", "Oct 2025", "2025-1"])
def test_a_bad_period_is_a_config_error(period):
    with pytest.raises(ConfigError, match="YYYY-MM"):
        run([], [], period=period)


def test_frames_without_their_key_columns_are_refused():
    with pytest.raises(ConfigError, match="tracking_key"):
        reconcile(pl.DataFrame({"fulfillment_id": ["1"]}), lines_frame([]))
    with pytest.raises(ConfigError, match="amount"):
        reconcile(fulfillments_frame([]), pl.DataFrame({"tracking_key": ["1"]}))
    with pytest.raises(ConfigError, match="DataFrame"):
        reconcile([], lines_frame([]))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="as_of"):
        run([], [], as_of="15/12/2025")  # type: ignore[arg-type]


def test_empty_inputs_give_empty_frames_with_their_columns():
    recon = run([], [])
    assert recon.shipments.is_empty()
    assert recon.exceptions.is_empty()
    assert recon.summary["carrier"].to_list() == ["all"]
    assert recon.summary["shipments"].to_list() == [0]
    assert not recon.has_exceptions


def test_an_earlier_weight_inference_is_reused():
    from okc_recon.weights import WeightUnitInference

    t = number()
    evidence = WeightUnitInference("oz", 0.9, 500, 0.95, "lb", 0.1, 16.0, "oz agrees")
    recon = reconcile(
        fulfillments_frame([fulfillment(t, weight=32.0)]),
        lines_frame(billed(t)),
        period="2025-10",
        as_of="2025-12-15",
        weight_inference=evidence,
    )
    assert recon.weight_unit == "oz"
    assert recon.weight_inference is evidence
    assert shipment(recon, t)["okc_weight_lb"] == 2.0
    assert found(recon) == set()
