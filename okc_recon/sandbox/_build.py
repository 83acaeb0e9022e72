"""The generator's working parts: orders, parcels, carrier billing and the API records.

A :class:`Builder` makes one world: :meth:`Builder.month` draws a month of orders whose
fulfillments are parcels with carrier truth (tracking number, weights, box, delivery, the
charges each carrier bills); :mod:`okc_recon.sandbox._plants` then changes a few of them on
purpose; :meth:`Builder.records` and :meth:`Builder.invoices` turn the result into OKC API
records and carrier invoices.

Clean parcels are built to reconcile with no issue under docs/reconciliation.md's default
rules: cost-plus charges equal the carrier's original net total, weights agree (entered is
the actual weight to 0.1 lb, billed the whole pounds above it, the box never dimensional),
express services ship only when every transit day is a business day and arrive within
their transit days well before any commitment time, ground parcels arrive within their
transit business days, and no charge is of a type the rules flag.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from okc_recon.carriers.tracking import check_digit
from okc_recon.sandbox._calendar import (
    add_business_days,
    is_business_day,
    month_days,
    to_utc,
    utc_offset_hours,
)
from okc_recon.sandbox._labels import label_url
from okc_recon.sandbox._pricing import (
    KG_PER_LB,
    SERVICES,
    Service,
    cents,
    dhl_charges,
    parcel_charges,
    usps_postage,
)
from okc_recon.sandbox.world import BillingEvent, Charge, Invoice

__all__ = ["FULFILLMENT_STATUSES", "ORDER_STATUSES", "Account", "Builder", "Order", "Parcel"]

#: Order statuses (okc-api.md §2) and a fulfillment vocabulary (OKC publishes none).
ORDER_STATUSES = (
    "Pending",
    "On Hold",
    "Accepted",
    "In Production",
    "Shipped",
    "Delivered",
    "Canceled by Client",
    "Canceled by OKC",
    "Needs Changes",
)
FULFILLMENT_STATUSES = (
    "Pending",
    "Label Created",
    "Shipped",
    "In Transit",
    "Delivered",
    "Returned to Sender",
    "Canceled",
)

_WAREHOUSE_ZONE = "CT"  # pickups happen in the afternoon, Central time
_DIM_DIVISOR = 139  # cubic inches per pound (FedEx, UPS)
_DHL_DIVISOR = 5000  # cubic centimetres per kilogram
_CM_PER_IN = Decimal("2.54")
# Boxes by volume; a parcel gets the largest whose dimensional weight stays within its
# billed actual weight, so clean parcels are never rated on dimensions.
_BOXES = ((6, 4, 4), (8, 6, 4), (9, 6, 5), (10, 8, 4), (12, 9, 4), (12, 10, 6), (14, 12, 8))
_PACKS = (
    "Morning Energy Pack",
    "Daily Essentials",
    "Sleep & Recovery",
    "Immune Support",
    "Active Performance",
    "Prenatal Plus",
    "Healthy Aging 50+",
    "Gut Health Duo",
    "Focus & Clarity",
    "Heart Health",
)
_CITIES = (
    ("New York", "NY", "100", "ET"),
    ("Brooklyn", "NY", "112", "ET"),
    ("Boston", "MA", "021", "ET"),
    ("Philadelphia", "PA", "191", "ET"),
    ("Atlanta", "GA", "303", "ET"),
    ("Miami", "FL", "331", "ET"),
    ("Charlotte", "NC", "282", "ET"),
    ("Columbus", "OH", "432", "ET"),
    ("Chicago", "IL", "606", "CT"),
    ("Houston", "TX", "770", "CT"),
    ("Dallas", "TX", "752", "CT"),
    ("Minneapolis", "MN", "554", "CT"),
    ("Nashville", "TN", "372", "CT"),
    ("Denver", "CO", "802", "MT"),
    ("Salt Lake City", "UT", "841", "MT"),
    ("Phoenix", "AZ", "850", "MT"),
    ("Los Angeles", "CA", "900", "PT"),
    ("San Diego", "CA", "921", "PT"),
    ("Seattle", "WA", "981", "PT"),
    ("Portland", "OR", "972", "PT"),
)
# DHL Express destinations: country, city, zone (rate group), hours from UTC (standard, DST).
_ABROAD = (
    ("Canada", "Toronto", 2, (-5, -4)),
    ("Mexico", "Monterrey", 3, (-6, -6)),
    ("United Kingdom", "London", 4, (0, 1)),
    ("Germany", "Berlin", 5, (1, 2)),
)
_CARRIER_TEXT = {
    "fedex": ("FedEx", "FedEx", "FEDEX", "Fedex"),
    "ups": ("UPS", "UPS", "ups", "United Parcel Service"),
    "usps": ("USPS", "USPS", "usps", "U.S. Postal Service"),
    "dhl": ("DHL Express", "DHL Express", "DHL"),
}
_TRACKING_URL = {
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "ups": "https://www.ups.com/track?loc=en_US&tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "dhl": "https://www.dhl.com/us-en/home/tracking/tracking-express.html?submit=1&tracking-id={}",
}
_UPS_SERVICE_CODES = {
    "ups_ground": "03",
    "ups_2nd_day_air": "02",
    "ups_next_day_air": "01",
    "ups_next_day_air_saver": "13",
    "ups_3_day_select": "12",
}
_SERVICE_SHARES = {
    "fedex": (
        ("fedex_home_delivery", 62),
        ("fedex_ground", 22),
        ("fedex_2day", 9),
        ("fedex_priority_overnight", 4),
        ("fedex_standard_overnight", 3),
    ),
    "ups": (
        ("ups_ground", 74),
        ("ups_2nd_day_air", 11),
        ("ups_3_day_select", 6),
        ("ups_next_day_air", 5),
        ("ups_next_day_air_saver", 4),
    ),
    "usps": (
        ("usps_ground_advantage", 78),
        ("usps_priority_mail", 19),
        ("usps_priority_mail_express", 3),
    ),
    "dhl": (("dhl_express_worldwide", 1),),
}
_CARRIER_SHARES = (("usps", 36), ("fedex", 31), ("ups", 29), ("dhl", 4))
_ZONES = ((2, 8), (3, 12), (4, 20), (5, 22), (6, 14), (7, 12), (8, 12))
_FLAT = (Decimal("5.99"), Decimal("6.95"), Decimal("7.50"), Decimal("8.95"), Decimal("9.99"))
_FLAT_EXPRESS = (Decimal("24.95"), Decimal("34.95"), Decimal("49.95"))


def _pick(rng: random.Random, shares: tuple[tuple[Any, int], ...]) -> Any:
    values = [v for v, _ in shares]
    return rng.choices(values, weights=[w for _, w in shares], k=1)[0]


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def new_id(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (``uuid.UUID(int=…, version=4)``, spelled out fast)."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds, as OKC's Node API writes it (``…T14:30:00.000Z``)."""
    if moment is None:
        return None
    m = moment
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond // 1000:03d}Z"
    )


def round_tenth(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def ceil_half(value: Decimal) -> Decimal:
    """Up to the next half unit (DHL rates by the half kilo)."""
    return (value * 2).to_integral_value(rounding=ROUND_CEILING) / 2


@dataclass(frozen=True)
class Account:
    """A carrier account okc-recon's user ships on, and the file its invoices arrive as."""

    carrier: str
    number: str
    file_format: str

    def invoice_date(self, ship: date, weeks_later: int = 0) -> date:
        """The invoice that bills a parcel shipped on ``ship`` (``weeks_later`` cycles on)."""
        weekday = ship.weekday()
        offset = {
            "fedex": 8 - weekday,  # the Tuesday after the shipping week
            "ups": (5 - weekday) % 7,  # the Saturday ending the shipping week
            "usps": 6 - weekday,  # postage statements close on Sunday
            "dhl": 7 - weekday,  # the Monday after
        }[self.carrier]
        return ship + timedelta(days=offset + 7 * weeks_later)


ACCOUNTS = {
    "fedex_ground": Account("fedex", "621053174", "fedex_fbo"),
    "fedex_express": Account("fedex", "621053182", "fedex_fbo"),
    "ups_main": Account("ups", "R4W2E8", "ups_billing_data"),
    "ups_east": Account("ups", "7X9V31", "ups_billing_data"),
    "usps_shipstation": Account("usps", "SS-118204", "shipstation"),
    "usps_easypost": Account("usps", "user_7f3a9c21", "easypost"),
    "dhl": Account("dhl", "961234567", "dhl_express"),
}


@dataclass
class Order:
    """One OKC order and its fulfillments (parcels)."""

    id: str
    consumer_id: str
    number: int
    created: datetime  # naive UTC
    period: str
    address: dict[str, str]
    tz: str  # destination time zone (US) or country name (abroad)
    status: str = "Delivered"
    note: str | None = None
    parcels: list[Parcel] = field(default_factory=list)


@dataclass
class Parcel:
    """One fulfillment, and what its carrier really did and billed."""

    fid: str
    order: Order
    service: Service
    account: Account
    created: datetime  # naive UTC
    period: str
    tracking: str | None = None
    ship_date: date | None = None  # local pickup date
    pickup: datetime | None = None  # naive UTC
    delivered_local: datetime | None = None  # POD, local to the destination
    delivered: datetime | None = None  # naive UTC
    weight_centi: int = 100  # actual weight in hundredths of a pound
    box: tuple[int, int, int] = (6, 4, 4)
    zone: int = 5
    residential: bool = False
    charge_model: str = "cost_plus"
    flat_price: Decimal = Decimal("7.50")
    status: str = "Delivered"
    lines: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[Account, date, BillingEvent]] = field(default_factory=list)
    okc: dict[str, Any] = field(default_factory=dict)  # record fields OKC has differently
    remove_id: bool = False  # the API record comes without its id (a bad record)
    planted: bool = False

    @property
    def carrier(self) -> str:
        return self.service.carrier

    @property
    def original(self) -> BillingEvent:
        """The parcel's first shipment event."""
        return next(e for _, _, e in self.events if e.charge_category == "shipment")


class Builder:
    """Makes the orders, parcels, records and invoices of one world."""

    def __init__(self, seed: int, *, weight_unit: str, status_id_type: str) -> None:
        self.seed = seed
        self.weight_unit = weight_unit
        self.status_id_type = status_id_type
        self.client_id = new_id(random.Random(f"{seed}:client"))
        self.label_key = f"okc-sandbox-world-labels:{seed}".encode()
        self.used_tracking: set[str] = set()
        self.orders: list[Order] = []
        self.orphan_events: list[tuple[Account, date, BillingEvent]] = []
        self._ship_days: dict[tuple[str, int, date, int], list[date]] = {}
        self._order_number = 104_200
        self._line_number = 20_000
        rng = random.Random(f"{seed}:statuses")
        self.statuses: list[dict[str, Any]] = []
        self.status_ids: dict[tuple[str, str], Any] = {}
        for group, names, first in (
            ("order", ORDER_STATUSES, 1),
            ("fulfillment", FULFILLMENT_STATUSES, 20),
        ):
            for i, name in enumerate(names):
                sid: Any = new_id(rng) if status_id_type == "uuid" else first + i
                self.status_ids[(group, name)] = sid
                self.statuses.append({"id": sid, "name": name, "group": group})
        self._boxes = {
            box: new_id(random.Random(f"{seed}:box:{box}")) for box in (*_BOXES, (16, 12, 10))
        }

    # --- drawing parcels ---------------------------------------------------------------------

    def tracking_number(self, rng: random.Random, service: Service, account: Account) -> str:
        """A valid, unused tracking number for ``service`` billed to ``account``."""
        # Serials drawn whole and completed with carriers.tracking's check digits: the same
        # numbers make_tracking_number makes, at a fraction of the cost per parcel.
        while True:
            if service.carrier == "ups":
                # 1Z + shipper account + service code + package number + check digit
                serial = account.number + _UPS_SERVICE_CODES[service.name]
                serial += f"{rng.randrange(10**7):07d}"
                kind = "ups_1z"
            elif service.carrier == "fedex" and not service.express and rng.random() < 0.3:
                serial, kind = f"{rng.randrange(10**14):014d}", "fedex_ground_15"
            elif service.carrier == "fedex":
                serial, kind = str(rng.randrange(10**10, 10**11)), "fedex_express_12"
            elif service.carrier == "usps":
                serial = f"9{rng.choice('2345')}{rng.randrange(10**19):019d}"
                kind = "usps_impb_22"
            else:
                serial, kind = str(rng.randrange(10**8, 10**9)), "dhl_express_10"
            number = f"{'1Z' if kind == 'ups_1z' else ''}{serial}{check_digit(kind, serial)}"
            if number not in self.used_tracking:
                self.used_tracking.add(number)
                return number

    def account_for(self, rng: random.Random, service: Service) -> Account:
        if service.carrier == "fedex":
            return ACCOUNTS["fedex_express" if service.express else "fedex_ground"]
        if service.carrier == "ups":
            return ACCOUNTS["ups_main" if rng.random() < 0.85 else "ups_east"]
        if service.carrier == "usps":
            return ACCOUNTS["usps_shipstation" if rng.random() < 0.6 else "usps_easypost"]
        return ACCOUNTS["dhl"]

    @staticmethod
    def draw_service(rng: random.Random) -> Service:
        carrier = _pick(rng, _CARRIER_SHARES)
        return SERVICES[_pick(rng, _SERVICE_SHARES[carrier])]

    @staticmethod
    def can_ship(service: Service, day: date, zone: int) -> bool:
        """Whether ``service`` may leave on ``day``: express ones need business transit days."""
        if not is_business_day(day):
            return False
        if not service.express:
            return True
        transit = service.transit_days(zone)
        return all(is_business_day(day + timedelta(days=i)) for i in range(1, transit + 1))

    def new_order(
        self,
        rng: random.Random,
        period: str,
        created: datetime,
        abroad: bool,
        destination: tuple[str, str, int, tuple[int, int]] | None = None,
    ) -> Order:
        self._order_number += 1
        if abroad:
            country, city, _, _ = destination or rng.choice(_ABROAD)
            address = {
                "city": city,
                "province_name": "",
                "postal_code": "",
                "country_name": country,
            }
            tz = country
        else:
            city, state, prefix, tz = rng.choice(_CITIES)
            postal = f"{prefix}{rng.randint(1, 99):02d}"
            address = {
                "city": city,
                "province_name": state,
                "postal_code": postal,
                "country_name": "United States",
            }
        order = Order(
            id=new_id(rng),
            consumer_id=new_id(rng),
            number=self._order_number,
            created=created,
            period=period,
            address=address,
            tz=tz,
        )
        self.orders.append(order)
        return order

    def order_lines(self, rng: random.Random, order: Order, fid: str) -> list[dict[str, Any]]:
        lines = []
        for _ in range(1 if rng.random() < 0.8 else 2):
            self._line_number += 1
            pack = rng.choice(_PACKS)
            price = Decimal(rng.choice(("39.00", "49.00", "59.00", "69.00", "79.00")))
            discount = Decimal("5.00") if rng.random() < 0.2 else Decimal("0.00")
            lines.append(
                {
                    "id": new_id(rng),
                    "order_id": order.id,
                    "fulfillment_id": fid,
                    "name": f"SOL-{self._line_number:05d}",
                    "supplement_pack_name": pack,
                    "duration": 30,
                    "serving_size": rng.choice((1, 2, 2, 3)),
                    "unit_price": float(price),
                    "discount_amount": float(discount),
                    "total": float(price - discount),
                    "client_custom_order_line_id": f"LI-{self._line_number}",
                    "replacement_order_line_id": None,
                    "children_count": 0,
                    "children_tracking_numbers": "",
                    "is_priority_shipping": False,
                    "warnings": [],
                }
            )
        return lines

    def ship_day(
        self, rng: random.Random, service: Service, zone: int, days: list[date]
    ) -> date | None:
        key = (service.name, service.transit_days(zone), days[0], len(days))
        allowed = self._ship_days.get(key)
        if allowed is None:
            allowed = [d for d in days if self.can_ship(service, d, zone)]
            self._ship_days[key] = allowed
        return rng.choice(allowed) if allowed else None

    def new_parcel(
        self,
        rng: random.Random,
        order: Order,
        service: Service,
        ship: date | None,
        *,
        period: str,
        weight_centi: int | None = None,
        zone: int | None = None,
        charge_model: str | None = None,
    ) -> Parcel:
        """A parcel of ``order`` shipped with ``service`` on ``ship`` (None: not shipped)."""
        fid = new_id(rng)
        account = self.account_for(rng, service)
        parcel = Parcel(
            fid=fid,
            order=order,
            service=service,
            account=account,
            created=order.created + timedelta(minutes=rng.randint(20, 600)),
            period=period,
        )
        parcel.lines = self.order_lines(rng, order, fid)
        if service.carrier == "dhl":
            parcel.zone = next(z for c, _, z, _ in _ABROAD if c == order.tz)
        else:
            parcel.zone = zone if zone is not None else _pick(rng, _ZONES)
        parcel.weight_centi = weight_centi or self.draw_weight(rng, service)
        parcel.box = self.box_for(parcel.weight_centi, service)
        express = service.express
        parcel.residential = (
            service.name == "fedex_home_delivery"
            or (service.name == "ups_ground" and rng.random() < 0.7)
            or (express and service.carrier in ("fedex", "ups") and rng.random() < 0.6)
        )
        if charge_model is None:
            charge_model = "cost_plus" if rng.random() < 0.7 else "flat_rate"
        parcel.charge_model = charge_model
        parcel.flat_price = rng.choice(_FLAT_EXPRESS if express else _FLAT)
        order.parcels.append(parcel)
        if ship is None:
            parcel.status = "Pending"
            return parcel
        self.ship(rng, parcel, ship)
        return parcel

    def draw_weight(self, rng: random.Random, service: Service) -> int:
        while True:
            centi = max(20, min(900, int(rng.lognormvariate(math.log(1.35), 0.5) * 100)))
            if service.carrier != "dhl" or self.dhl_weight_ok(centi):
                return centi

    @staticmethod
    def dhl_weight_ok(centi: int) -> bool:
        """Whether DHL's half-kilo billing stays within the weight tolerance for this weight."""
        lb = Decimal(centi) / 100
        kg = round_tenth(lb * KG_PER_LB)
        billed_lb = ceil_half(max(kg, Decimal("0.5"))) / KG_PER_LB
        tolerance = max(Decimal("0.5"), lb / 10)
        return billed_lb - math.ceil(lb) <= tolerance - Decimal("0.05")

    @staticmethod
    def box_for(centi: int, service: Service) -> tuple[int, int, int]:
        """The largest box whose dimensional weight the carrier would not bill."""
        lb = Decimal(centi) / 100
        if service.carrier == "dhl":
            actual = ceil_half(max(round_tenth(lb * KG_PER_LB), Decimal("0.5")))
            fitting = [b for b in _BOXES if ceil_half(_dhl_volume(b)) <= actual]
        else:
            billed = max(math.ceil(round_tenth(lb)), 1)
            fitting = [b for b in _BOXES if math.ceil(b[0] * b[1] * b[2] / _DIM_DIVISOR) <= billed]
        return fitting[-1] if fitting else _BOXES[0]

    def ship(self, rng: random.Random, parcel: Parcel, ship: date, *, late_days: int = 0) -> None:
        """Ship ``parcel`` on ``ship``: tracking, pickup, delivery and the original charges."""
        service = parcel.service
        parcel.tracking = self.tracking_number(rng, service, parcel.account)
        parcel.ship_date = ship
        pickup_local = time(15, 0) if rng.random() < 0.5 else time(16, 0)
        pickup_local = (
            datetime.combine(ship, pickup_local) + timedelta(minutes=rng.randint(0, 105))
        ).time()
        parcel.pickup = to_utc(ship, pickup_local, utc_offset_hours(ship, _WAREHOUSE_ZONE))
        if parcel.created >= parcel.pickup - timedelta(hours=1):
            parcel.created = parcel.pickup - timedelta(hours=rng.randint(3, 20))
        transit = service.transit_days(parcel.zone)
        if service.express and late_days == 0:
            day = ship + timedelta(days=transit)  # every day between is a business day
        else:
            day = add_business_days(ship, transit + late_days)
        start = time(7, 0) if service.deliver_by <= time(10, 0) else time(8, 30)
        if late_days:
            start, latest = time(13, 0), time(15, 30)
        else:
            latest = service.deliver_by
        span = int(
            (datetime.combine(day, latest) - datetime.combine(day, start)).total_seconds() // 60
        )
        local = datetime.combine(day, start) + timedelta(minutes=rng.randint(0, max(span - 5, 0)))
        self.deliver(parcel, local)
        parcel.status = "Delivered"
        parcel.events = [(parcel.account, parcel.account.invoice_date(ship), self.bill(parcel))]

    def deliver(self, parcel: Parcel, local: datetime | None) -> None:
        parcel.delivered_local = local
        if local is None:
            parcel.delivered = None
            return
        tz = parcel.order.tz
        abroad = next((a for a in _ABROAD if a[0] == tz), None)
        if abroad is not None:
            standard, summer = abroad[3]
            offset = summer if _eu_or_us_summer(local.date(), tz) else standard
        else:
            offset = utc_offset_hours(local.date(), tz)
        parcel.delivered = local - timedelta(hours=offset)

    # --- billing ------------------------------------------------------------------------------

    def weights(self, parcel: Parcel) -> dict[str, Any]:
        """Entered and billed weight and unit as the parcel's carrier records them.

        The entered weight is the actual weight to 0.1 of the carrier's unit; the billed
        weight rounds the *entered* weight up (whole pounds, whole ounces under a pound then
        whole pounds for USPS, half kilos for DHL), or is the box's dimensional weight when
        that is higher.
        """
        lb = Decimal(parcel.weight_centi) / 100
        length, width, height = parcel.box
        if parcel.carrier in ("fedex", "ups"):
            entered = round_tenth(lb)
            actual = max(math.ceil(entered), 1)
            dim = math.ceil(length * width * height / _DIM_DIVISOR)
            return {
                "entered_weight": float(entered),
                "billed_weight": float(max(actual, dim)),
                "weight_unit": "lb",
                "rated_on_dim": dim > actual,
                "dimensions": (float(length), float(width), float(height)),
            }
        if parcel.carrier == "usps":
            oz = round_tenth(lb * 16)
            billed = math.ceil(oz) if oz <= 16 else math.ceil(oz / 16) * 16
            return {
                "entered_weight": float(oz),
                "billed_weight": float(max(billed, 1)),
                "weight_unit": "oz",
                "rated_on_dim": False,
                "dimensions": None,
            }
        kg = round_tenth(lb * KG_PER_LB)
        volume = _dhl_volume(parcel.box)
        return {
            "entered_weight": float(kg),
            "billed_weight": float(ceil_half(max(kg, volume, Decimal("0.5")))),
            "weight_unit": "kg",
            "rated_on_dim": ceil_half(volume) > ceil_half(max(kg, Decimal("0.5"))),
            "dimensions": (float(length), float(width), float(height)),
        }

    def charges(self, parcel: Parcel, billed_weight: float) -> tuple[Charge, ...]:
        service = parcel.service
        assert parcel.ship_date is not None
        if parcel.carrier == "usps":
            return usps_postage(service, billed_oz=int(billed_weight), zone=parcel.zone)
        if parcel.carrier == "dhl":
            return dhl_charges(
                service,
                billed_kg=Decimal(str(billed_weight)),
                zone=parcel.zone,
                ship_date=parcel.ship_date,
            )
        discount = {
            ("fedex", False): "0.22",
            ("fedex", True): "0.15",
            ("ups", False): "0.25",
            ("ups", True): "0.18",
        }[(parcel.carrier, service.express)]
        return parcel_charges(
            service,
            billed_lb=int(billed_weight),
            zone=parcel.zone,
            residential=parcel.residential,
            ship_date=parcel.ship_date,
            discount_pct=Decimal(discount),
        )

    def bill(self, parcel: Parcel, **overrides: Any) -> BillingEvent:
        """The original shipment event of ``parcel`` (``overrides`` replace its fields)."""
        weights = self.weights(parcel)
        local = parcel.delivered_local
        fields: dict[str, Any] = {
            "carrier": parcel.carrier,
            "tracking_number": parcel.tracking,
            "service": parcel.service.name,
            "ship_date": parcel.ship_date,
            "charge_category": "shipment",
            "charges": self.charges(parcel, weights["billed_weight"]),
            "delivery_date": local.date() if local else None,
            "delivery_time": local.time() if local else None,
            "fulfillment_id": parcel.fid,
            **weights,
        }
        fields.update(overrides)
        return BillingEvent(**fields)

    # --- records ------------------------------------------------------------------------------

    def okc_weight(self, centi: int) -> float:
        """OKC's ``weight`` number for an actual weight, in the world's unit."""
        lb = Decimal(centi) / 100
        value = {
            "lb": lb,
            "oz": round_tenth(lb * 16),
            "kg": (lb * KG_PER_LB).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP),
            "g": (lb * KG_PER_LB * 1000).quantize(Decimal("1"), rounding=ROUND_HALF_UP),
        }[self.weight_unit]
        return float(value)

    def okc_charge(self, parcel: Parcel) -> Decimal:
        """What OKC charged: the carrier's original net total (cost plus, no markup) or flat."""
        if parcel.charge_model == "flat_rate" or not parcel.events:
            return parcel.flat_price
        return parcel.original.total

    def status_id(self, group: str, name: str) -> Any:
        sid = self.status_ids[(group, name)]
        return str(sid) if self.status_id_type == "str" else sid

    def record(self, parcel: Parcel, rng: random.Random) -> dict[str, Any]:
        """The fulfillment as OKC's API serves it."""
        okc = parcel.okc
        carrier = okc.get("carrier", parcel.carrier)
        tracking = okc.get("tracking_number", parcel.tracking)
        url = okc.get("tracking_url")
        if "tracking_url" not in okc:
            url = _TRACKING_URL[carrier].format(tracking) if tracking else None
        delivered = None if okc.get("hide_delivery") else parcel.delivered
        if parcel.status not in ("Delivered",):
            delivered = None
        charge = okc.get("shipping_net_charge", self.okc_charge(parcel))
        model = parcel.charge_model.upper() if rng.random() < 0.7 else parcel.charge_model
        number = rng.randint(1_000_000, 9_999_999)
        stamps = [parcel.created, parcel.pickup, delivered]
        last = max(s for s in stamps if s is not None)
        updated = last + timedelta(minutes=rng.randint(2, 240), seconds=rng.randint(0, 59))
        record: dict[str, Any] = {
            "id": parcel.fid,
            "order_id": parcel.order.id,
            "consumer_id": parcel.order.consumer_id,
            "status_id": self.status_id("fulfillment", parcel.status),
            "delivery_date": iso(delivered),
            "pickup_date": okc.get("pickup_date", iso(parcel.pickup)),
            "tracking_info": {
                "shipping_carrier": okc.get("shipping_carrier", rng.choice(_CARRIER_TEXT[carrier])),
                "shipping_method": okc.get(
                    "shipping_method",
                    rng.choice(SERVICES[okc.get("service", parcel.service.name)].okc_methods),
                ),
                "tracking_number": tracking,
                "tracking_url": url,
            },
            "shipment_order_id": f"{number:010d}" if rng.random() < 0.6 else str(number),
            "shipment_order_number": f"SO-{number}",
            "label_url": (
                label_url(parcel.fid, parcel.pickup or parcel.created, self.label_key)
                if parcel.tracking
                else None
            ),
            "shipping_net_charge": charge if isinstance(charge, str) else float(charge),
            "shipping_charge_model": model,
            "weight": okc.get("weight", self.okc_weight(parcel.weight_centi)),
            "shipper_okc_product_id": self._boxes.get(parcel.box),
            "external_fulfillment_id": (
                f"gid://shopify/Fulfillment/{rng.randint(10**12, 10**13 - 1)}"
                if rng.random() < 0.35
                else None
            ),
            "external_label_id": None,
            "in_manifest": parcel.pickup is not None,
            "created_at": iso(parcel.created),
            "updated_at": iso(updated),
            "order_lines": parcel.lines,
        }
        if parcel.remove_id:
            del record["id"]
        return record

    def order_record(self, order: Order) -> dict[str, Any]:
        stamps = [order.created] + [
            s for p in order.parcels for s in (p.pickup, p.delivered) if s is not None
        ]
        return {
            "id": order.id,
            "client_id": self.client_id,
            "consumer_id": order.consumer_id,
            "client_custom_order_id": f"SHOP-{order.number}",
            "status": order.status,
            "note": order.note,
            "shipping_address": order.address,
            "order_lines": [
                {"id": line["id"], "name": line["name"], "fulfillment_id": p.fid}
                for p in order.parcels
                for line in p.lines
            ],
            "created_at": iso(order.created),
            "updated_at": iso(max(stamps) + timedelta(minutes=7)),
        }

    def invoices(self) -> list[Invoice]:
        """Every billing event of every parcel (and the plants), grouped into carrier invoices."""
        grouped: dict[tuple[str, str, date], list[BillingEvent]] = {}
        formats: dict[tuple[str, str, date], str] = {}
        for event_account, when, event in self.events():
            key = (event_account.carrier, event_account.number, when)
            grouped.setdefault(key, []).append(event)
            formats[key] = event_account.file_format
        invoices = []
        for key in sorted(grouped):
            carrier, number, when = key
            rng = random.Random(f"{self.seed}:invoice:{carrier}:{number}:{when.isoformat()}")
            events = sorted(
                grouped[key],
                key=lambda e: (e.ship_date or when, e.tracking_number or "", e.charge_category),
            )
            if carrier == "ups" and rng.random() < 0.5:
                amount = cents(Decimal(rng.randint(150, 900)) / 100)
                events.append(
                    BillingEvent(
                        carrier="ups",
                        tracking_number=None,
                        service=None,
                        ship_date=None,
                        charge_category="invoice",
                        charges=(Charge("other", "Service Charge", amount, "SVCH"),),
                    )
                )
            invoices.append(
                Invoice(
                    carrier=carrier,
                    account_number=number,
                    invoice_number=_invoice_number(carrier, number, when, rng),
                    invoice_date=when,
                    events=tuple(events),
                    file_format=formats[key],
                )
            )
        return invoices

    def events(self) -> list[tuple[Account, date, BillingEvent]]:
        found = [e for order in self.orders for p in order.parcels for e in p.events]
        return found + self.orphan_events

    def month(self, rng: random.Random, month: str, orders: int) -> list[Order]:
        """``orders`` orders whose parcels are picked up in ``month`` (or never shipped)."""
        days = month_days(month)
        business = [d for d in days if is_business_day(d)]
        made = []
        for _ in range(orders):
            kind = rng.choices(
                ("shipped", "canceled", "on_hold", "needs_changes"), weights=(970, 20, 5, 5)
            )[0]
            service = self.draw_service(rng)
            abroad = service.carrier == "dhl"
            if kind != "shipped":
                day = rng.choice(days)
                created = datetime.combine(day, time(rng.randint(0, 23), rng.randint(0, 59)))
                order = self.new_order(rng, month, created, abroad)
                order.status = {
                    "canceled": rng.choice(
                        ("Canceled by Client", "Canceled by Client", "Canceled by OKC")
                    ),
                    "on_hold": "On Hold",
                    "needs_changes": "Needs Changes",
                }[kind]
                if kind == "needs_changes":
                    order.note = "Packaging Asset Group is not Active for this product line"
                for _ in range(rng.choice((1, 1, 1, 2))):
                    parcel = self.new_parcel(rng, order, service, None, period=month)
                    parcel.status = "Canceled" if kind == "canceled" else "Pending"
                made.append(order)
                continue
            destination = rng.choice(_ABROAD) if abroad else None
            zone = destination[2] if destination else _pick(rng, _ZONES)
            ship = self.ship_day(rng, service, zone, business)
            if ship is None:  # an express service in a month without room: use ground
                service, abroad, destination = SERVICES["ups_ground"], False, None
                ship = rng.choice(business)
            created_day = ship - timedelta(days=rng.randint(1, 4))
            created = datetime.combine(created_day, time(rng.randint(0, 23), rng.randint(0, 59)))
            order = self.new_order(rng, month, created, abroad, destination)
            count = rng.choices((1, 2, 3), weights=(78, 18, 4))[0]
            for i in range(count):
                when = ship
                if i and rng.random() < 0.3:
                    nxt = add_business_days(ship, 1)
                    if nxt.month == ship.month and self.can_ship(service, nxt, zone):
                        when = nxt
                parcel = self.new_parcel(rng, order, service, when, period=month, zone=zone)
                roll = rng.random()
                if roll < 0.004:
                    parcel.status = "Returned to Sender"
                    self.deliver(parcel, None)
                    event = self.bill(parcel)
                    parcel.events = [(parcel.account, parcel.events[0][1], event)]
                elif roll < 0.016:
                    parcel.status = "Shipped"  # OKC never heard of the delivery
            order.status = (
                "Delivered" if all(p.status == "Delivered" for p in order.parcels) else "Shipped"
            )
            made.append(order)
        return made


def _dhl_volume(box: tuple[int, int, int]) -> Decimal:
    """DHL's volumetric weight of a box, in kilograms."""
    return Decimal(box[0] * box[1] * box[2]) * _CM_PER_IN**3 / _DHL_DIVISOR


def _eu_or_us_summer(day: date, country: str) -> bool:
    if country in ("United Kingdom", "Germany"):
        start = _last_sunday(day.year, 3)
        end = _last_sunday(day.year, 10)
        return start <= day < end
    if country == "Canada":
        return utc_offset_hours(day, "ET") == -4
    return False


def _last_sunday(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def _invoice_number(carrier: str, account: str, when: date, rng: random.Random) -> str:
    if carrier == "fedex":
        return f"{rng.choice('78')}{rng.randint(10**7, 10**8 - 1)}"
    if carrier == "ups":
        week = when.isocalendar().week
        return f"0000{account}{week:02d}{when.year % 10}"
    if carrier == "usps":
        prefix = "SS" if account.startswith("SS") else "EP"
        return f"{prefix}-{when:%Y%m%d}-{rng.randint(1000, 9999)}"
    return f"MIAR{when:%y%m%d}{rng.randint(100, 999)}"


def as_utc(moment: datetime) -> datetime:
    """A naive UTC datetime made aware."""
    return moment.replace(tzinfo=UTC)
