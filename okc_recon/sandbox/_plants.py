"""Planted problems, look-alikes and bad records: what the reconciliation must find, and not.

Each plant takes a delivered single-parcel order picked up in the first twelve days of its
month, replaces its parcel with one built for the purpose, and records the issue codes
docs/reconciliation.md's default rules raise for it. Every billing event of a plant lands
on an invoice dated in the same month, so exactly one monthly run sees all of it.

Money is kept so that one plant raises only the codes listed: OKC's cost-plus charge leaves
out what another code already claims (a surcharge, an address correction), so the
unexplained variance stays zero; dimensional billing and weight mismatches keep OKC's charge
equal to what was billed.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from okc_recon.carriers.tracking import make_tracking_number
from okc_recon.sandbox._build import Builder, Order, Parcel
from okc_recon.sandbox._calendar import add_business_days, is_business_day, month_days, us_holidays
from okc_recon.sandbox._pricing import SERVICES, Service, cents
from okc_recon.sandbox.world import BillingEvent, Charge, PlantedIssue

__all__ = ["Planter"]

_LAST_PLANT_DAY = 12  # plants ship early enough for every later invoice to fall in the month
_BIG_BOX = (16, 12, 10)
_DEFAULT_SERVICE = {
    "fedex": "fedex_home_delivery",
    "ups": "ups_ground",
    "usps": "usps_ground_advantage",
    "dhl": "dhl_express_worldwide",
}


def _cycle(options: tuple[str, ...], count: int) -> list[str]:
    return [options[i % len(options)] for i in range(count)]


class Planter:
    """Plants one month's problems into a :class:`Builder`'s orders."""

    def __init__(self, builder: Builder, rng: random.Random, month: str, orders: list[Order]):
        self.b = builder
        self.rng = rng
        self.month = month
        self.orders = orders
        self.planted: list[PlantedIssue] = []
        self.decoys: dict[str, str] = {}
        self.bad: dict[str, str] = {}
        self._candidates = [
            o
            for o in orders
            if o.address["country_name"] == "United States"
            and len(o.parcels) == 1
            and o.parcels[0].status == "Delivered"
            and o.parcels[0].ship_date is not None
            and o.parcels[0].ship_date.day <= _LAST_PLANT_DAY
        ]
        self._days = [d for d in month_days(month) if is_business_day(d)]

    # --- helpers ------------------------------------------------------------------------------

    def _target(self) -> Order:
        """An untouched delivered single-parcel US order shipped early in the month, emptied."""
        if not self._candidates:
            raise ValueError(
                f"{self.month}: too few orders to plant every problem; "
                "raise orders_per_month or generate with plant=False"
            )
        i = self.rng.randrange(len(self._candidates))
        self._candidates[i], self._candidates[-1] = self._candidates[-1], self._candidates[i]
        order = self._candidates.pop()
        order.parcels.clear()
        return order

    def _day(self, service: Service, zone: int, *, last: int = _LAST_PLANT_DAY,
             ok: Callable[[date], bool] | None = None) -> date:  # fmt: skip
        days = [
            d
            for d in self._days
            if d.day <= last and self.b.can_ship(service, d, zone) and (ok is None or ok(d))
        ]
        return self.rng.choice(days)

    def _parcel(
        self,
        service_name: str,
        *,
        ship: bool = True,
        last: int = _LAST_PLANT_DAY,
        charge_model: str = "cost_plus",
        weight_centi: int | None = None,
        ok: Callable[[date], bool] | None = None,
        order: Order | None = None,
    ) -> Parcel:
        service = SERVICES[service_name]
        order = order or self._target()
        zone = self.rng.choice((3, 4, 5, 6))
        day = self._day(service, zone, last=last, ok=ok) if ship else None
        parcel = self.b.new_parcel(
            self.rng,
            order,
            service,
            day,
            period=self.month,
            weight_centi=weight_centi,
            zone=zone,
            charge_model=charge_model,
        )
        parcel.planted = True
        if ship:
            order.status = "Delivered"
        return parcel

    def _add(self, parcel: Parcel, codes: tuple[str, ...], note: str) -> None:
        number = parcel.tracking
        assert number is not None
        for code in codes:
            self.planted.append(PlantedIssue(number, code, parcel.fid, self.month, note))

    def _later(self, parcel: Parcel, event: BillingEvent, weeks: int = 1) -> None:
        """Put ``event`` on the parcel account's invoice ``weeks`` cycles after the original."""
        assert parcel.ship_date is not None
        when = parcel.account.invoice_date(parcel.ship_date, weeks)
        parcel.events.append((parcel.account, when, event))

    def _adjustment(
        self, parcel: Parcel, reason: str, *charges: Charge, **fields: object
    ) -> BillingEvent:
        base = parcel.original
        values: dict[str, object] = {
            "charge_category": "adjustment",
            "charges": charges,
            "adjustment_reason": reason,
            "billed_weight": None,
            "entered_weight": None,
            "rated_on_dim": False,
        }
        values.update(fields)
        return dataclasses.replace(base, **values)  # type: ignore[arg-type]

    def _rebill(self, parcel: Parcel, **overrides: object) -> BillingEvent:
        account, when, _ = parcel.events[0]
        event = self.b.bill(parcel, **overrides)
        parcel.events[0] = (account, when, event)
        return event

    # --- the plants ---------------------------------------------------------------------------

    def plant(self, count: int, *, bad_records: bool) -> None:
        """``count`` plants of each kind (cycling over carriers), the decoys, the bad records."""
        for carrier in _cycle(("fedex", "ups", "usps"), count):
            p = self._parcel(_DEFAULT_SERVICE[carrier])
            p.events.clear()
            self._add(
                p, ("UNBILLED",), f"{carrier} parcel shipped (tracking, pickup) and never billed"
            )
        for carrier in _cycle(("ups", "fedex", "dhl"), count):
            self._not_in_okc(carrier)
        for carrier in _cycle(("ups", "fedex", "usps"), count):
            p = self._parcel(_DEFAULT_SERVICE[carrier])
            p.status = "Canceled"
            p.order.status = "Canceled by Client"
            self._add(
                p,
                ("BILLED_CANCELED",),
                "fulfillment canceled in OKC after its label was used; billed",
            )
        for carrier in _cycle(("fedex", "ups", "fedex"), count):
            p = self._parcel(_DEFAULT_SERVICE[carrier])
            self._later(p, p.original)
            self._add(p, ("DUPLICATE_BILLING",), "shipment charges billed again on a later invoice")
        for carrier in _cycle(("ups", "fedex", "ups"), count):
            p = self._parcel(_DEFAULT_SERVICE[carrier])
            account, when, event = p.events[0]
            freight = next(c for c in event.charges if c.charge_type == "transportation")
            p.events.append((account, when, dataclasses.replace(event, charges=(freight,))))
            self._add(p, ("DUPLICATE_BILLING",), "transportation line billed twice on one invoice")
        for carrier in _cycle(("fedex", "ups", "usps"), count):
            p = self._parcel(_DEFAULT_SERVICE[carrier])
            total = p.original.total
            gap = max(Decimal("1.50"), cents(total * Decimal("0.2")))
            assert gap > Decimal("0.25") + Decimal("0.02") * (total - gap)
            p.okc["shipping_net_charge"] = total - gap
            self._add(
                p, ("CHARGE_VARIANCE",), f"carrier billed {gap} more than OKC's cost-plus charge"
            )
        for _ in range(count):
            self._weight_correction()
        for carrier in _cycle(("fedex", "ups", "fedex"), count):
            p = self._parcel(_DEFAULT_SERVICE[carrier], weight_centi=self.rng.randint(260, 600))
            p.okc["weight"] = self.b.okc_weight(p.weight_centi // 3)
            self._add(
                p, ("WEIGHT_VARIANCE",), "OKC recorded a third of the weight the carrier entered"
            )
        for service in _cycle(("fedex_home_delivery", "ups_ground", "ups_ground"), count):
            p = self._parcel(service, weight_centi=self.rng.randint(150, 350))
            p.box = _BIG_BOX
            event = self._rebill(p)
            assert event.rated_on_dim
            self._add(
                p,
                ("DIM_WEIGHT",),
                f"large light box billed on {event.billed_weight:g} lb dimensional",
            )
        for service in _cycle(
            ("ups_next_day_air", "fedex_priority_overnight", "ups_next_day_air"), count
        ):
            p = self._late(service)
            self._add(p, ("LATE_DELIVERY",), "guaranteed overnight delivered a business day late")
        self._refunded_late()
        for billed, okc_carrier, okc_service in (
            ("fedex_ground", "ups", "ups_ground"),
            ("ups_ground", "fedex", "fedex_ground"),
            ("fedex_home_delivery", "ups", "ups_ground"),
        )[: max(count, 1)]:
            p = self._parcel(billed)
            p.okc.update(carrier=okc_carrier, service=okc_service)
            self._add(p, ("CARRIER_MISMATCH",), f"OKC says {okc_carrier}, {p.carrier} billed it")
        for okc_service, billed in (
            ("fedex_ground", "fedex_2day"),
            ("ups_ground", "ups_2nd_day_air"),
            ("usps_ground_advantage", "usps_priority_mail"),
        )[: max(count, 1)]:
            p = self._parcel(billed)
            p.okc["service"] = okc_service
            self._add(p, ("SERVICE_MISMATCH",), f"OKC asked for {okc_service}, {billed} was billed")
        for carrier in _cycle(("ups", "fedex", "ups"), count):
            self._address_correction(carrier)
        for kind in _cycle(("additional_handling", "saturday", "delivery_area"), count):
            self._surcharge(kind)
        for kind in _cycle(("residential", "apv", "credit"), count):
            self._adjustment_plant(kind)
        self._return_label()
        self._multi_piece()
        if bad_records:
            self.bad_records()

    def _not_in_okc(self, carrier: str) -> None:
        service = SERVICES[_DEFAULT_SERVICE[carrier]]
        abroad = carrier == "dhl"
        order = Order(
            id="",
            consumer_id="",
            number=0,
            created=datetime.combine(self._days[0], time(9)),
            period=self.month,
            address={"country_name": "Canada" if abroad else "United States"},
            tz="Canada" if abroad else "ET",
        )
        zone = self.rng.choice((3, 4, 5))
        day = self._day(service, zone)
        ghost = self.b.new_parcel(
            self.rng, order, service, day, period=self.month, zone=zone, charge_model="cost_plus"
        )
        for account, when, event in ghost.events:
            self.b.orphan_events.append(
                (account, when, dataclasses.replace(event, fulfillment_id=None))
            )
        assert ghost.tracking is not None
        self.planted.append(
            PlantedIssue(
                ghost.tracking,
                "NOT_IN_OKC",
                None,
                self.month,
                f"{carrier} billed a tracking number OKC never had",
            )
        )

    def _weight_correction(self) -> None:
        p = self._parcel("ups_ground", weight_centi=self.rng.randint(120, 300))
        original = p.original
        assert original.billed_weight is not None
        audited = int(original.billed_weight) + 4
        redone = self.b.charges(p, audited)
        before = {c.charge_type: c for c in original.charges}
        after = {c.charge_type: c for c in redone}
        freight = after["transportation"].amount - before["transportation"].amount
        fuel = after["fuel"].amount - before["fuel"].amount
        assert p.service.code is not None
        event = self._adjustment(
            p,
            "SCC",
            Charge("transportation", "Shipping Charge Correction", freight, p.service.code),
            Charge("fuel", "Fuel Surcharge", fuel, "FSC"),
            billed_weight=float(audited),
            entered_weight=original.entered_weight,
        )
        self._later(p, event)
        self._add(
            p,
            ("WEIGHT_VARIANCE", "ADJUSTMENT"),
            f"UPS audited {audited} lb (OKC {p.weight_centi / 100} lb): shipping charge correction",
        )

    def _late(self, service_name: str) -> Parcel:
        service = SERVICES[service_name]
        p = self._parcel(service_name, ship=False)
        zone = p.zone
        day = self._day(
            service, zone, ok=lambda d: all(is_business_day(d + timedelta(days=i)) for i in (1, 2))
        )
        self.b.ship(self.rng, p, day, late_days=1)
        p.order.status = "Delivered"
        return p

    def _refunded_late(self) -> None:
        p = self._late("ups_next_day_air")
        freight = next(c for c in p.original.charges if c.charge_type == "transportation")
        refund = Charge("refund", "Guaranteed Service Refund", -freight.amount, freight.code)
        self._later(p, self._adjustment(p, "GSR", refund))
        self._add(p, ("ADJUSTMENT",), "late Next Day Air already refunded (GSR credit)")
        assert p.tracking is not None
        self.decoys[p.tracking] = (
            "late guaranteed delivery whose transportation a GSR credit already refunded: "
            "no LATE_DELIVERY (the credit is an ADJUSTMENT)"
        )

    def _address_correction(self, carrier: str) -> None:
        p = self._parcel(_DEFAULT_SERVICE[carrier])
        fee = Decimal(self.rng.choice(("21.00", "22.50", "23.75")))
        correction = Charge(
            "address_correction", "Address Correction", fee, "ADC" if carrier == "ups" else None
        )
        if carrier == "ups":
            self._later(p, self._adjustment(p, "ADC", correction))
        else:
            original = p.original
            p.okc["shipping_net_charge"] = original.total
            self._rebill(p, charges=(*original.charges, correction))
        self._add(p, ("ADDRESS_CORRECTION",), f"{carrier} corrected the address and charged {fee}")

    def _surcharge(self, kind: str) -> None:
        if kind == "saturday":
            p = self._parcel("fedex_priority_overnight", ship=False)
            fridays = [
                d
                for d in self._days
                if d.day <= _LAST_PLANT_DAY
                and d.weekday() == 4
                and not self._is_holiday(d + timedelta(days=1))
            ]
            day = self.rng.choice(fridays)
            p.order.status = "Delivered"
            # Friday pickup, Saturday morning delivery: early under any business-day rule.
            self.b.ship(self.rng, p, day)
            saturday = datetime.combine(day + timedelta(days=1), time(9, self.rng.randint(0, 40)))
            self.b.deliver(p, saturday)
            self._rebill(p)
            charge = Charge("saturday", "Saturday Delivery", Decimal("16.00"))
        elif kind == "additional_handling":
            p = self._parcel("ups_ground")
            charge = Charge(
                "additional_handling", "Additional Handling - Packaging", Decimal("28.50"), "AHC"
            )
        else:
            p = self._parcel("fedex_home_delivery")
            charge = Charge("delivery_area", "DAS Resi", Decimal("5.40"))
        original = p.original
        p.okc["shipping_net_charge"] = original.total
        self._rebill(p, charges=(*original.charges, charge))
        self._add(p, ("SURCHARGE",), f"{charge.description} surcharge billed")

    @staticmethod
    def _is_holiday(day: date) -> bool:
        return day in us_holidays(day.year)

    def _adjustment_plant(self, kind: str) -> None:
        if kind == "residential":
            p = self._parcel("ups_ground")
            p.residential = False
            self._rebill(p)
            charge = Charge("residential", "Residential Adjustment", Decimal("5.95"), "RES")
            self._later(p, self._adjustment(p, "RADJ", charge))
            note = "UPS found the address residential after billing (RADJ)"
        elif kind == "apv":
            p = self._parcel("usps_ground_advantage")
            amount = Decimal(self.rng.choice(("1.85", "2.35", "3.10")))
            charge = Charge("adjustment", "APV Adjustment - Postage Underpaid", amount)
            self._later(p, self._adjustment(p, "APV", charge))
            note = "USPS APV: postage underpaid, charged on a later statement"
        else:
            p = self._parcel("ups_ground")
            charge = Charge("adjustment", "Credit Adjustment", Decimal("-3.50"))
            self._later(p, self._adjustment(p, "CADJ", charge))
            note = "UPS credit adjustment on a later invoice"
            assert p.tracking is not None
            self.decoys[p.tracking] = (
                "a post-shipment credit on a later invoice: an ADJUSTMENT, not a duplicate"
            )
        self._add(p, ("ADJUSTMENT",), note)

    def _return_label(self) -> None:
        p = self._parcel("ups_ground", charge_model="flat_rate", last=8)
        assert p.delivered_local is not None
        assert p.tracking is not None
        back = add_business_days(p.delivered_local.date(), 1)
        original = p.original
        returned = dataclasses.replace(
            original,
            charge_category="return",
            ship_date=back,
            delivery_date=None,
            delivery_time=None,
            charges=tuple(
                c for c in original.charges if c.charge_type in ("transportation", "fuel")
            ),
        )
        p.events.append((p.account, p.account.invoice_date(back), returned))
        self.decoys[p.tracking] = (
            "the customer's return label billed to the outbound tracking number on a later "
            "invoice (flat-rate fulfillment): not a duplicate, nothing to flag"
        )

    def _multi_piece(self) -> None:
        lead_centi = self.rng.randint(1, 4) * 100 + self.rng.randint(80, 95)
        extra_centi = self.rng.randint(25, 40)
        p = self._parcel("ups_ground", weight_centi=lead_centi)
        lead = p.tracking
        assert lead is not None
        account, when, first = p.events[0]
        first = dataclasses.replace(first, alt_tracking_number=lead)
        p.weight_centi, p.box = extra_centi, (6, 4, 4)
        second_number = self.b.tracking_number(self.rng, p.service, p.account)
        second = self.b.bill(p, tracking_number=second_number, alt_tracking_number=lead)
        p.weight_centi = lead_centi + extra_centi  # OKC's weight is the shipment's
        p.box = self.b.box_for(lead_centi, p.service)
        p.events = [(account, when, first), (account, when, second)]
        p.okc["shipping_net_charge"] = first.total + second.total
        p.lines[0]["children_count"] = 1
        p.lines[0]["children_tracking_numbers"] = second_number
        self.decoys[lead] = (
            f"a two-package UPS shipment (lead {lead}, second package {second_number}): "
            "one shipment, not a duplicate and no weight variance"
        )

    def bad_records(self) -> None:
        p = self._parcel("fedex_home_delivery")
        assert p.ship_date is not None
        p.events.clear()
        p.status = "Shipped"
        p.okc["pickup_date"] = f"{p.ship_date:%Y-%m}-32T21:05:00.000Z"
        self.bad[p.fid] = "pickup_date is not a date (day 32); never billed"

        p = self._parcel("ups_ground", ship=False)
        p.status = "Canceled"
        p.order.status = "Canceled by OKC"
        p.okc["shipping_net_charge"] = "N/A"
        self.bad[p.fid] = "shipping_net_charge is not a number ('N/A'); canceled before shipping"

        p = self._parcel("usps_ground_advantage", ship=False)
        p.order.status = "In Production"
        p.remove_id = True
        self.bad[p.fid] = "the record has no id (this key is the id it should have had)"

        p = self._parcel("usps_priority_mail", ship=False)
        p.order.status = "In Production"
        p.okc["weight"] = -self.b.okc_weight(p.weight_centi)
        self.bad[p.fid] = "weight is negative; not shipped yet"

        first = self._parcel("fedex_home_delivery")
        assert first.ship_date is not None
        assert first.tracking is not None
        second = self.b.new_parcel(
            self.rng,
            first.order,
            first.service,
            first.ship_date,
            period=self.month,
            zone=first.zone,
            charge_model="flat_rate",
        )
        second.planted = True
        second.events.clear()
        second.okc["tracking_number"] = first.tracking
        assert first.pickup is not None
        first.created = min(first.created, first.pickup - timedelta(hours=3))
        second.created = first.created + timedelta(minutes=40)
        self.bad[second.fid] = (
            f"tracking number {first.tracking} duplicates fulfillment {first.fid}"
        )

        p = self._parcel("fedex_home_delivery")
        number = make_tracking_number("fedex", self.rng, "fedex_express_12")
        self.b.used_tracking.add(number)
        p.tracking = number
        self._rebill(p)
        p.okc["tracking_number"] = f"{float(number):.5E}"
        self.bad[p.fid] = f"tracking number mangled by Excel into {p.okc['tracking_number']}"
        self._add(p, ("NOT_IN_OKC",), "billed parcel whose OKC tracking number Excel mangled")

        p = self._parcel("ups_ground")
        p.okc["tracking_number"] = None
        self.bad[p.fid] = "shipped (pickup date) but no tracking number"
        self._add(p, ("NOT_IN_OKC",), "billed parcel OKC recorded without a tracking number")
