"""The sandbox's truth: what OKC's API serves, what each carrier really billed, what was planted.

The generator (:mod:`okc_recon.sandbox.generator`) builds a :class:`World` from a seed. The
sandbox server serves its ``fulfillments``/``orders``/``statuses``; the invoice writers turn
its ``invoices`` into carrier files; the sample month's answer key is its ``planted`` list.
Everything is plain data, deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Any

__all__ = ["BillingEvent", "Charge", "Invoice", "PlantedIssue", "World"]


@dataclass(frozen=True)
class Charge:
    """One charge on a shipment: ``charge_type`` from ``schema.CHARGE_TYPES``, credits negative."""

    charge_type: str
    description: str  # the carrier's own wording, e.g. "Fuel Surcharge", "Residential"
    amount: Decimal
    code: str | None = None  # the carrier's code when its files carry one (UPS "FSC", "RES")
    #: UPS: the contract incentive already taken off ``amount`` (its files' Incentive Amount)
    incentive: Decimal | None = None


@dataclass(frozen=True)
class BillingEvent:
    """One shipment (or one adjustment to it) as one carrier invoice bills it.

    A shipment's original charges are one event with ``charge_category="shipment"``; a later
    address correction or credit is another event, on a later invoice, with
    ``charge_category="adjustment"``. Invoice-level money with no parcel (UPS service
    charges) is an event with ``tracking_number=None`` and ``charge_category="invoice"``.
    """

    carrier: str  # fedex, ups, usps, dhl
    tracking_number: str | None  # as the carrier writes it
    service: str | None  # normalised service name (data/services.csv)
    ship_date: date | None
    charge_category: str  # schema.CHARGE_CATEGORIES
    charges: tuple[Charge, ...]
    alt_tracking_number: str | None = None  # FedEx CrossRefTrackingID, UPS lead shipment number
    delivery_date: date | None = None
    delivery_time: time | None = None
    billed_weight: float | None = None
    entered_weight: float | None = None
    weight_unit: str = "lb"  # schema.WEIGHT_UNITS
    rated_on_dim: bool = False
    dimensions: tuple[float, float, float] | None = None  # inches (L, W, H)
    label_status: str | None = None  # postage tools: voided, refunded, refund_submitted, …
    fulfillment_id: str | None = None  # truth: the fulfillment billed; None when OKC has none
    #: why an adjustment event exists, as the carrier codes it: UPS charge category detail
    #: ``SCC`` (weight/shipping charge correction), ``ADC`` (address correction), ``RADJ``
    #: (residential adjustment), ``GSR`` (guaranteed service refund), ``CADJ`` (credit),
    #: USPS ``APV`` (postage adjustment); None for original shipment charges
    adjustment_reason: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.charges), Decimal("0.00"))


@dataclass(frozen=True)
class Invoice:
    """One carrier invoice: a header and the billing events on it."""

    carrier: str
    account_number: str
    invoice_number: str
    invoice_date: date
    events: tuple[BillingEvent, ...]
    #: the file the carrier or postage tool delivers it as: fedex_fbo, ups_billing_data,
    #: shipstation, easypost, dhl_express (the invoice writers dispatch on it)
    file_format: str

    @property
    def total(self) -> Decimal:
        return sum((e.total for e in self.events), Decimal("0.00"))


@dataclass(frozen=True)
class PlantedIssue:
    """A problem the generator put in on purpose, and the issue code that must find it."""

    tracking_number: str  # as OKC has it, or as the carrier billed it for NOT_IN_OKC
    issue_code: str  # SPEC §6 code
    fulfillment_id: str | None
    period: str  # "YYYY-MM": the month whose run must report it
    note: str  # what was planted, in words


@dataclass(frozen=True)
class World:
    """Everything the sandbox knows, generated from ``seed``."""

    seed: int
    statuses: tuple[dict[str, Any], ...]  # /v2/statuses records
    orders: tuple[dict[str, Any], ...]  # order records (id, status, created_at, …)
    fulfillments: tuple[dict[str, Any], ...]  # API fulfillment records exactly as served
    invoices: tuple[Invoice, ...]
    planted: tuple[PlantedIssue, ...]
    bad_records: dict[str, str] = field(default_factory=dict)  # fulfillment id -> what is wrong
    #: tracking number -> a legitimate look-alike the rules must NOT flag, and why (a return
    #: label, a multi-piece shipment, a credit, a refunded late delivery)
    decoys: dict[str, str] = field(default_factory=dict)
    #: the month ("YYYY-MM") each record of ``fulfillments`` belongs to, index for index: its
    #: pickup month, else its creation month (bad records included, whatever their dates say)
    fulfillment_periods: tuple[str, ...] = ()
