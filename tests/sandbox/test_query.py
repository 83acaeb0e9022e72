"""The sandbox's ``q`` DSL, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from okc_recon.sandbox._query import QueryError, matches, parse_query, parse_time

FIELDS = {"status_id": "text", "order_id": "text", "pickup_date": "time"}


def _match(q: str, **values: object) -> bool:
    terms = parse_query(q, FIELDS)
    parsed = {
        k: parse_time(v) if FIELDS[k] == "time" and isinstance(v, str) else v
        for k, v in values.items()
    }
    return matches(terms, parsed.get)


@pytest.mark.parametrize(
    ("q", "when", "expected"),
    [
        ("pickup_date:[2025-10-01 TO 2025-10-31]", "2025-10-31T23:59:59.999Z", True),
        ("pickup_date:[2025-10-01 TO 2025-10-31]", "2025-11-01T00:00:00Z", False),
        ("pickup_date:[2025-10-01 TO 2025-10-31]", "2025-09-30T23:59:59Z", False),
        ("pickup_date:{2025-10-01 TO 2025-10-31}", "2025-10-01T12:00:00Z", False),
        ("pickup_date:{2025-10-01 TO 2025-10-31}", "2025-10-31T12:00:00Z", False),
        ("pickup_date:{2025-10-01 TO 2025-10-31}", "2025-10-15T12:00:00Z", True),
        ("pickup_date:[2025-10-01T10:00:00Z TO *]", "2025-10-01T10:00:00Z", True),
        ("pickup_date:{2025-10-01T10:00:00Z TO *]", "2025-10-01T10:00:00Z", False),
        ("pickup_date:[* TO 2025-10-01T05:00:00-05:00]", "2025-10-01T10:00:00Z", True),
        ("pickup_date:[* TO 2025-10-01T05:00:00-05:00}", "2025-10-01T10:00:00Z", False),
        ("pickup_date:2025-10-01", "2025-10-01T22:00:00Z", True),
        ("pickup_date:2025-10-01", "2025-10-02T00:00:00Z", False),
    ],
)
def test_date_ranges(q: str, when: str, expected: bool) -> None:
    assert _match(q, pickup_date=when) is expected


def test_terms_joined_by_and_text_and_quotes() -> None:
    q = 'status_id:24 AND order_id:"abc-1" AND pickup_date:[2025-10-01 TO *]'
    assert _match(q, status_id=24, order_id="abc-1", pickup_date="2025-10-02T00:00:00Z")
    assert not _match(q, status_id="25", order_id="abc-1", pickup_date="2025-10-02T00:00:00Z")
    assert not _match(q, status_id=24, order_id="abc-1", pickup_date=None)
    assert not _match(q, status_id=24, order_id="abc-1", pickup_date="not a date")


def test_errors_name_the_field() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("weight:[1 TO 2]", FIELDS)
    assert info.value.field == "weight"
    with pytest.raises(QueryError, match="not a valid date"):
        parse_query("pickup_date:[2025-02-30 TO *]", FIELDS)
    with pytest.raises(QueryError, match="field:value"):
        parse_query("pickup_date", FIELDS)


def test_parse_time_reads_z_offsets_and_naive_as_utc() -> None:
    assert parse_time("2025-10-01T10:00:00.000Z") == datetime(2025, 10, 1, 10, tzinfo=UTC)
    assert parse_time("2025-10-01T05:00:00-05:00") == datetime(2025, 10, 1, 10, tzinfo=UTC)
    assert parse_time("2025-10-01T10:00:00") == datetime(2025, 10, 1, 10, tzinfo=UTC)
    assert parse_time("2025-10-32T10:00:00Z") is None
