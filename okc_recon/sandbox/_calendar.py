"""Days and clocks for generated shipments: US federal holidays, business days, US time zones.

The generator never ships or delivers on a weekend or a US federal holiday (a superset of
every carrier's closures), so a shipment it calls on time is on time under any carrier's
holiday calendar. Written out here rather than taken from ``holidays`` because generation
must be fast and identical on every machine.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache

__all__ = [
    "US_ZONES",
    "add_business_days",
    "is_business_day",
    "month_days",
    "us_holidays",
    "utc_offset_hours",
]

#: US time zones with their standard offsets from UTC, in hours.
US_ZONES = {"ET": -5, "CT": -6, "MT": -7, "PT": -8}


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@cache
def us_holidays(year: int) -> frozenset[date]:
    """The US federal holidays of ``year``, with their observed weekdays."""
    fixed = [date(year, 1, 1), date(year, 6, 19), date(year, 7, 4), date(year, 11, 11)]
    fixed.append(date(year, 12, 25))
    days = {d for f in fixed for d in (f, _observed(f))}
    days |= {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _last_weekday(year, 5, 0),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    }
    return frozenset(days)


@cache
def is_business_day(day: date) -> bool:
    """Monday to Friday and not a US federal holiday."""
    return day.weekday() < 5 and day not in us_holidays(day.year)


def add_business_days(day: date, n: int) -> date:
    """The ``n``-th business day after ``day``."""
    while n > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            n -= 1
    return day


def month_days(month: str) -> list[date]:
    """Every day of ``"YYYY-MM"``."""
    year, mon = (int(part) for part in month.split("-"))
    first = date(year, mon, 1)
    nxt = date(year + (mon == 12), mon % 12 + 1, 1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


def _dst(day: date) -> bool:
    # US daylight saving time: second Sunday of March to first Sunday of November.
    return _nth_weekday(day.year, 3, 6, 2) <= day < _nth_weekday(day.year, 11, 6, 1)


@cache
def utc_offset_hours(day: date, zone: str) -> int:
    """The UTC offset of a US ``zone`` (``ET``, ``CT``, ``MT``, ``PT``) on ``day``."""
    return US_ZONES[zone] + (1 if _dst(day) else 0)


def to_utc(day: date, clock: time, offset_hours: int) -> datetime:
    """A naive local wall time as a naive UTC datetime."""
    return datetime.combine(day, clock) - timedelta(hours=offset_hours)
