"""Business days of the carriers: weekends and each carrier's holidays are not transit days.

UPS, FedEx and DHL Express close on six US holidays (New Year's Day, Memorial Day,
Independence Day, Labor Day, Thanksgiving and Christmas); USPS closes on every federal
holiday. Dates come from the ``holidays`` package, on the day they are observed (a Saturday
holiday moves to the Friday, a Sunday one to the Monday). Add closures (weather, a carrier's
extra day) with ``extra``; ``"all"`` applies to every carrier.

    >>> from datetime import date
    >>> date(2025, 11, 27) in carrier_holidays("ups", [2025])
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cache

import polars as pl

__all__ = ["CARRIER_HOLIDAY_NAMES", "add_business_days", "carrier_holidays"]

_SIX = (
    "New Year's Day",
    "Memorial Day",
    "Independence Day",
    "Labor Day",
    "Thanksgiving",
    "Christmas Day",
)

#: carrier -> the holiday names it closes on (``None``: every US federal holiday).
CARRIER_HOLIDAY_NAMES: Mapping[str, tuple[str, ...] | None] = {
    "ups": _SIX,
    "fedex": _SIX,
    "dhl": _SIX,
    "usps": None,
}


@cache
def _federal(years: tuple[int, ...]) -> tuple[tuple[date, str], ...]:
    import holidays  # imported here: it takes a few hundred ms and most imports never need it

    calendar = holidays.country_holidays("US", years=years, observed=True)
    return tuple(sorted(calendar.items()))


def carrier_holidays(
    carrier: str, years: Iterable[int], *, extra: Mapping[str, Sequence[date]] | None = None
) -> tuple[date, ...]:
    """The weekdays ``carrier`` does not move parcels in ``years``, sorted.

    Unknown carriers (``other``) get the UPS/FedEx set. ``extra`` maps a carrier (or
    ``"all"``) to more closed dates.
    """
    names = CARRIER_HOLIDAY_NAMES.get(carrier, _SIX)
    found = {
        day
        for day, name in _federal(tuple(sorted(set(years))))
        if names is None or any(name.startswith(n) for n in names)
    }
    extra = extra or {}
    found.update(extra.get("all", ()))
    found.update(extra.get(carrier, ()))
    return tuple(sorted(day for day in found if day.weekday() < 5))


def add_business_days(
    start: pl.Expr,
    days: pl.Expr,
    carrier: pl.Expr,
    *,
    years: Iterable[int],
    extra: Mapping[str, Sequence[date]] | None = None,
) -> pl.Expr:
    """``start`` plus ``days`` business days of ``carrier`` (a date expression).

    A start on a weekend or holiday rolls forward to the next business day first, the way a
    parcel tendered on Saturday starts its transit on Monday. Null when any input is null.
    """
    years = tuple(years)
    result: pl.Expr = start.dt.add_business_days(
        days, holidays=carrier_holidays("other", years, extra=extra), roll="forward"
    )
    for name in CARRIER_HOLIDAY_NAMES:
        result = (
            pl.when(carrier == name)
            .then(
                start.dt.add_business_days(
                    days, holidays=carrier_holidays(name, years, extra=extra), roll="forward"
                )
            )
            .otherwise(result)
        )
    return result
