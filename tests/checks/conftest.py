"""Frames for the check tests: clean records, and records each planting one known problem.

GX takes seconds to import, so every module that runs a suite is marked with the ``gx``
xdist group (one worker imports it) and shares its reports through module-scoped fixtures.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from okc_recon.carriers.tracking import make_tracking_number
from okc_recon.money import MONEY
from okc_recon.schema import FULFILLMENT_SCHEMA, INVOICE_LINE_SCHEMA, conform

AS_OF = "2025-10-31"
URL = {
    "fedex": "https://www.fedex.com/fedextrack/?trknbr=",
    "ups": "https://www.ups.com/track?tracknum=",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
    "dhl": "https://www.dhl.com/us-en/home/tracking.html?tracking-id=",
}
SERVICE = {
    "fedex": ("FedEx Home Delivery", "fedex_home_delivery"),
    "ups": ("UPS Ground", "ups_ground"),
    "usps": ("USPS Ground Advantage", "usps_ground_advantage"),
    "dhl": ("DHL Express Worldwide", "dhl_express_worldwide"),
}
CREATED = datetime(2025, 10, 1, 15, 30, tzinfo=UTC)


def _utc(days: float) -> datetime:
    return CREATED + timedelta(days=days)


class Fulfillments:
    """Builds fulfillment rows: ``clean(n)`` adds ordinary ones, ``add(fid, **changes)`` one
    with changes; ``expect(fid, *checks)`` records which checks must name it."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.rows: list[dict[str, Any]] = []
        self.expected: set[tuple[str, str]] = set()
        self.count = 0

    def row(self, carrier: str = "ups", **changes: Any) -> dict[str, Any]:
        self.count += 1
        number = make_tracking_number(carrier, self.rng)
        method, service = SERVICE[carrier]
        # charges spread evenly around 10.00 (so the robust z-score sees an ordinary group)
        charge = Decimal("9.00") + Decimal(self.count % 9) * Decimal("0.25")
        row: dict[str, Any] = {
            "fulfillment_id": f"F{self.count:04d}",
            "order_id": f"O{self.count:04d}",
            "status": "Delivered",
            "shipping_carrier": carrier.upper(),
            "carrier": carrier,
            "shipping_method": method,
            "service": service,
            "tracking_number": number,
            "tracking_url": URL[carrier] + number,
            "shipping_net_charge": charge,
            "shipping_charge_model": "cost_plus",
            "weight": 1.5,
            "pickup_date": _utc(1),
            "delivery_date": _utc(4),
            "created_at": CREATED,
            "updated_at": _utc(4),
        }
        row.update(changes)
        return row

    def clean(self, n: int, carrier: str = "ups") -> Fulfillments:
        for _ in range(n):
            self.rows.append(self.row(carrier))
        return self

    def add(self, *checks: str, carrier: str = "ups", **changes: Any) -> dict[str, Any]:
        row = self.row(carrier, **changes)
        self.rows.append(row)
        record = row["fulfillment_id"] or f"(row {len(self.rows)})"
        self.expected.update((record, check) for check in checks)
        return row

    def frame(self) -> pl.DataFrame:
        frame = pl.DataFrame(self.rows, schema_overrides={"shipping_net_charge": MONEY})
        return conform(frame, FULFILLMENT_SCHEMA)


def planted_fulfillments() -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    """Clean fulfillments of every carrier plus one record per problem the suite checks,
    and the exact set of (record_id, check) failures they must produce."""
    b = Fulfillments()
    b.clean(14, "ups").clean(3, "fedex").clean(3, "usps").clean(2, "dhl")
    # a shipped parcel with no tracking number: no URL either
    b.add(
        "tracking_number_present", "tracking_url_present", tracking_number=None, tracking_url=None
    )
    b.add("tracking_url_present", tracking_url=None)
    b.add(
        "tracking_number_not_corrupted",
        tracking_number="7.9464E+11",
        tracking_url=URL["ups"] + "7.9464E+11",
    )
    good = make_tracking_number("ups", b.rng, "ups_1z")
    bad_digit = good[:-1] + str((int(good[-1]) + 1) % 10)
    b.add("tracking_number_valid", tracking_number=bad_digit, tracking_url=URL["ups"] + bad_digit)
    fedex = make_tracking_number("fedex", b.rng, "fedex_express_12")
    b.add("tracking_number_valid", tracking_number=fedex, tracking_url=URL["ups"] + fedex)
    shared = make_tracking_number("usps", b.rng, "usps_impb_22")
    for _ in range(2):
        b.add(
            "tracking_number_unique",
            carrier="usps",
            tracking_number=shared,
            tracking_url=URL["usps"] + shared,
        )
    b.add("tracking_url_host", tracking_url="https://track.example.net/p/1")
    b.add("delivery_not_before_pickup", delivery_date=_utc(-2), pickup_date=_utc(1))
    b.add("pickup_not_before_creation", pickup_date=_utc(-5))
    b.add("dates_not_in_future", delivery_date=datetime(2025, 11, 4, tzinfo=UTC))
    for _ in range(2):
        b.add("fulfillment_id_unique", fulfillment_id="F-DUP")
    b.add("fulfillment_id_present", fulfillment_id=None)
    b.add("charge_present", shipping_net_charge=None)
    b.add("charge_positive", shipping_net_charge=Decimal("0.00"))
    b.add("charge_positive", shipping_net_charge=Decimal("-3.10"))
    b.add("charge_not_anomalous", shipping_net_charge=Decimal("95.00"))
    b.add("weight_positive", "weight_plausible", weight=-1.0)
    b.add("weight_plausible", weight=400.0)
    b.add("weight_plausible", weight=0.01)
    b.add("weight_present", weight=None)
    b.add("carrier_known", carrier="ups", shipping_carrier="OnTrac", shipping_method=None)
    b.rows[-1].update(carrier="other", service=None, tracking_url="https://www.ontrac.com/t/1")
    b.add("service_known", shipping_method="ZZ99", service=None)
    # not shipped yet: no tracking number, URL, charge or weight is expected
    b.add(status="Label Pending", tracking_number=None, tracking_url=None)
    b.rows[-1].update(pickup_date=None, delivery_date=None, shipping_net_charge=None, weight=None)
    return b.frame(), b.expected


def clean_fulfillments() -> pl.DataFrame:
    return Fulfillments(seed=3).clean(12, "ups").clean(4, "fedex").clean(4, "usps").frame()


class InvoiceLines:
    """Builds invoice lines: each ``line`` is one file line (a FedEx line carries several
    charges); ``expect`` as for :class:`Fulfillments`."""

    def __init__(self, seed: int = 5) -> None:
        self.rng = random.Random(seed)
        self.rows: list[dict[str, Any]] = []
        self.expected: set[tuple[str, str]] = set()
        self.lines: dict[str, int] = {}

    def line(
        self,
        *checks: str,
        carrier: str = "ups",
        charges: int = 1,
        billed_by: str | None = None,
        **changes: Any,
    ) -> list[dict[str, Any]]:
        source = f"{carrier}-2025-10.csv"
        self.lines[source] = self.lines.get(source, 1) + 1
        number = make_tracking_number(carrier, self.rng)
        service_text, service = SERVICE[carrier]
        kinds = [("transportation", "Transportation", "8.40"), ("fuel", "Fuel Surcharge", "1.12")]
        kinds += [("residential", "Residential", "4.50")]
        out = []
        for charge_type, description, amount in kinds[:charges]:
            row: dict[str, Any] = {
                "carrier": carrier,
                "account_number": "A123",
                "invoice_number": f"INV-{carrier}-1",
                "invoice_date": date(2025, 10, 10),
                "tracking_number": number,
                "ship_date": date(2025, 10, 2),
                "delivery_date": date(2025, 10, 5),
                "service": service,
                "service_description": service_text,
                "charge_category": "shipment",
                "charge_type": charge_type,
                "charge_description": description,
                "amount": Decimal(amount),
                "currency": "USD",
                "billed_weight": 2.0,
                "entered_weight": 1.5,
                "weight_unit": "lb",
                "rated_on_dim": False,
                "source_file": source,
                "source_line": self.lines[source],
            }
            if billed_by is not None:
                row["carrier"] = billed_by
            row.update(changes)
            out.append(row)
            self.expected.update((f"{source}:{self.lines[source]}", c) for c in checks)
        self.rows.extend(out)
        return out

    def frame(self) -> pl.DataFrame:
        frame = pl.DataFrame(self.rows, schema_overrides={"amount": MONEY})
        return conform(frame, INVOICE_LINE_SCHEMA)


def planted_invoice_lines() -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    b = InvoiceLines()
    for carrier in ("fedex", "ups", "usps", "dhl"):
        for _ in range(3):
            b.line(carrier=carrier, charges=3 if carrier == "fedex" else 1)
    # an invoice-level charge has no tracking number, and needs none
    b.line(
        tracking_number=None,
        charge_category="invoice",
        charge_type="other",
        charge_description="Service Charge",
        service=None,
        service_description=None,
        billed_weight=None,
        entered_weight=None,
        ship_date=None,
        delivery_date=None,
    )
    # postage-tool exports (USPS) have no invoice numbers, and need none
    b.line(carrier="usps", invoice_number=None)
    copied = b.line("charge_line_unique")
    b.rows.append(dict(copied[0]))  # the same charge read twice from one line
    b.line("invoice_number_present", invoice_number=None)
    b.line("tracking_number_present", tracking_number=None)
    b.line("tracking_number_not_corrupted", tracking_number="7.94644790148E+11")
    # a FedEx line with three charges, its tracking number mangled: one failure, not three
    b.line(
        "tracking_number_not_corrupted", carrier="fedex", charges=3, tracking_number="7.9464E+11"
    )
    good = make_tracking_number("fedex", b.rng, "fedex_express_12")
    b.line("tracking_number_valid", carrier="fedex", tracking_number=good[:-1] + "X")
    b.line("carrier_known", billed_by="other", service=None, service_description=None)
    b.line("service_known", service=None, service_description="Mystery Overnight")
    b.line("charge_type_known", charge_type="other", charge_description="Unlisted Fee")
    b.line("ship_not_after_invoice", ship_date=date(2025, 10, 12), delivery_date=date(2025, 10, 14))
    b.line("delivery_not_before_ship", delivery_date=date(2025, 9, 30))
    b.line("dates_not_in_future", invoice_date=date(2025, 11, 2))
    b.line("amount_present", amount=None)
    b.line("amount_plausible", amount=Decimal("5000.00"))
    b.line("billed_weight_plausible", billed_weight=0.0)
    b.line("billed_weight_plausible", billed_weight=3000.0, weight_unit="oz")
    return b.frame(), b.expected


@pytest.fixture(scope="session")
def fulfillment_case() -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    return planted_fulfillments()


@pytest.fixture(scope="session")
def invoice_case() -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    return planted_invoice_lines()


def pairs(failures: pl.DataFrame) -> set[tuple[str, str]]:
    """``(record_id, expectation)`` of every failure."""
    return set(failures.select("record_id", "expectation").iter_rows())
