"""The rules a reconciliation runs by: tolerances, markup, weights, grace periods, surcharge
types, equivalent services, severities, the dated commitments table and carrier holidays.

Every default is the one ``docs/reconciliation.md`` states. Analysts keep their own rules in a
TOML file::

    # rules.toml
    abs_tolerance = "0.50"
    pct_tolerance = "0.03"
    markup = "0.10"                 # OKC charges cost + 10 %
    weight_unit = "oz"
    surcharge_types = ["delivery_area", "additional_handling", "saturday"]
    service_equivalents = [["fedex_ground", "fedex_home_delivery"]]
    commitments = "my_commitments.csv"   # extra rows, relative to this file
    service_map = "okc_method_codes.csv" # carrier,alias,service
    [severities]
    SURCHARGE = "medium"
    [holidays]
    all = ["2025-12-24"]

    >>> rules = Rules.from_toml("rules.toml")  # doctest: +SKIP
    >>> Rules(markup=Decimal("0.10")).markup
    Decimal('0.10')
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from okc_recon.carriers.services import ServiceMap
from okc_recon.config import WEIGHT_UNITS, WeightUnit
from okc_recon.errors import ConfigError
from okc_recon.reconciliation.commitments import Commitments
from okc_recon.schema import CHARGE_TYPES

__all__ = [
    "DEFAULT_SERVICE_EQUIVALENTS",
    "DEFAULT_SEVERITIES",
    "DEFAULT_SURCHARGE_TYPES",
    "ISSUE_CODES",
    "SEVERITIES",
    "Rules",
]

#: Every issue code, in the order the rule book lists them.
ISSUE_CODES = (
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
)

SEVERITIES = ("high", "medium", "low")

DEFAULT_SEVERITIES: Mapping[str, str] = MappingProxyType(
    {
        "UNBILLED": "low",
        "NOT_IN_OKC": "high",
        "BILLED_CANCELED": "high",
        "DUPLICATE_BILLING": "high",
        "CHARGE_VARIANCE": "medium",
        "WEIGHT_VARIANCE": "medium",
        "DIM_WEIGHT": "medium",
        "LATE_DELIVERY": "high",
        "CARRIER_MISMATCH": "low",
        "SERVICE_MISMATCH": "low",
        "ADDRESS_CORRECTION": "medium",
        "SURCHARGE": "low",
        "ADJUSTMENT": "low",
    }
)

#: Residential is left out: a direct-to-consumer shipper pays it on most parcels.
DEFAULT_SURCHARGE_TYPES = frozenset(
    {"delivery_area", "additional_handling", "saturday", "signature", "other"}
)

#: Pairs of services a carrier bills interchangeably for the same label.
DEFAULT_SERVICE_EQUIVALENTS: frozenset[frozenset[str]] = frozenset(
    {
        # FedEx bills a Ground parcel to a residence as Home Delivery.
        frozenset({"fedex_ground", "fedex_home_delivery"}),
        # USPS replaced First-Class Package Service with Ground Advantage in July 2023.
        frozenset({"usps_first_class", "usps_ground_advantage"}),
        # UPS renamed SurePost to Ground Saver in 2024.
        frozenset({"ups_surepost", "ups_ground_saver"}),
    }
)

_CANCELED = r"(?i)cancel|void"
_PRE_SHIPMENT = (
    r"(?i)^\s*(pending|on hold|hold|accepted|in production|needs changes|label created|"
    r"awaiting.*|processing|ready.*|new|created|open)\s*$"
)


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, Decimal):
        amount = value
    else:
        try:
            amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except InvalidOperation:
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not amount.is_finite():
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return amount


def _date(name: str, value: object) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a YYYY-MM-DD date") from None


@dataclass(frozen=True, kw_only=True)
class Rules:
    """How :func:`okc_recon.reconciliation` decides what is wrong. Every field has a default.

    Money tolerances:
        ``abs_tolerance`` (0.25) and ``pct_tolerance`` (0.02): a charge variance is raised when
        ``abs(unexplained) > abs_tolerance + pct_tolerance × abs(expected)``.
        ``markup`` (0): OKC's cost-plus charge is the carrier cost × (1 + markup).
        ``compare_flat_rate`` (False): also derive an expected carrier charge from flat rates.
    Weights:
        ``weight_unit`` (``auto``: inferred from matched invoice weights), tolerances
        ``weight_abs_tolerance_lb`` (0.5) and ``weight_pct_tolerance`` (0.10).
    Time:
        ``unbilled_grace_days`` (7), ``invoice_grace_days`` (45: invoices dated up to this many
        days after the period belong to it), ``late_grace_seconds`` (60),
        ``billing_dispute_days`` (180: the claim window of billing errors, from the invoice date).
    Issues:
        ``surcharge_types`` flagged as SURCHARGE; ``service_equivalents`` (pairs that are not a
        SERVICE_MISMATCH); ``severities`` (issue code → high/medium/low; a partial mapping
        overrides the defaults); ``canceled_statuses`` and ``pre_shipment_statuses`` (regular
        expressions over the fulfillment's status name).
    Reference data:
        ``commitments`` (the dated guarantee table; extend it with
        ``Commitments.default().extend(path)``), ``holidays`` (extra closed dates per carrier,
        ``"all"`` for every carrier), ``service_map`` (a :class:`ServiceMap` applied to OKC's
        ``shipping_method`` and the invoices' service text; ``None`` keeps the frames' own
        ``service``).
    """

    abs_tolerance: Decimal = Decimal("0.25")
    pct_tolerance: Decimal = Decimal("0.02")
    markup: Decimal = Decimal("0")
    compare_flat_rate: bool = False
    weight_unit: WeightUnit = "auto"
    weight_abs_tolerance_lb: float = 0.5
    weight_pct_tolerance: float = 0.10
    unbilled_grace_days: int = 7
    invoice_grace_days: int = 45
    late_grace_seconds: int = 60
    billing_dispute_days: int = 180
    surcharge_types: frozenset[str] = DEFAULT_SURCHARGE_TYPES
    service_equivalents: frozenset[frozenset[str]] = DEFAULT_SERVICE_EQUIVALENTS
    severities: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SEVERITIES, hash=False)
    canceled_statuses: str = _CANCELED
    pre_shipment_statuses: str = _PRE_SHIPMENT
    commitments: Commitments = field(default_factory=Commitments.default, repr=False)
    holidays: Mapping[str, tuple[date, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    service_map: ServiceMap | None = field(default=None, hash=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("abs_tolerance", "pct_tolerance", "markup"):
            set_(self, name, _decimal(name, getattr(self, name)))
        if self.abs_tolerance < 0 or self.pct_tolerance < 0:
            raise ConfigError("abs_tolerance and pct_tolerance must not be negative")
        if self.markup <= -1:
            raise ConfigError(f"markup must be above -1 (-100 %), got {self.markup}")
        for name in ("markup", "pct_tolerance", "abs_tolerance"):
            exponent = getattr(self, name).as_tuple().exponent
            if isinstance(exponent, int) and exponent < -6:
                raise ConfigError(
                    f"{name} takes at most six decimal places, got {getattr(self, name)}"
                )
        if self.weight_unit not in WEIGHT_UNITS:
            raise ConfigError(
                f"weight_unit must be one of {', '.join(WEIGHT_UNITS)}, got {self.weight_unit!r}"
            )
        for name in ("weight_abs_tolerance_lb", "weight_pct_tolerance"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
            set_(self, name, float(value))
        for name in (
            "unbilled_grace_days",
            "invoice_grace_days",
            "late_grace_seconds",
            "billing_dispute_days",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be a whole number ≥ 0, got {value!r}")
        surcharges = frozenset(self.surcharge_types)
        unknown = sorted(surcharges - set(CHARGE_TYPES))
        if unknown:
            raise ConfigError(
                f"surcharge_types: unknown charge type(s) {', '.join(unknown)}; "
                f"known: {', '.join(CHARGE_TYPES)}"
            )
        set_(self, "surcharge_types", surcharges)
        set_(self, "service_equivalents", _equivalents(self.service_equivalents))
        set_(self, "severities", _severities(self.severities))
        for name in ("canceled_statuses", "pre_shipment_statuses"):
            try:
                re.compile(getattr(self, name))
            except (re.error, TypeError) as exc:
                raise ConfigError(f"{name} is not a regular expression: {exc}") from None
        if not isinstance(self.commitments, Commitments):
            raise ConfigError("commitments must be a Commitments table")
        set_(
            self,
            "holidays",
            MappingProxyType(
                {
                    str(carrier).lower(): tuple(_date(f"holidays.{carrier}", d) for d in days)
                    for carrier, days in dict(self.holidays).items()
                }
            ),
        )

    def replace(self, **changes: Any) -> Rules:
        """A copy with some rules changed."""
        return dataclasses.replace(self, **changes)

    def severity(self, code: str) -> str:
        """The severity of one issue code."""
        return self.severities[code]

    def describe(self) -> dict[str, str]:
        """The rules as short text values, for a run's record (workbook Run info, logs)."""
        return {
            "abs_tolerance": str(self.abs_tolerance),
            "pct_tolerance": str(self.pct_tolerance),
            "markup": str(self.markup),
            "compare_flat_rate": str(self.compare_flat_rate),
            "weight_unit": self.weight_unit,
            "weight_abs_tolerance_lb": str(self.weight_abs_tolerance_lb),
            "weight_pct_tolerance": str(self.weight_pct_tolerance),
            "unbilled_grace_days": str(self.unbilled_grace_days),
            "invoice_grace_days": str(self.invoice_grace_days),
            "late_grace_seconds": str(self.late_grace_seconds),
            "billing_dispute_days": str(self.billing_dispute_days),
            "surcharge_types": ", ".join(sorted(self.surcharge_types)),
            "service_equivalents": "; ".join(
                sorted(" = ".join(sorted(pair)) for pair in self.service_equivalents)
            ),
            "commitment_rows": str(len(self.commitments.rows)),
        }

    @classmethod
    def from_toml(cls, path: str | Path) -> Rules:
        """Rules from a TOML file: top-level keys (or a ``[rules]`` table) named like the fields.

        ``commitments`` and ``service_map`` are paths to CSV files (relative to the TOML file)
        added to the built-in tables; ``severities`` and ``holidays`` are tables.
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read rules file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"rules file {path} is not valid TOML: {exc}") from exc
        if isinstance(data.get("rules"), dict):
            data = {**{k: v for k, v in data.items() if k != "rules"}, **data["rules"]}
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ConfigError(
                f"rules file {path}: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(fields))}"
            )
        base = path.parent
        kwargs: dict[str, Any] = dict(data)
        if "commitments" in kwargs:
            kwargs["commitments"] = Commitments.default().extend(
                _relative(base, kwargs["commitments"], "commitments")
            )
        if "service_map" in kwargs:
            kwargs["service_map"] = ServiceMap.default().extend(
                _relative(base, kwargs["service_map"], "service_map")
            )
        for name in ("severities", "holidays"):
            if name in kwargs and not isinstance(kwargs[name], dict):
                raise ConfigError(f"rules file {path}: {name} must be a table")
        return cls(**kwargs)


def _relative(base: Path, value: object, name: str) -> Path:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a path to a CSV file, got {value!r}")
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def _equivalents(value: Iterable[Iterable[str]]) -> frozenset[frozenset[str]]:
    pairs = set()
    for item in value:
        if isinstance(item, str):
            raise ConfigError(
                f"service_equivalents must hold pairs of services, got the text {item!r}"
            )
        group = frozenset(str(s) for s in item)
        if len(group) < 2:
            raise ConfigError(f"service_equivalents: {sorted(group)} needs two services")
        pairs.add(group)
    return frozenset(pairs)


def _severities(value: Mapping[str, str]) -> Mapping[str, str]:
    merged = dict(DEFAULT_SEVERITIES)
    for code, severity in dict(value).items():
        code_ = str(code).upper()
        if code_ not in ISSUE_CODES:
            raise ConfigError(f"severities: unknown issue code {code!r}")
        if severity not in SEVERITIES:
            raise ConfigError(
                f"severities: {code_} must be one of {', '.join(SEVERITIES)}, got {severity!r}"
            )
        merged[code_] = severity
    return MappingProxyType(merged)


def equivalent_pairs(rules: Rules) -> Sequence[str]:
    """``"a|b"`` for every ordered pair of equivalent services (for a vectorised ``is_in``)."""
    out: list[str] = []
    for group in rules.service_equivalents:
        members = sorted(group)
        out.extend(f"{a}|{b}" for a in members for b in members if a != b)
    return sorted(out)
