"""The sandbox's subset of OKC's ``q`` query DSL (query_string syntax, okc-api.md §4).

``field:value`` terms joined by ``AND``; ranges ``field:[a TO b]`` (inclusive) or
``field:{a TO b}`` (exclusive) on date fields, with ``*`` for an open end. Date bounds are
dates (``2025-10-01``: the whole day) or RFC 3339 datetimes.

    >>> terms = parse_query("status_id:24 AND pickup_date:[2025-10-01 TO 2025-10-31]",
    ...                     {"status_id": "text", "pickup_date": "time"})
    >>> [t.field for t in terms]
    ['status_id', 'pickup_date']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["QueryError", "Term", "matches", "parse_query", "parse_time"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TERM = re.compile(r"(?P<field>[A-Za-z_][A-Za-z0-9_.]*):(?P<value>.+)", re.DOTALL)
_RANGE = re.compile(r"(?P<open>[\[{])\s*(?P<low>\S+)\s+TO\s+(?P<high>\S+)\s*(?P<close>[\]}])")


class QueryError(ValueError):
    """A ``q`` the sandbox cannot evaluate; ``field`` names the offending field, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Term:
    """One ``field:value`` term: text equality, or a half-open time interval ``[low, high)``."""

    field: str
    text: str | None = None
    low: datetime | None = None
    high: datetime | None = None


def parse_time(text: str) -> datetime | None:
    """An aware UTC datetime from RFC 3339 text (``Z`` or an offset; naive means UTC), or None."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _bound(text: str, *, upper: bool, inclusive: bool, field: str) -> datetime | None:
    """A bound as the start of a half-open interval ``[low, high)``."""
    if text == "*":
        return None
    if _DATE.fullmatch(text):
        day = parse_time(text + "T00:00:00+00:00")
        if day is None:
            raise QueryError(f'"{field}" bound {text!r} is not a valid date', field)
        # A whole day: an inclusive upper bound or an exclusive lower bound ends after it.
        return day + timedelta(days=1) if upper == inclusive else day
    value = parse_time(text)
    if value is None:
        raise QueryError(f'"{field}" bound {text!r} is not a date or datetime', field)
    if upper == inclusive:
        return value + timedelta(microseconds=1)
    return value


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def parse_query(q: str, fields: Mapping[str, str]) -> list[Term]:
    """The terms of ``q``; ``fields`` maps each filterable field to ``"text"`` or ``"time"``."""
    terms: list[Term] = []
    for raw in re.split(r"\s+AND\s+", q.strip()):
        match = _TERM.fullmatch(raw.strip())
        if match is None:
            raise QueryError(f"cannot read the query term {raw.strip()!r}: expected field:value")
        field, value = match.group("field"), match.group("value").strip()
        kind = fields.get(field)
        if kind is None:
            raise QueryError(
                f'"{field}" is not filterable; filterable: {", ".join(sorted(fields))}', field
            )
        ranged = _RANGE.fullmatch(value)
        if kind == "text":
            if ranged is not None:
                raise QueryError(f'"{field}" does not take a range', field)
            terms.append(Term(field, text=_unquote(value)))
        elif ranged is not None:
            low = _bound(
                ranged.group("low"), upper=False, inclusive=ranged.group("open") == "[", field=field
            )
            high = _bound(
                ranged.group("high"),
                upper=True,
                inclusive=ranged.group("close") == "]",
                field=field,
            )
            terms.append(Term(field, low=low, high=high))
        else:
            value = _unquote(value)
            terms.append(
                Term(
                    field,
                    low=_bound(value, upper=False, inclusive=True, field=field),
                    high=_bound(value, upper=True, inclusive=True, field=field),
                )
            )
    return terms


def matches(terms: list[Term], get: Callable[[str], object]) -> bool:
    """Whether a record passes every term; ``get(field)`` gives its text or parsed datetime."""
    for term in terms:
        value = get(term.field)
        if term.text is not None:
            if value is None or str(value) != term.text:
                return False
            continue
        if not isinstance(value, datetime):
            return False
        if term.low is not None and value < term.low:
            return False
        if term.high is not None and value >= term.high:
            return False
    return True
