"""Did the server apply the filter? A client-side check of ``q`` and ``order_id``.

OKC does not document which fields ``q`` (query_string syntax) can filter on, and the
recipe's ``order_id=`` parameter is missing from the spec (okc-api.md §4). A server that
ignores a filter answers 200 with records outside it. Kept, they would land silently in the
wrong month's reconciliation; dropped, a server that applies the filter *differently* from
our reading would lose records silently. So the client evaluates the filter on every record
that comes back, and a record that is clearly outside it makes the listing fail with a
:class:`~okc_recon.errors.ResponseShapeError` that says so (the pull reports it as a failed
page or order): nothing is kept or dropped without a word.

Only what can be read unambiguously is checked: ``field:value`` / ``field:"value"`` terms
and ``field:[a TO b]`` / ``field:{a TO b}`` ranges (``*`` for an open end), joined by ``AND``
or ``&&``. A query with anything else (``OR``, ``NOT``, ``-field``, parentheses, or terms
side by side, which query_string reads as OR) is not checked at all; a term with a wildcard
is skipped. The check leans the server's way, so it never cries wolf:

- a field the record lacks (or holds ``null``) is "cannot tell", never "outside";
  ``tracking_info``'s fields are found there or at the top level; dotted paths work;
- text compares case-insensitively, numbers as numbers (``3`` = ``"3"`` = ``3.0``);
- ranges are inclusive whatever the brackets; a date-only bound covers its whole day and a
  bound without a UTC offset could be in any time zone (±14 h), so only records clearly
  outside count.

    >>> check = record_filter("status_id:3 AND updated_at:[2025-10-01 TO 2025-10-31]", None)
    >>> check.outside({"status_id": 3, "updated_at": "2025-10-15T10:00:00Z"}) is None
    True
    >>> check.outside({"status_id": 3, "updated_at": "2025-12-01T00:00:00Z"}).term
    'updated_at:[2025-10-01 TO 2025-10-31]'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Condition", "RecordFilter", "record_filter"]

_TERM = re.compile(
    r"""\s*(?P<field>[A-Za-z_][\w.]*)\s*:\s*
    (?P<value>"(?:[^"\\]|\\.)*"|[\[{][^\]}]*[\]}]|(?:[^\s()"\[\]{}\\]|\\.)+)\s*""",
    re.VERBOSE,
)
_AND = re.compile(r"(?:AND\s+|&&\s*)")
_RANGE = re.compile(r"[\[{]\s*(?P<low>\S+)\s+TO\s+(?P<high>\S+)\s*[\]}]")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_HAS_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")
# a bound without an offset may be local time anywhere from UTC-12 to UTC+14
_ANY_ZONE = timedelta(hours=14)
_TRACKING = ("shipping_carrier", "shipping_method", "tracking_number", "tracking_url")


def _unescape(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return re.sub(r"\\(.)", r"\1", text)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _DATE_ONLY.match(text):
        return None
    try:
        when = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text.replace(" ", "T", 1)))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _bound(text: str, *, upper: bool) -> datetime | None:
    """The most lenient instant a date/datetime bound could mean."""
    when = _when(text)
    if when is None:
        return None
    if _DATE_ONLY.fullmatch(text):
        when = when + timedelta(days=1) if upper else when
    if not _HAS_OFFSET.search(text) or _DATE_ONLY.fullmatch(text):
        when = when + _ANY_ZONE if upper else when - _ANY_ZONE
    return when


@dataclass(frozen=True)
class Condition:
    """One checkable term: ``field`` equal to ``text``, or within ``low`` … ``high``."""

    term: str  # as written in the query
    field: str
    text: str | None = None
    low: str | None = None  # None: open
    high: str | None = None

    def value(self, record: Mapping[str, Any]) -> Any:
        node: Any = record
        for part in self.field.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None and self.field in _TRACKING:
            info = record.get("tracking_info")
            if isinstance(info, Mapping):
                node = info.get(self.field)
        return node

    def holds(self, record: Mapping[str, Any]) -> bool | None:
        """True, False (clearly outside), or None (cannot tell)."""
        value = self.value(record)
        if value is None or isinstance(value, (Mapping, list)):
            return None
        if self.text is not None:
            a, b = _number(value), _number(self.text)
            if a is not None and b is not None:
                return a == b
            return str(value).strip().lower() == self.text.lower()
        return self._in_range(value)

    def _in_range(self, value: Any) -> bool | None:
        ends = [(self.low, False), (self.high, True)]
        when = _when(value)
        if when is not None:
            for end, upper in ends:
                if end is None:
                    continue
                bound = _bound(end, upper=upper)
                if bound is None:
                    return None
                if (when > bound) if upper else (when < bound):
                    return False
            return True
        number = _number(value)
        if number is not None:
            for end, upper in ends:
                if end is None:
                    continue
                limit = _number(end)
                if limit is None:
                    return None
                if (number > limit) if upper else (number < limit):
                    return False
            return True
        return None


@dataclass(frozen=True)
class RecordFilter:
    """The checkable part of a listing's filter (module docstring)."""

    description: str  # "q=…", "order_id=…"
    conditions: tuple[Condition, ...]

    def outside(self, record: Any) -> Condition | None:
        """The first condition ``record`` clearly fails, or ``None``."""
        if not isinstance(record, Mapping):
            return None
        for condition in self.conditions:
            if condition.holds(record) is False:
                return condition
        return None


def _parse(q: str) -> list[Condition] | None:
    """The conditions of ``q``, or None when ``q`` is more than AND-ed terms."""
    conditions: list[Condition] = []
    pos, text = 0, q.strip()
    while True:
        match = _TERM.match(text, pos)
        if match is None:
            return None
        field, value = match.group("field"), match.group("value")
        term = text[match.start() : match.end()].strip()
        if field in ("AND", "OR", "NOT"):
            return None
        ranged = _RANGE.fullmatch(value)
        if ranged is not None:
            low, high = ranged.group("low"), ranged.group("high")
            conditions.append(
                Condition(
                    term,
                    field,
                    low=None if low == "*" else _unescape(low),
                    high=None if high == "*" else _unescape(high),
                )
            )
        elif not value.startswith(("[", "{")):
            literal = _unescape(value)
            wild = not value.startswith('"') and ("*" in value or "?" in value)
            boosted = not value.startswith('"') and ("^" in value or "~" in value)
            if not (wild or boosted):
                conditions.append(Condition(term, field, text=literal))
        else:
            return None
        pos = match.end()
        if pos >= len(text):
            return conditions
        joined = _AND.match(text, pos)
        if joined is None:
            return None
        pos = joined.end()


def record_filter(q: str | None, order_id: str | None) -> RecordFilter | None:
    """The check for a listing filtered by ``q`` and/or ``order_id``; ``None`` when there is
    nothing checkable (no filter, or a ``q`` this module does not read)."""
    conditions: list[Condition] = []
    described: list[str] = []
    if q is not None and q.strip():
        parsed = _parse(q)
        if parsed:
            conditions += parsed
            described.append(f"q={q}")
    if order_id is not None and str(order_id).strip():
        order = str(order_id).strip()
        conditions.append(Condition(f"order_id:{order}", "order_id", text=order))
        described.append(f"order_id={order}")
    if not conditions:
        return None
    return RecordFilter(" and ".join(described), tuple(conditions))
