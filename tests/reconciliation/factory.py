"""Small frames for reconciliation tests: one clean shipment by default, overridable per field.

A clean shipment is an October 2025 UPS Ground parcel picked up on Monday 6 October, billed
on invoice ``I-100`` (11 October) as transportation 8.50 + fuel 1.50 = OKC's 10.00 cost-plus
charge, weighing 2 lb on both sides. Every test changes only what it is about.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl

from okc_recon.carriers.tracking import make_tracking_number
from okc_recon.reconciliation import Reconciliation, Rules, reconcile
from okc_recon.schema import FULFILLMENT_SCHEMA, INVOICE_LINE_SCHEMA, conform

PERIOD = "2025-10"
AS_OF = date(2025, 12, 15)
_RNG = random.Random(20251006)


def number(carrier: str = "ups", kind: str | None = None) -> str:
    """A fresh valid tracking number of ``carrier``."""
    return make_tracking_number(carrier, _RNG, kind)


def utc(day: date, hour: int = 15) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def fulfillment(tracking: str | None, **changes: Any) -> dict[str, Any]:
    pickup = changes.pop("pickup", date(2025, 10, 6))
    row: dict[str, Any] = {
        "fulfillment_id": f"F-{tracking}",
        "order_id": f"O-{tracking}",
        "status": "Shipped",
        "shipping_carrier": "UPS",
        "carrier": "ups",
        "shipping_method": "UPS Ground",
        "service": "ups_ground",
        "tracking_number": tracking,
        "tracking_key": tracking,
        "shipping_net_charge": Decimal("10.00"),
        "shipping_charge_model": "cost_plus",
        "weight": 2.0,
        "pickup_date": utc(pickup) if pickup else None,
        "delivery_date": utc(date(2025, 10, 9), 18),
        "created_at": utc(date(2025, 10, 5), 12),
    }
    row.update(changes)
    return row


def line(tracking: str | None, amount: str = "8.50", **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "carrier": "ups",
        "account_number": "A1",
        "invoice_number": "I-100",
        "invoice_date": date(2025, 10, 11),
        "tracking_number": tracking,
        "tracking_key": tracking,
        "ship_date": date(2025, 10, 6),
        "service": "ups_ground",
        "service_description": "Ground",
        "charge_category": "shipment",
        "charge_type": "transportation",
        "charge_description": "Ground Commercial",
        "amount": Decimal(amount),
        "currency": "USD",
        "billed_weight": 2.0,
        "entered_weight": 2.0,
        "weight_unit": "lb",
        "rated_on_dim": False,
        "source_file": "ups-1.csv",
        "source_line": 1,
    }
    row.update(changes)
    return row


def billed(tracking: str, **changes: Any) -> list[dict[str, Any]]:
    """The two lines that bill a clean shipment: transportation 8.50 and fuel 1.50."""
    return [
        line(tracking, "8.50", **changes),
        line(
            tracking,
            "1.50",
            **{"charge_type": "fuel", "charge_description": "Fuel Surcharge", **changes},
        ),
    ]


def _frame(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    rows = list(rows)
    unknown = {key for row in rows for key in row} - set(schema)
    assert not unknown, f"not schema columns: {unknown}"
    return conform(
        pl.DataFrame(
            {
                name: pl.Series(name, [row.get(name) for row in rows], dtype=schema[name])
                for name in schema
            }
        ),
        schema,
    )


def fulfillments_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    return _frame(rows, FULFILLMENT_SCHEMA)


def lines_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    numbered = []
    for index, row in enumerate(rows, start=1):
        numbered.append({**row, "source_line": row.get("source_line", 1) * 1000 + index})
    return _frame(numbered, INVOICE_LINE_SCHEMA)


def run(
    fulfillments: Iterable[Mapping[str, Any]],
    lines: Iterable[Mapping[str, Any]],
    *,
    rules: Rules | None = None,
    period: str | None = PERIOD,
    as_of: date | None = AS_OF,
) -> Reconciliation:
    return reconcile(
        fulfillments_frame(fulfillments),
        lines_frame(lines),
        rules=rules if rules is not None else Rules(weight_unit="lb"),
        period=period,
        as_of=as_of,
    )


def found(recon: Reconciliation) -> set[tuple[str, str]]:
    """``(tracking_key, issue_code)`` of every exception."""
    return set(zip(recon.exceptions["tracking_key"], recon.exceptions["issue_code"], strict=True))


def exception(recon: Reconciliation, tracking: str, code: str) -> dict[str, Any]:
    rows = recon.exceptions.filter(
        (pl.col("tracking_key") == tracking) & (pl.col("issue_code") == code)
    )
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def shipment(recon: Reconciliation, tracking: str) -> dict[str, Any]:
    rows = recon.shipments.filter(pl.col("tracking_key") == tracking)
    assert rows.height == 1, rows
    return rows.row(0, named=True)
