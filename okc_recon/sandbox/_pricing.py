"""Services and rates of the generated world: what each carrier charges for a parcel.

The rates are invented but shaped like 2025 list prices: a base for one pound to zone 2, an
amount per extra pound and per zone, carrier discounts (FedEx ``Earned Discount`` lines,
UPS incentives taken off each line), fuel as a weekly percentage of transportation and
residential, residential charges on home deliveries. Every amount is an exact ``Decimal``
rounded half-up to the cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal

from okc_recon.sandbox.world import Charge

__all__ = ["SERVICES", "Service", "cents", "dhl_charges", "parcel_charges", "usps_postage"]

CENT = Decimal("0.01")
KG_PER_LB = Decimal("0.45359237")


def cents(value: Decimal | float | int | str) -> Decimal:
    """``value`` rounded half-up to the cent."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Service:
    """One service as the generator uses it."""

    name: str  # data/services.csv
    carrier: str
    express: bool  # time-definite: shipped only when every transit day is a business day
    transit: tuple[int, ...]  # business days by zone 2..8
    deliver_by: time  # the latest local delivery time the generator uses (before any commitment)
    base: Decimal
    per_lb: Decimal
    per_zone: Decimal
    code: str | None  # UPS charge description code of the freight line
    label: str  # what the carrier's file calls it
    okc_methods: tuple[str, ...]  # texts OKC sends as shipping_method (codes and names)

    def transit_days(self, zone: int) -> int:
        return self.transit[min(max(zone, 2), 8) - 2]


_GROUND = (1, 2, 3, 3, 4, 4, 5)
_D = Decimal

SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service(
            "fedex_home_delivery", "fedex", False, _GROUND, time(15, 30),
            _D("10.40"), _D("0.92"), _D("0.85"), None, "Home Delivery",
            ("FE11", "FE11", "FedEx Home Delivery", "GROUND_HOME_DELIVERY"),
        ),
        Service(
            "fedex_ground", "fedex", False, _GROUND, time(15, 30),
            _D("10.10"), _D("0.88"), _D("0.82"), None, "Ground",
            ("FE10", "FE10", "FedEx Ground", "FEDEX_GROUND", "Ground"),
        ),
        Service(
            "fedex_2day", "fedex", True, (2,) * 7, time(15, 30),
            _D("24.95"), _D("2.65"), _D("3.10"), None, "FedEx 2Day",
            ("FE03", "FedEx 2Day", "FEDEX_2_DAY"),
        ),
        Service(
            "fedex_standard_overnight", "fedex", True, (1,) * 7, time(14, 30),
            _D("46.80"), _D("4.10"), _D("4.90"), None, "FedEx Standard Overnight",
            ("FE02", "FedEx Standard Overnight", "STANDARD_OVERNIGHT"),
        ),
        Service(
            "fedex_priority_overnight", "fedex", True, (1,) * 7, time(10, 0),
            _D("56.40"), _D("4.55"), _D("5.80"), None, "FedEx Priority Overnight",
            ("FE01", "Priority Overnight", "PRIORITY_OVERNIGHT"),
        ),
        Service(
            "ups_ground", "ups", False, _GROUND, time(15, 30),
            _D("10.25"), _D("0.90"), _D("0.84"), "3", "Ground",
            ("UP03", "UP03", "UPS Ground", "Ground"),
        ),
        Service(
            "ups_3_day_select", "ups", True, (3,) * 7, time(15, 30),
            _D("18.90"), _D("1.95"), _D("2.35"), "12", "3 Day Select",
            ("UP12", "UPS 3 Day Select"),
        ),
        Service(
            "ups_2nd_day_air", "ups", True, (2,) * 7, time(15, 30),
            _D("23.80"), _D("2.60"), _D("3.05"), "2", "2nd Day Air",
            ("UP02", "UPS 2nd Day Air"),
        ),
        Service(
            "ups_next_day_air_saver", "ups", True, (1,) * 7, time(14, 30),
            _D("49.20"), _D("4.20"), _D("5.10"), "13", "Next Day Air Saver",
            ("UP13", "UPS Next Day Air Saver"),
        ),
        Service(
            "ups_next_day_air", "ups", True, (1,) * 7, time(10, 0),
            _D("55.90"), _D("4.60"), _D("5.70"), "1", "Next Day Air",
            ("UP01", "UPS Next Day Air"),
        ),
        Service(
            "usps_ground_advantage", "usps", False, (2, 2, 3, 3, 4, 4, 5), time(15, 30),
            _D("9.20"), _D("1.15"), _D("0.55"), None, "USPS Ground Advantage",
            ("US03", "US03", "USPS Ground Advantage", "Ground Advantage"),
        ),
        Service(
            "usps_priority_mail", "usps", False, (1, 2, 2, 2, 3, 3, 3), time(15, 30),
            _D("9.15"), _D("1.45"), _D("0.75"), None, "Priority Mail",
            ("US01", "Priority Mail", "USPS Priority Mail"),
        ),
        Service(
            "usps_priority_mail_express", "usps", True, (1,) * 7, time(10, 0),
            _D("30.45"), _D("2.90"), _D("1.90"), None, "Priority Mail Express",
            ("US02", "Priority Mail Express"),
        ),
        Service(
            "dhl_express_worldwide", "dhl", True, (2, 2, 2, 3, 3, 3, 3), time(11, 30),
            _D("52.30"), _D("8.40"), _D("6.50"), None, "EXPRESS WORLDWIDE nondoc",
            ("DH01", "DHL Express Worldwide", "EXPRESS WORLDWIDE"),
        ),
    )
}  # fmt: skip


def _fuel_pct(carrier: str, express: bool, day: date) -> Decimal:
    """Weekly fuel surcharge percentage (as a fraction): it moves a quarter point a week."""
    base = {
        ("fedex", False): "0.1900",
        ("fedex", True): "0.2150",
        ("ups", False): "0.1925",
        ("ups", True): "0.2100",
        ("dhl", True): "0.2850",
    }[(carrier, express)]
    week = day.isocalendar().week
    return Decimal(base) + Decimal("0.0025") * (week % 4)


def list_rate(service: Service, billed_lb: int, zone: int) -> Decimal:
    """The list transportation rate of ``service`` for whole pounds ``billed_lb`` to ``zone``."""
    return cents(service.base + service.per_lb * (billed_lb - 1) + service.per_zone * (zone - 2))


def parcel_charges(
    service: Service,
    *,
    billed_lb: int,
    zone: int,
    residential: bool,
    ship_date: date,
    discount_pct: Decimal,
) -> tuple[Charge, ...]:
    """The original charges of a FedEx or UPS parcel: transportation, discount, residential, fuel.

    FedEx shows its discount as a negative ``Earned Discount``/``Performance Pricing`` line;
    UPS takes its incentive off the freight line itself (``Charge.incentive``).
    """
    rate = list_rate(service, billed_lb, zone)
    discount = cents(rate * discount_pct)
    charges: list[Charge] = []
    if service.carrier == "fedex":
        charges.append(Charge("transportation", "Transportation Charge", rate))
        name = "Performance Pricing" if service.express else "Earned Discount"
        charges.append(Charge("discount", name, -discount))
        if residential:
            amount = _D("5.55") if not service.express else _D("6.15")
            charges.append(Charge("residential", "Residential Delivery", amount))
    else:
        charges.append(
            Charge("transportation", service.label, rate - discount, service.code, discount)
        )
        if residential:
            amount = _D("5.95") if not service.express else _D("6.15")
            charges.append(Charge("residential", "Residential Surcharge", amount, "RES"))
    fuel_base = sum((c.amount for c in charges), Decimal("0.00"))
    pct = _fuel_pct(service.carrier, service.express, ship_date)
    code = "FSC" if service.carrier == "ups" else None
    charges.append(Charge("fuel", "Fuel Surcharge", cents(fuel_base * pct), code))
    return tuple(charges)


def usps_postage(service: Service, *, billed_oz: int, zone: int) -> tuple[Charge, ...]:
    """USPS postage as a postage tool reports it: one line, no fuel, no residential."""
    if service.name == "usps_ground_advantage" and billed_oz < 16:
        tier = next(i for i, limit in enumerate((4, 8, 12, 16)) if billed_oz <= limit)
        amount = _D(("5.40", "6.15", "7.10", "8.55")[tier]) + _D("0.12") * (zone - 2)
    else:
        pounds = math.ceil(billed_oz / 16)
        amount = service.base + service.per_lb * (pounds - 1) + service.per_zone * (zone - 2)
    return (Charge("transportation", "Postage", cents(amount)),)


def dhl_charges(
    service: Service, *, billed_kg: Decimal, zone: int, ship_date: date
) -> tuple[Charge, ...]:
    """DHL Express: the weight charge per half kilo and its fuel surcharge."""
    steps = int(billed_kg / Decimal("0.5"))
    rate = cents(service.base + service.per_lb * (steps - 1) + service.per_zone * (zone - 2))
    fuel = cents(rate * _fuel_pct("dhl", True, ship_date))
    return (
        Charge("transportation", service.label, rate),
        Charge("fuel", "FUEL SURCHARGE", fuel),
    )
