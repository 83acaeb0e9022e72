"""What the suites check: one :class:`Check` per expectation, and the limits they use.

The checks are data, not code: each names the Great Expectations expectation it becomes, the
column (of the frame :mod:`okc_recon.checks._derive` builds) that expectation validates, the
rows it applies to, and the columns whose values name the problem in a report's
``failures``. :mod:`okc_recon.checks._gx` turns them into GX expectations; nothing here
imports GX.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from okc_recon.errors import ConfigError
from okc_recon.schema import CHARGE_TYPES

__all__ = [
    "FULFILLMENT_CHECKS",
    "INVOICE_CHECKS",
    "KNOWN_CARRIERS",
    "SEVERITIES",
    "SUITES",
    "Check",
    "CheckLimits",
    "Limit",
    "Severity",
    "resolve_checks",
]

Severity = Literal["error", "warning", "info"]
#: most severe first
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

#: carriers okc-recon audits (``other`` is a carrier it cannot)
KNOWN_CARRIERS = ("fedex", "ups", "usps", "dhl")

_DEFAULT_HOSTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "fedex": ("fedex.com",),
        "ups": ("ups.com",),
        "usps": ("usps.com",),
        "dhl": ("dhl.com", "dhl.de"),
    }
)


@dataclass(frozen=True, kw_only=True)
class CheckLimits:
    """The numbers the checks compare against; every one can be changed per run.

    - ``charge_z_max``: a charge is an anomaly when its robust z-score (``0.6745 × (charge −
      median) / MAD`` within its carrier, service, weight band and charge model) is beyond
      this; 3.5 is Iglewicz and Hoaglin's cut-off.
    - ``charge_group_min``: groups smaller than this are too small to call anything odd.
    - ``min_weight_lb``/``max_weight_lb``: a parcel weight outside these (in pounds, after
      converting from the weight unit) is implausible. 150 lb is the UPS and FedEx parcel
      maximum.
    - ``min_amount``/``max_amount``: an invoice line amount outside these (dollars) is
      implausible for a parcel charge.
    - ``pickup_before_creation_days``: how many days a pickup may precede the fulfillment's
      creation before it is an error; dates are UTC, so a local pickup date can land a day
      before a creation time stamped late in the evening.
    - ``tracking_url_hosts``: the hosts (and their subdomains) each carrier's tracking
      pages live on.
    """

    charge_z_max: float = 3.5
    charge_group_min: int = 8
    min_weight_lb: float = 0.05
    max_weight_lb: float = 150.0
    min_amount: float = -1000.0
    max_amount: float = 1000.0
    pickup_before_creation_days: int = 1
    tracking_url_hosts: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: _DEFAULT_HOSTS
    )

    def __post_init__(self) -> None:
        if self.charge_z_max <= 0 or self.charge_group_min < 2:
            raise ConfigError("charge_z_max must be positive and charge_group_min at least 2")
        if not 0 <= self.min_weight_lb < self.max_weight_lb:
            raise ConfigError("weight limits need 0 <= min_weight_lb < max_weight_lb")
        if not self.min_amount < self.max_amount:
            raise ConfigError("amount limits need min_amount < max_amount")
        if self.pickup_before_creation_days < 0:
            raise ConfigError("pickup_before_creation_days cannot be negative")


@dataclass(frozen=True)
class Limit:
    """A placeholder in :attr:`Check.kwargs` for a :class:`CheckLimits` field (or its negation)."""

    name: str
    negate: bool = False

    def resolve(self, limits: CheckLimits) -> float:
        value = float(getattr(limits, self.name))
        return -value if self.negate else value


@dataclass(frozen=True)
class Check:
    """One expectation of a suite.

    ``expectation`` is the GX class name; ``column`` the column it validates; ``kwargs`` its
    other arguments (:class:`Limit` values are filled from the run's :class:`CheckLimits`);
    ``when`` a boolean column restricting it to the rows where that column is true (a GX
    row condition); ``evidence`` the columns whose values a failure shows; ``needs_weight_unit``
    marks checks skipped when the weight unit is unknown. ``mostly`` is GX's: the share of
    rows that must pass for the check to succeed.
    """

    name: str
    expectation: str
    column: str
    description: str
    severity: Severity = "error"
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    when: str | None = None
    evidence: tuple[str, ...] = ()
    needs_weight_unit: bool = False
    mostly: float = 1.0

    def expectation_kwargs(self, limits: CheckLimits) -> dict[str, Any]:
        """The expectation's arguments besides ``column`` and ``mostly``, limits filled in."""
        return {
            key: value.resolve(limits) if isinstance(value, Limit) else value
            for key, value in self.kwargs.items()
        }


_NOT_NULL = "ExpectColumnValuesToNotBeNull"
_UNIQUE = "ExpectColumnValuesToBeUnique"
_IN_SET = "ExpectColumnValuesToBeInSet"
_BETWEEN = "ExpectColumnValuesToBeBetween"

_TRUE = MappingProxyType({"value_set": [True]})
_FALSE = MappingProxyType({"value_set": [False]})

#: The fulfillments suite (``record_id`` = ``fulfillment_id``).
FULFILLMENT_CHECKS: tuple[Check, ...] = (
    Check(
        "fulfillment_id_present",
        _NOT_NULL,
        "fulfillment_id",
        "every fulfillment has an id",
        evidence=("order_id", "tracking_number"),
    ),
    Check(
        "fulfillment_id_unique",
        _UNIQUE,
        "fulfillment_id",
        "no fulfillment id appears twice",
        evidence=("fulfillment_id", "order_id", "updated_at"),
    ),
    Check(
        "tracking_number_present",
        _NOT_NULL,
        "tracking_number",
        "a shipped fulfillment has a tracking number",
        when="shipped",
        evidence=("status", "carrier", "pickup_date"),
    ),
    Check(
        "tracking_url_present",
        _NOT_NULL,
        "tracking_url",
        "a shipped fulfillment has a tracking URL",
        severity="warning",
        when="shipped",
        evidence=("tracking_number", "carrier"),
    ),
    Check(
        "tracking_number_not_corrupted",
        _IN_SET,
        "tracking_corrupted",
        "the tracking number is not an Excel float artifact (7.9464E+11, …0.0)",
        kwargs=_FALSE,
        evidence=("tracking_number",),
    ),
    Check(
        "tracking_number_valid",
        _IN_SET,
        "tracking_valid",
        "the tracking number is valid for its carrier (format and check digit)",
        kwargs=_TRUE,
        evidence=("tracking_number", "carrier", "detected_carrier"),
    ),
    Check(
        "tracking_number_unique",
        _UNIQUE,
        "tracking_key",
        "no tracking number is on more than one fulfillment",
        evidence=("tracking_number", "order_id"),
    ),
    Check(
        "tracking_url_host",
        _IN_SET,
        "tracking_url_host_ok",
        "the tracking URL's host belongs to the carrier",
        severity="warning",
        kwargs=_TRUE,
        evidence=("tracking_url_host", "carrier"),
    ),
    Check(
        "carrier_known",
        _IN_SET,
        "carrier_code",
        "a shipped fulfillment's carrier is FedEx, UPS, USPS or DHL",
        severity="warning",
        kwargs=MappingProxyType({"value_set": list(KNOWN_CARRIERS)}),
        when="shipped",
        evidence=("shipping_carrier", "carrier"),
    ),
    Check(
        "service_known",
        _NOT_NULL,
        "service",
        "the shipping method maps to a known service",
        severity="warning",
        when="has_shipping_method",
        evidence=("carrier", "shipping_method"),
    ),
    Check(
        "delivery_not_before_pickup",
        _BETWEEN,
        "transit_days",
        "delivered on or after the pickup date",
        kwargs=MappingProxyType({"min_value": 0}),
        evidence=("pickup_date", "delivery_date"),
    ),
    Check(
        "pickup_not_before_creation",
        _BETWEEN,
        "pickup_lag_days",
        "picked up on or after the day the fulfillment was created",
        kwargs=MappingProxyType({"min_value": Limit("pickup_before_creation_days", negate=True)}),
        evidence=("created_at", "pickup_date"),
    ),
    Check(
        "dates_not_in_future",
        _BETWEEN,
        "days_after_as_of",
        "no date lies after the as-of date",
        kwargs=MappingProxyType({"max_value": 0}),
        evidence=("pickup_date", "delivery_date", "created_at", "updated_at"),
    ),
    Check(
        "charge_present",
        _NOT_NULL,
        "charge",
        "a shipped fulfillment has a shipping charge",
        when="shipped",
        evidence=("shipping_charge_model", "carrier"),
    ),
    Check(
        "charge_positive",
        _BETWEEN,
        "charge",
        "the shipping charge is more than zero",
        kwargs=MappingProxyType({"min_value": 0, "strict_min": True}),
        evidence=("shipping_net_charge", "shipping_charge_model"),
    ),
    Check(
        "charge_not_anomalous",
        _BETWEEN,
        "charge_robust_z",
        "the charge is in line with its carrier, service and weight band (robust z-score)",
        severity="warning",
        kwargs=MappingProxyType(
            {
                "min_value": Limit("charge_z_max", negate=True),
                "max_value": Limit("charge_z_max"),
            }
        ),
        evidence=("shipping_net_charge", "carrier", "service", "weight_band", "group_median"),
    ),
    Check(
        "weight_present",
        _NOT_NULL,
        "weight",
        "a shipped fulfillment has a weight",
        severity="warning",
        when="shipped",
        evidence=("carrier", "service"),
    ),
    Check(
        "weight_positive",
        _BETWEEN,
        "weight",
        "the weight is more than zero",
        kwargs=MappingProxyType({"min_value": 0, "strict_min": True}),
        evidence=("weight",),
    ),
    Check(
        "weight_plausible",
        _BETWEEN,
        "weight_lb",
        "the weight, in the resolved unit, is a plausible parcel weight",
        severity="warning",
        kwargs=MappingProxyType(
            {"min_value": Limit("min_weight_lb"), "max_value": Limit("max_weight_lb")}
        ),
        evidence=("weight", "weight_unit", "weight_lb"),
        needs_weight_unit=True,
    ),
)

#: The invoice-lines suite (``record_id`` = ``source_file:source_line``).
INVOICE_CHECKS: tuple[Check, ...] = (
    Check(
        "charge_line_unique",
        _UNIQUE,
        "line_key",
        "no charge is read twice from the same file line",
        evidence=("source_file", "source_line", "charge_description", "amount"),
    ),
    Check(
        "invoice_number_present",
        _NOT_NULL,
        "invoice_number",
        "every FedEx, UPS and DHL line belongs to an invoice number",
        # USPS postage is bought through postage tools, whose exports have no invoices
        when="invoiced_carrier",
        evidence=("carrier", "account_number"),
    ),
    Check(
        "tracking_number_present",
        _NOT_NULL,
        "tracking_number",
        "a shipment or return line has a tracking number",
        when="shipment_line",
        evidence=("invoice_number", "charge_category", "charge_description"),
    ),
    Check(
        "tracking_number_not_corrupted",
        _IN_SET,
        "tracking_corrupted",
        "the tracking number is not an Excel float artifact (7.9464E+11, …0.0)",
        kwargs=_FALSE,
        evidence=("tracking_number", "invoice_number"),
    ),
    Check(
        "tracking_number_valid",
        _IN_SET,
        "tracking_valid",
        "the tracking number is valid for the billing carrier (format and check digit)",
        kwargs=_TRUE,
        evidence=("tracking_number", "carrier", "detected_carrier"),
    ),
    Check(
        "carrier_known",
        _IN_SET,
        "carrier_code",
        "the billing carrier is FedEx, UPS, USPS or DHL",
        kwargs=MappingProxyType({"value_set": list(KNOWN_CARRIERS)}),
        evidence=("carrier", "source_file"),
    ),
    Check(
        "service_known",
        _NOT_NULL,
        "service",
        "the billed service maps to a known service",
        severity="warning",
        when="has_service_description",
        evidence=("carrier", "service_description"),
    ),
    Check(
        "charge_type_known",
        _IN_SET,
        "charge_type_code",
        "a parcel's charge is classified (its charge type is not 'other')",
        severity="warning",
        kwargs=MappingProxyType({"value_set": [t for t in CHARGE_TYPES if t != "other"]}),
        # invoice-level money (service charges, fees) belongs to no parcel: 'other' is apt
        when="parcel_line",
        evidence=("charge_code", "charge_description"),
    ),
    Check(
        "ship_not_after_invoice",
        _BETWEEN,
        "invoice_lag_days",
        "shipped on or before the invoice date",
        kwargs=MappingProxyType({"min_value": 0}),
        evidence=("ship_date", "invoice_date"),
    ),
    Check(
        "delivery_not_before_ship",
        _BETWEEN,
        "transit_days",
        "delivered on or after the ship date",
        kwargs=MappingProxyType({"min_value": 0}),
        evidence=("ship_date", "delivery_date"),
    ),
    Check(
        "dates_not_in_future",
        _BETWEEN,
        "days_after_as_of",
        "no date lies after the as-of date",
        kwargs=MappingProxyType({"max_value": 0}),
        evidence=("invoice_date", "ship_date", "delivery_date"),
    ),
    Check(
        "amount_present",
        _NOT_NULL,
        "amount_value",
        "every line has an amount",
        evidence=("charge_type", "charge_description"),
    ),
    Check(
        "amount_plausible",
        _BETWEEN,
        "amount_value",
        "the amount is within the plausible range for a parcel charge",
        severity="warning",
        kwargs=MappingProxyType(
            {"min_value": Limit("min_amount"), "max_value": Limit("max_amount")}
        ),
        evidence=("amount", "charge_type", "charge_description"),
    ),
    Check(
        "billed_weight_plausible",
        _BETWEEN,
        "billed_weight_lb",
        "a shipment line's billed weight is more than zero and at most the parcel maximum",
        severity="warning",
        kwargs=MappingProxyType(
            {"min_value": 0, "strict_min": True, "max_value": Limit("max_weight_lb")}
        ),
        when="shipment_line",
        evidence=("billed_weight", "weight_unit"),
    ),
)

#: suite name -> its checks
SUITES: Mapping[str, tuple[Check, ...]] = MappingProxyType(
    {"fulfillments": FULFILLMENT_CHECKS, "invoice_lines": INVOICE_CHECKS}
)


def resolve_checks(
    suite: str,
    *,
    thresholds: Mapping[str, float] | float | None = None,
    severities: Mapping[str, Severity] | None = None,
) -> tuple[Check, ...]:
    """The suite's checks with ``thresholds`` (check -> ``mostly``, or one ``mostly`` for
    every check) and ``severities`` (check -> severity) applied.

    Unknown check names, a ``mostly`` outside 0..1 and unknown severities raise
    :class:`~okc_recon.errors.ConfigError` naming what is accepted.
    """
    checks = SUITES[suite]
    names = {c.name for c in checks}
    if isinstance(thresholds, (int, float)):
        thresholds = dict.fromkeys(names, float(thresholds))
    for option, given in (("thresholds", thresholds), ("severities", severities)):
        unknown = sorted(set(given or {}) - names)
        if unknown:
            raise ConfigError(
                f"{option}: unknown {suite} check(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
    resolved = []
    for check in checks:
        mostly = (thresholds or {}).get(check.name, check.mostly)
        severity = (severities or {}).get(check.name, check.severity)
        if not 0.0 <= float(mostly) <= 1.0:
            raise ConfigError(f"thresholds: {check.name} must be between 0 and 1, got {mostly!r}")
        if severity not in SEVERITIES:
            raise ConfigError(
                f"severities: {check.name} must be one of {', '.join(SEVERITIES)}, got {severity!r}"
            )
        resolved.append(dataclasses.replace(check, severity=severity, mostly=float(mostly)))
    return tuple(resolved)
