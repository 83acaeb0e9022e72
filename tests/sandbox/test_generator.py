"""The generated world: deterministic, realistic, and clean except where problems were planted."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from okc_recon.carriers.services import ServiceMap
from okc_recon.carriers.tracking import is_valid_one, tracking_key_one
from okc_recon.sandbox import (
    SAMPLE_MONTH,
    BillingEvent,
    GeneratorConfig,
    World,
    fulfillments_for,
    generate,
)
from okc_recon.sandbox._calendar import add_business_days, is_business_day, us_holidays
from okc_recon.sandbox._pricing import SERVICES
from okc_recon.sandbox.generator import _generate
from okc_recon.schema import CHARGE_CATEGORIES, CHARGE_TYPES
from tests.sandbox.conftest import SMALL

CODES = {
    "UNBILLED",
    "NOT_IN_OKC",
    "BILLED_CANCELED",
    "DUPLICATE_BILLING",
    "CHARGE_VARIANCE",
    "WEIGHT_VARIANCE",
    "DIM_WEIGHT",
    "LATE_DELIVERY",
    "CARRIER_MISMATCH",
    "SERVICE_MISMATCH",
    "ADDRESS_CORRECTION",
    "SURCHARGE",
    "ADJUSTMENT",
}
FLAGGED = {"delivery_area", "additional_handling", "saturday", "signature", "other"}
_CARRIER_WORDS = {"fedex": "fedex", "ups": "ups", "united parcel": "ups", "usps": "usps"}
_CARRIER_WORDS |= {"u.s. postal": "usps", "dhl": "dhl"}


def _carrier_of(text: str) -> str:
    low = text.lower()
    return next(c for word, c in _CARRIER_WORDS.items() if word in low)


def _events_by_tracking(world: World) -> dict[str, list[tuple[Any, BillingEvent]]]:
    found: dict[str, list[tuple[Any, BillingEvent]]] = {}
    for invoice in world.invoices:
        for event in invoice.events:
            for number in {event.tracking_number, event.alt_tracking_number} - {None}:
                found.setdefault(str(number), []).append((invoice, event))
    return found


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


@pytest.fixture(scope="module")
def special(world: World) -> set[str]:
    """Fulfillment ids and tracking numbers that are planted, decoys or bad on purpose."""
    ids = {p.fulfillment_id for p in world.planted if p.fulfillment_id}
    ids |= {p.tracking_number for p in world.planted}
    ids |= set(world.bad_records) | set(world.decoys)
    return {str(i) for i in ids}


@pytest.fixture(scope="module")
def clean(world: World, special: set[str]) -> list[dict[str, Any]]:
    """Billed fulfillments nothing was done to."""
    billed = _events_by_tracking(world)
    return [
        f
        for f in world.fulfillments
        if f.get("id") not in special
        and f["tracking_info"]["tracking_number"] not in special
        and f["tracking_info"]["tracking_number"] in billed
    ]


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_same_world_and_different_seed_different_world(small_world: World) -> None:
    rebuilt = _generate.__wrapped__(SMALL)  # type: ignore[attr-defined]
    assert rebuilt is not small_world
    assert rebuilt == small_world
    other = _generate.__wrapped__(GeneratorConfig(seed=12, orders_per_month=150, months=2))  # type: ignore[attr-defined]
    assert other.fulfillments != small_world.fulfillments
    assert {f["id"] for f in other.fulfillments if "id" in f}.isdisjoint(
        {f["id"] for f in small_world.fulfillments if "id" in f}
    )
    assert generate(SMALL) is small_world  # cached


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="start_month"):
        GeneratorConfig(start_month="2025-13")
    with pytest.raises(ValueError, match="150"):
        GeneratorConfig(orders_per_month=40)
    with pytest.raises(ValueError, match="weight_unit"):
        GeneratorConfig(weight_unit="stone")
    with pytest.raises(ValueError, match="status_id_type"):
        GeneratorConfig(status_id_type="float")
    assert GeneratorConfig(start_month="2025-11", months=3).month_list == [
        "2025-11",
        "2025-12",
        "2026-01",
    ]


def test_a_small_unplanted_world() -> None:
    world = generate(
        GeneratorConfig(seed=5, orders_per_month=40, months=1, plant=False, bad_records=False)
    )
    assert world.planted == ()
    assert world.bad_records == {}
    assert world.decoys == {}
    assert 40 <= len(world.fulfillments) <= 40 * 3
    assert all(f.get("id") for f in world.fulfillments)


# --- planted problems -----------------------------------------------------------------------


def test_every_code_is_planted_several_times_in_every_month(world: World) -> None:
    per_month = Counter((p.period, p.issue_code) for p in world.planted)
    for month in GeneratorConfig().month_list:
        for code in CODES:
            assert per_month[(month, code)] >= 3, (month, code)
    assert {p.issue_code for p in world.planted} == CODES


def test_every_plant_is_billed_within_its_month(world: World) -> None:
    """One monthly run sees all of a plant: its invoices are dated in its pickup month."""
    billed = _events_by_tracking(world)
    for plant in world.planted:
        for invoice, event in billed.get(plant.tracking_number, []):
            assert invoice.invoice_date.strftime("%Y-%m") == plant.period, plant
            assert event.ship_date is not None
            assert event.ship_date.strftime("%Y-%m") == plant.period, plant


def test_plants_are_what_their_codes_say(world: World) -> None:
    billed = _events_by_tracking(world)
    by_id = {f.get("id"): f for f in world.fulfillments}
    okc_numbers = {f["tracking_info"]["tracking_number"] for f in world.fulfillments}
    status_names = {s["id"]: s["name"] for s in world.statuses if s["group"] == "fulfillment"}
    for plant in world.planted:
        events = [e for _, e in billed.get(plant.tracking_number, [])]
        record = by_id.get(plant.fulfillment_id)
        if plant.issue_code == "UNBILLED":
            assert not events
            assert record is not None
            assert record["pickup_date"]
        else:
            assert events, plant
        if plant.issue_code == "NOT_IN_OKC":
            assert plant.tracking_number not in okc_numbers
        if plant.issue_code == "BILLED_CANCELED":
            assert record is not None
            assert status_names[record["status_id"]] == "Canceled"
        if plant.issue_code == "DUPLICATE_BILLING":
            shipments = [e for e in events if e.charge_category == "shipment"]
            assert len(shipments) == 2
        if plant.issue_code == "DIM_WEIGHT":
            assert all(e.rated_on_dim for e in events)
            assert events[0].billed_weight is not None
            assert events[0].entered_weight is not None
            assert events[0].billed_weight > events[0].entered_weight
        if plant.issue_code == "CHARGE_VARIANCE":
            assert record is not None
            gap = sum((e.total for e in events), Decimal(0)) - Decimal(
                str(record["shipping_net_charge"])
            )
            assert gap > Decimal("0.25") + Decimal("0.02") * Decimal(
                str(record["shipping_net_charge"])
            )
        if plant.issue_code == "LATE_DELIVERY":
            event = events[0]
            assert event.ship_date is not None
            assert event.delivery_date is not None
            assert event.service in ("ups_next_day_air", "fedex_priority_overnight")
            assert event.delivery_date > add_business_days(event.ship_date, 1)
        if plant.issue_code == "CARRIER_MISMATCH":
            assert record is not None
            okc_carrier = _carrier_of(record["tracking_info"]["shipping_carrier"])
            assert okc_carrier != events[0].carrier
            assert is_valid_one(plant.tracking_number, events[0].carrier)
        if plant.issue_code == "ADDRESS_CORRECTION":
            types = {c.charge_type for e in events for c in e.charges}
            assert "address_correction" in types
        if plant.issue_code == "SURCHARGE":
            types = {c.charge_type for e in events for c in e.charges}
            assert types & FLAGGED
        if plant.issue_code == "ADJUSTMENT":
            assert any(e.charge_category == "adjustment" for e in events)


def test_decoys_are_legitimate_look_alikes(world: World) -> None:
    billed = _events_by_tracking(world)
    kinds = Counter()
    for number, note in world.decoys.items():
        events = [e for _, e in billed[number]]
        categories = Counter(e.charge_category for e in events)
        if "return label" in note:
            kinds["return"] += 1
            assert categories == {"shipment": 1, "return": 1}
        elif "two-package" in note:
            kinds["multi-piece"] += 1
            assert len({e.tracking_number for e in events}) == 2
            assert {e.alt_tracking_number for e in events} == {number}
        elif "credit" in note and "GSR" not in note:
            kinds["credit"] += 1
            assert sum(c.amount for e in events for c in e.charges if e.adjustment_reason) < 0
        else:
            kinds["refunded late"] += 1
            refund = [c for e in events for c in e.charges if c.charge_type == "refund"]
            freight = [
                c
                for e in events
                if e.charge_category == "shipment"
                for c in e.charges
                if c.charge_type == "transportation"
            ]
            assert sum(c.amount for c in refund + freight) == 0
    months = len(GeneratorConfig().month_list)
    assert kinds == {
        "return": months,
        "multi-piece": months,
        "credit": months,
        "refunded late": months,
    }


def test_bad_records(world: World) -> None:
    by_id = {f["id"]: f for f in world.fulfillments if f.get("id")}
    notes = Counter()
    for fid, note in world.bad_records.items():
        record = by_id.get(fid)
        if "no id" in note:
            assert record is None
            notes["no id"] += 1
        elif "not a date" in note:
            assert record is not None
            assert _time(record["pickup_date"]) is None
            notes["date"] += 1
        elif "not a number" in note:
            assert record is not None
            assert record["shipping_net_charge"] == "N/A"
            notes["charge"] += 1
        elif "negative" in note:
            assert record is not None
            assert record["weight"] < 0
            notes["weight"] += 1
        elif "duplicates" in note:
            assert record is not None
            other = by_id[note.rsplit(" ", 1)[1]]
            number = record["tracking_info"]["tracking_number"]
            assert number == other["tracking_info"]["tracking_number"]
            assert record["created_at"] > other["created_at"]
            notes["duplicate"] += 1
        elif "mangled" in note:
            assert record is not None
            assert re.fullmatch(r"\d\.\d{5}E\+11", record["tracking_info"]["tracking_number"])
            notes["mangled"] += 1
        else:
            assert record is not None
            assert record["tracking_info"]["tracking_number"] is None
            assert record["pickup_date"]
            notes["no tracking"] += 1
    assert set(notes.values()) == {len(GeneratorConfig().month_list)}
    assert len(notes) == 7
    missing_id = [f for f in world.fulfillments if "id" not in f]
    assert len(missing_id) == notes["no id"]
    # bad records billed by a carrier are planted issues too
    planted_ids = {p.fulfillment_id for p in world.planted}
    for fid, note in world.bad_records.items():
        if "mangled" in note or "no tracking" in note:
            assert fid in planted_ids


# --- realism --------------------------------------------------------------------------------


def test_records_have_the_api_shape(world: World) -> None:
    seed_keys = {
        "id",
        "order_id",
        "consumer_id",
        "status_id",
        "delivery_date",
        "pickup_date",
        "tracking_info",
        "shipment_order_id",
        "shipment_order_number",
        "label_url",
        "shipping_net_charge",
        "weight",
        "created_at",
        "updated_at",
        "order_lines",
    }
    spec_keys = {"shipping_charge_model", "shipper_okc_product_id", "external_fulfillment_id"}
    models = Counter()
    leading_zeros = 0
    for record in world.fulfillments:
        assert seed_keys - {"id"} | spec_keys <= set(record)
        assert set(record["tracking_info"]) == {
            "shipping_carrier",
            "shipping_method",
            "tracking_number",
            "tracking_url",
        }
        for key in ("created_at", "updated_at", "pickup_date", "delivery_date"):
            value = record[key]
            if value is not None and record.get("id") not in world.bad_records:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value), value
        assert isinstance(record["shipment_order_id"], str)
        assert isinstance(record["shipment_order_number"], str)
        leading_zeros += record["shipment_order_id"].startswith("0")
        models[record["shipping_charge_model"]] += 1
        assert record["order_lines"]
        assert {"id", "name", "order_id", "fulfillment_id"} <= set(record["order_lines"][0])
        if record["label_url"]:
            assert "X-Amz-Expires=900" in record["label_url"]
            assert "X-Amz-Signature=" in record["label_url"]
        assert record["updated_at"] >= record["created_at"]
    assert set(models) == {"COST_PLUS", "cost_plus", "FLAT_RATE", "flat_rate"}
    assert 0 < leading_zeros < len(world.fulfillments)


def test_dates_follow_one_another(world: World) -> None:
    for record in world.fulfillments:
        created = _time(record["created_at"])
        pickup = _time(record["pickup_date"])
        delivered = _time(record["delivery_date"])
        assert created is not None
        if pickup is not None:
            assert created < pickup
            assert is_business_day(pickup.date())
        if delivered is not None:
            assert pickup is not None
            assert pickup < delivered
            assert delivered.date().weekday() < 6


def test_tracking_numbers_are_valid_for_their_carrier(world: World) -> None:
    for invoice in world.invoices:
        for event in invoice.events:
            assert event.carrier == invoice.carrier
            if event.tracking_number is not None:
                key = tracking_key_one(event.tracking_number)
                assert is_valid_one(key, event.carrier), event.tracking_number
    mismatched = {p.tracking_number for p in world.planted if p.issue_code == "CARRIER_MISMATCH"}
    numbers = Counter()
    for record in world.fulfillments:
        info = record["tracking_info"]
        number = info["tracking_number"]
        if record.get("id") in world.bad_records or number is None:
            continue
        numbers[number] += 1
        carrier = _carrier_of(info["shipping_carrier"])
        if number not in mismatched:
            assert is_valid_one(number, carrier), (number, carrier)
            host = {"fedex": "fedex.com", "ups": "ups.com", "usps": "usps.com", "dhl": "dhl.com"}
            assert host[carrier] in info["tracking_url"]
            assert number in info["tracking_url"]
    assert max(numbers.values()) == 1  # only the planted bad record shares a number


def test_carriers_services_and_shares(world: World) -> None:
    shipped = [f for f in world.fulfillments if f["pickup_date"]]
    carriers = Counter(_carrier_of(f["tracking_info"]["shipping_carrier"]) for f in shipped)
    assert set(carriers) == {"fedex", "ups", "usps", "dhl"}
    assert carriers["dhl"] / len(shipped) < 0.08
    assert min(carriers["fedex"], carriers["ups"], carriers["usps"]) / len(shipped) > 0.2
    spellings = Counter(f["tracking_info"]["shipping_carrier"] for f in shipped)
    assert {"FedEx", "FEDEX", "UPS", "USPS", "DHL Express"} <= set(spellings)
    methods = Counter(f["tracking_info"]["shipping_method"] for f in shipped)
    assert {"FE10", "FE11", "UP03", "US03"} <= set(methods)
    assert "FedEx Home Delivery" in methods
    orders = {o["id"]: o for o in world.orders}
    for record in shipped:
        if _carrier_of(record["tracking_info"]["shipping_carrier"]) == "dhl":
            country = orders[record["order_id"]]["shipping_address"]["country_name"]
            assert country != "United States"


def test_invoices_add_up_and_are_realistic(world: World) -> None:
    numbers = Counter()
    formats = Counter()
    invoice_level = 0
    for invoice in world.invoices:
        numbers[(invoice.carrier, invoice.invoice_number)] += 1
        formats[invoice.file_format] += 1
        total = Decimal("0.00")
        for event in invoice.events:
            assert event.charge_category in CHARGE_CATEGORIES
            for charge in event.charges:
                assert charge.charge_type in CHARGE_TYPES
                assert charge.amount == charge.amount.quantize(Decimal("0.01"))
                total += charge.amount
            if event.ship_date is not None:
                assert event.ship_date <= invoice.invoice_date
            if event.tracking_number is None:
                assert event.charge_category == "invoice"
                invoice_level += 1
        assert invoice.total == total
        assert invoice.events
    assert max(numbers.values()) == 1
    assert set(formats) == {
        "fedex_fbo",
        "ups_billing_data",
        "shipstation",
        "easypost",
        "dhl_express",
    }
    assert invoice_level > 0
    weekdays = {
        c: {i.invoice_date.weekday() for i in world.invoices if i.carrier == c}
        for c in ("fedex", "ups", "usps", "dhl")
    }
    assert weekdays == {"fedex": {1}, "ups": {5}, "usps": {6}, "dhl": {0}}


def test_charges_look_like_each_carrier(world: World) -> None:
    descriptions = Counter()
    for invoice in world.invoices:
        for event in invoice.events:
            for charge in event.charges:
                descriptions[
                    (invoice.carrier, charge.charge_type, charge.description, charge.code)
                ] += 1
    fedex = {d for c, _, d, _ in descriptions if c == "fedex"}
    assert {"Fuel Surcharge", "Residential Delivery", "Earned Discount"} <= fedex
    ups_codes = {code for c, _, _, code in descriptions if c == "ups"}
    assert {"FSC", "RES", "3"} <= ups_codes
    discounts = [
        c.amount
        for i in world.invoices
        for e in i.events
        for c in e.charges
        if c.charge_type == "discount"
    ]
    assert discounts
    assert all(amount < 0 for amount in discounts)
    ups_freight = [
        c
        for i in world.invoices
        if i.carrier == "ups"
        for e in i.events
        for c in e.charges
        if c.charge_type == "transportation" and e.charge_category == "shipment"
    ]
    assert all(c.incentive is not None and c.incentive > 0 for c in ups_freight)


def test_month_end_shipments_are_billed_next_month(world: World) -> None:
    crossing = Counter()
    for invoice in world.invoices:
        for event in invoice.events:
            if event.ship_date and event.ship_date.month != invoice.invoice_date.month:
                crossing[event.ship_date.strftime("%Y-%m")] += 1
    for month in GeneratorConfig().month_list:
        assert crossing[month] > 10


# --- clean shipments reconcile with no issue --------------------------------------------------


def test_clean_cost_plus_charges_equal_the_original_billed_total(
    world: World, clean: list[dict[str, Any]]
) -> None:
    billed = _events_by_tracking(world)
    cost_plus = [f for f in clean if f["shipping_charge_model"].lower() == "cost_plus"]
    assert len(cost_plus) > 2000
    for record in cost_plus:
        events = [e for _, e in billed[record["tracking_info"]["tracking_number"]]]
        assert [e.charge_category for e in events] == ["shipment"]
        assert Decimal(str(record["shipping_net_charge"])) == events[0].total


def test_clean_shipments_break_no_rule(world: World, clean: list[dict[str, Any]]) -> None:
    """The default rules of docs/reconciliation.md, checked independently on the truth."""
    billed = _events_by_tracking(world)
    smap = ServiceMap.default()
    to_lb = {"lb": 1.0, "oz": 1 / 16, "kg": 2.20462262185}
    late_checked = 0
    for record in clean:
        info = record["tracking_info"]
        pairs = billed[info["tracking_number"]]
        assert len({inv.invoice_number for inv, _ in pairs}) == 1
        event = pairs[0][1]
        carrier = _carrier_of(info["shipping_carrier"])
        assert carrier == event.carrier
        assert smap.lookup(carrier, info["shipping_method"]) == event.service
        assert not {c.charge_type for c in event.charges} & FLAGGED
        assert not {c.charge_type for c in event.charges} & {"address_correction", "adjustment"}
        assert not event.rated_on_dim
        okc = float(record["weight"])
        assert event.entered_weight is not None
        assert event.billed_weight is not None
        tolerance = max(0.5, 0.1 * okc)
        assert abs(event.entered_weight * to_lb[event.weight_unit] - okc) <= tolerance
        assert event.billed_weight * to_lb[event.weight_unit] - math.ceil(okc) <= tolerance
        service = SERVICES[event.service or ""]
        if event.delivery_date is None:
            continue
        assert event.ship_date is not None
        deadline = add_business_days(event.ship_date, service.transit_days(8))
        assert event.delivery_date <= deadline
        if service.express:
            late_checked += 1
            assert event.delivery_date <= event.ship_date + timedelta(days=service.transit_days(8))
            assert event.delivery_time is not None
            assert event.delivery_time <= service.deliver_by <= time(16, 30)
        assert event.delivery_date not in us_holidays(event.delivery_date.year)
    assert late_checked > 100


def test_okc_delivery_is_the_carrier_pod_in_utc(world: World, clean: list[dict[str, Any]]) -> None:
    billed = _events_by_tracking(world)
    for record in clean:
        delivered = _time(record["delivery_date"])
        if delivered is None:
            continue
        event = billed[record["tracking_info"]["tracking_number"]][0][1]
        assert event.delivery_date == delivered.date()  # the same day in UTC and locally
        assert event.delivery_time is not None
        offset = datetime.combine(event.delivery_date, event.delivery_time) - delivered.replace(
            tzinfo=None
        )
        assert timedelta(hours=-8) <= offset <= timedelta(hours=2)


# --- options --------------------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "factor"), [("oz", 16.0), ("kg", 0.45359237), ("g", 453.59237)])
def test_weight_unit(small_world: World, unit: str, factor: float) -> None:
    other = generate(
        GeneratorConfig(seed=SMALL.seed, orders_per_month=150, months=2, weight_unit=unit)
    )
    for base, scaled in zip(small_world.fulfillments, other.fulfillments, strict=True):
        if base["weight"] > 0:
            assert scaled["weight"] == pytest.approx(base["weight"] * factor, rel=0.02, abs=0.06)


@pytest.mark.parametrize("kind", ["str", "uuid"])
def test_status_id_types(small_world: World, kind: str) -> None:
    other = generate(
        GeneratorConfig(seed=SMALL.seed, orders_per_month=150, months=2, status_id_type=kind)
    )
    ids = {s["id"] for s in other.statuses}
    for record in other.fulfillments:
        assert isinstance(record["status_id"], str)
        if kind == "uuid":
            assert record["status_id"] in ids
            assert re.fullmatch(r"[0-9a-f-]{36}", record["status_id"])
        else:
            assert int(record["status_id"]) in ids


def test_fulfillments_for_selects_months_bad_records_included(world: World) -> None:
    month = fulfillments_for(world, SAMPLE_MONTH)
    assert len(month) > 1000
    assert sum(1 for f in month if "id" not in f) == 1
    pickups = {when.strftime("%Y-%m") for f in month if (when := _time(f["pickup_date"]))}
    assert pickups == {SAMPLE_MONTH}
    two = fulfillments_for(world, "2025-09", SAMPLE_MONTH)
    assert len(two) > len(month)
    bad_in_month = {
        fid
        for fid, p in zip(
            (f.get("id") for f in world.fulfillments), world.fulfillment_periods, strict=True
        )
        if p == SAMPLE_MONTH and fid in world.bad_records
    }
    assert len(bad_in_month) == 6  # seven bad records, one without an id


def test_weekday_helpers() -> None:
    assert date(2025, 7, 4) in us_holidays(2025)
    assert date(2025, 11, 27) in us_holidays(2025)
    assert date(2026, 7, 3) in us_holidays(2026)  # observed
    assert add_business_days(date(2025, 7, 3), 1) == date(2025, 7, 7)
    assert not is_business_day(date(2025, 10, 13))
