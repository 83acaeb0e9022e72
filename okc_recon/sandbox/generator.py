"""Deterministic sandbox data: OKC orders and fulfillments, carrier invoices, planted problems.

:func:`generate` builds a :class:`~okc_recon.sandbox.world.World` from a
:class:`GeneratorConfig`: a few months of orders with one to three fulfillments each, shipped
with FedEx, UPS, USPS and DHL in realistic shares, with valid tracking numbers, weights,
boxes, dates and charges; what each carrier really billed, as weekly invoices per account;
and, in every month, several of each SPEC §6 problem, recorded in ``World.planted`` with
exactly the issue codes docs/reconciliation.md's default rules raise for them, plus
look-alikes that must not be flagged (``World.decoys``) and a few malformed records
(``World.bad_records``).

The same config always gives the same world: every draw comes from ``random.Random``
streams seeded from the config, never the global generator, and nothing depends on the
clock or on hash order.

    >>> world = generate(GeneratorConfig(orders_per_month=300, months=1))   # doctest: +SKIP
    >>> len(world.fulfillments), len(world.invoices), len(world.planted)    # doctest: +SKIP
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from okc_recon.sandbox._build import Builder
from okc_recon.sandbox._plants import Planter
from okc_recon.sandbox.world import PlantedIssue, World

__all__ = [
    "DEFAULT_SEED",
    "SAMPLE_MONTH",
    "GeneratorConfig",
    "fulfillments_for",
    "generate",
]

DEFAULT_SEED = 2025
#: The month ``sample_data/`` and ``make demo`` use.
SAMPLE_MONTH = "2025-10"

_WEIGHT_UNITS = ("lb", "oz", "kg", "g")
_STATUS_ID_TYPES = ("int", "str", "uuid")


@dataclass(frozen=True, kw_only=True)
class GeneratorConfig:
    """What world to generate.

    - ``seed``: every random draw derives from it.
    - ``start_month``/``months``: the pickup months (``"YYYY-MM"``, consecutive).
    - ``orders_per_month``: orders whose parcels are picked up in each month (plus a few that
      never ship: canceled, on hold, needing changes). Planting needs at least 150.
    - ``weight_unit``: the unit of OKC's ``weight`` numbers (``lb``, ``oz``, ``kg``, ``g``);
      OKC does not publish it, so the toolkit must infer it.
    - ``plant``: plant the problems and look-alikes; ``bad_records``: add malformed records.
    - ``status_id_type``: ``int`` (statuses and fulfillments use integer ids), ``str``
      (fulfillments send the integer as text), ``uuid`` (UUID text everywhere), the
      three readings of okc-api.md §2.
    """

    seed: int = DEFAULT_SEED
    start_month: str = "2025-07"
    months: int = 4
    orders_per_month: int = 1000
    weight_unit: str = "lb"
    plant: bool = True
    bad_records: bool = True
    status_id_type: str = "int"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", self.start_month):
            raise ValueError(f"start_month must be YYYY-MM, got {self.start_month!r}")
        if self.months < 1:
            raise ValueError("months must be at least 1")
        if self.orders_per_month < 1:
            raise ValueError("orders_per_month must be at least 1")
        if (self.plant or self.bad_records) and self.orders_per_month < 150:
            raise ValueError(
                "planting problems and bad records needs orders_per_month >= 150; "
                "pass plant=False, bad_records=False for a smaller world"
            )
        if self.weight_unit not in _WEIGHT_UNITS:
            raise ValueError(f"weight_unit must be one of {', '.join(_WEIGHT_UNITS)}")
        if self.status_id_type not in _STATUS_ID_TYPES:
            raise ValueError(f"status_id_type must be one of {', '.join(_STATUS_ID_TYPES)}")

    @property
    def month_list(self) -> list[str]:
        """The generated months, ``"YYYY-MM"``, in order."""
        year, month = (int(p) for p in self.start_month.split("-"))
        out = []
        for i in range(self.months):
            y, m = divmod(month - 1 + i, 12)
            out.append(f"{year + y:04d}-{m + 1:02d}")
        return out

    @property
    def plants_per_kind(self) -> int:
        """How many of each planted problem a month gets."""
        return 3 if self.orders_per_month >= 400 else 1


def generate(config: GeneratorConfig | None = None) -> World:
    """The world for ``config`` (default: ``GeneratorConfig()``), built once and cached.

    The returned world is shared between callers: treat its records as read-only (the
    sandbox server copies what it changes).
    """
    return _generate(config or GeneratorConfig())


@lru_cache(maxsize=8)
def _generate(config: GeneratorConfig) -> World:
    builder = Builder(
        config.seed, weight_unit=config.weight_unit, status_id_type=config.status_id_type
    )
    planted: list[PlantedIssue] = []
    bad: dict[str, str] = {}
    decoys: dict[str, str] = {}
    for month in config.month_list:
        orders = builder.month(
            random.Random(f"{config.seed}:orders:{month}"), month, config.orders_per_month
        )
        planter = Planter(builder, random.Random(f"{config.seed}:plants:{month}"), month, orders)
        if config.plant:
            planter.plant(config.plants_per_kind, bad_records=config.bad_records)
        elif config.bad_records:
            planter.bad_records()
        planted += planter.planted
        bad.update(planter.bad)
        decoys.update(planter.decoys)
    records_rng = random.Random(f"{config.seed}:records")
    fulfillments: list[dict[str, Any]] = []
    periods: list[str] = []
    for order in builder.orders:
        for parcel in order.parcels:
            fulfillments.append(builder.record(parcel, records_rng))
            periods.append(parcel.period)
    return World(
        seed=config.seed,
        statuses=tuple(builder.statuses),
        orders=tuple(builder.order_record(order) for order in builder.orders),
        fulfillments=tuple(fulfillments),
        invoices=tuple(builder.invoices()),
        planted=tuple(planted),
        bad_records=bad,
        decoys=decoys,
        fulfillment_periods=tuple(periods),
    )


def fulfillments_for(world: World, *months: str) -> list[dict[str, Any]]:
    """The fulfillment records of ``months`` (``"YYYY-MM"``), bad records included.

    A record belongs to its pickup month, or to its creation month when it never shipped;
    ``World.fulfillment_periods`` says which, so records whose dates are broken on purpose
    still land in their month.
    """
    wanted = set(months)
    return [
        record
        for record, month in zip(world.fulfillments, world.fulfillment_periods, strict=True)
        if month in wanted
    ]
