from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okc_recon.api._pagination import CursorPaginator, PaginationStall, find_cursor, find_records
from tests.api.fake_okc import FakeOKC, make_record

STYLES = ["next_cursor", "cursor", "next", "pagination", "meta", "none"]


def walk(server: FakeOKC, *, limit: int, expected: int | None = None, max_pages: int = 1000):
    """Drive a paginator against the fake's list logic; (ids, requested cursors, paginator)."""
    paginator = CursorPaginator(limit=limit, expected_total=expected)
    ids: list[str] = []
    asked: list[str | None] = []
    while not paginator.done:
        if paginator.url is not None:  # a next link, followed as given (its own limit)
            query = parse_qs(urlsplit(paginator.url).query)
            params: dict[str, str | int] = {k: v[0] for k, v in query.items()}
        else:
            params = paginator.params()
            assert params["limit"] == limit  # limit is always sent
        asked.append(params.get("cursor"))  # type: ignore[arg-type]
        body = server.list_body(dict(params))
        page = paginator.update(body, find_records(body) or [])
        ids.extend(r["id"] for r in page.records)
        assert len(asked) < max_pages, "pagination did not stop"
    return ids, asked, paginator


def records(n: int) -> list[dict]:
    return [make_record(i) for i in range(n)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"next_cursor": "a"}, (True, "a", None)),
        ({"cursor": "b"}, (True, "b", None)),
        ({"next": "https://x/v2/fulfillments?limit=5&cursor=c9"}, (True, None, None)),
        ({"next": "opaque"}, (True, "opaque", None)),
        ({"next": "/8+ab=="}, (True, "/8+ab==", None)),  # base64, not a path
        ({"pagination": {"next_cursor": "d"}}, (True, "d", None)),
        ({"meta": {"next_cursor": "e", "has_more": True}}, (True, "e", True)),
        ({"meta": {"next_cursor": None, "has_more": False}}, (True, None, False)),
        ({"next_cursor": ""}, (True, None, None)),
        ({"next_cursor": 17}, (True, "17", None)),
        ({"cursor": {"after": "x"}}, (False, None, None)),
        ({"fulfillments": []}, (False, None, None)),
    ],
)
def test_find_cursor(body, expected):
    info = find_cursor(body)
    assert (info.present, info.cursor, info.has_more) == expected


def test_find_cursor_links():
    for link in ("https://x/v2/fulfillments?cursor=a%2B", "/v2/fulfillments?after=b", "?c=1"):
        info = find_cursor({"next": link})
        assert (info.url, info.cursor, info.next) == (link, None, link)
    assert find_cursor({"links": {"next": "/v2/f?x=1"}}).url == "/v2/f?x=1"
    assert find_cursor({"next_cursor": "https://x/v2/f?c=1"}).url == "https://x/v2/f?c=1"
    assert find_cursor({"has_more": "false"}).has_more is False
    assert find_cursor({"meta": {"has_more": 1}}).has_more is True


def test_find_records():
    assert find_records([1]) == [1]
    assert find_records({"fulfillments": [2]}) == [2]
    assert find_records({"data": [3]}) == [3]
    assert find_records({"fulfillment": {}}) is None
    assert find_records({"fulfillments": None}) == []  # an empty page, said with null
    assert find_records({"fulfillments": [{"fulfillment": {"id": "a"}}, {"id": "b"}]}) == [
        {"id": "a"},
        {"id": "b"},
    ]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(("n", "limit"), [(0, 10), (7, 10), (10, 10), (25, 10), (30, 10), (31, 1)])
def test_every_record_once_in_every_style(style, n, limit):
    server = FakeOKC(records=records(n), cursor_style=style)
    ids, asked, _ = walk(server, limit=limit)
    assert ids == [r["id"] for r in server.records]
    assert len(asked) == len(set(asked))  # no cursor asked for twice
    assert len(asked) <= n // limit + 2


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("n", [9, 10, 20])
def test_repeated_last_cursor_stops_without_loss(style, n, caplog):
    server = FakeOKC(records=records(n), cursor_style=style, repeat_last_cursor=True)
    with caplog.at_level(logging.WARNING, logger="okc_recon"):
        ids, asked, _ = walk(server, limit=10)
    assert ids == [r["id"] for r in server.records]
    assert len(asked) == len(set(asked))


@pytest.mark.parametrize("style", STYLES)
def test_page_cap_is_seen_through_with_count(style):
    server = FakeOKC(records=records(57), cursor_style=style, page_cap=20)
    ids, _, paginator = walk(server, limit=50, expected=57)
    assert ids == [r["id"] for r in server.records]
    assert paginator.stop_reason is not None


def test_page_cap_without_count_stops_at_the_short_page():
    # Documented limit: with no /count and no cursor field, a page shorter than `limit` is
    # the last one, unless its size is a documented default (next test).
    server = FakeOKC(records=records(57), cursor_style="none", page_cap=25)
    ids, _, _ = walk(server, limit=50)
    assert len(ids) == 25


@pytest.mark.parametrize("cap", [20, 50])
def test_a_short_page_of_a_default_size_is_probed_once(cap):
    server = FakeOKC(records=records(157), cursor_style="none", page_cap=cap)
    ids, asked, paginator = walk(server, limit=100 if cap == 20 else 200)
    assert ids == [r["id"] for r in server.records]
    assert paginator.habits.page_cap == cap
    assert len(asked) == 157 // cap + 1


def test_a_short_page_with_a_cursor_is_followed_and_the_habit_remembered():
    from okc_recon.api._pagination import PageHabits

    habits = PageHabits()
    server = FakeOKC(records=records(7), cursor_style="next_cursor", repeat_last_cursor=True)
    _, asked, _ = walk_with(server, limit=10, habits=habits)
    assert len(asked) == 2  # the short page's cursor was followed: it led back
    assert habits.cursor_on_last_page
    _, asked, _ = walk_with(server, limit=10, habits=habits)
    assert len(asked) == 1  # remembered: the next walk stops at the short page


def walk_with(server, *, limit, habits):
    paginator = CursorPaginator(limit=limit, habits=habits)
    ids, asked = [], []
    while not paginator.done:
        params = paginator.params()
        asked.append(params.get("cursor"))
        body = server.list_body(dict(params))
        ids += [r["id"] for r in paginator.update(body, find_records(body) or []).records]
    return ids, asked, paginator


def test_speculative_last_id_refused_ends_the_walk():
    paginator = CursorPaginator(limit=2)
    paginator.update({"next_cursor": "A"}, [{"id": "a"}, {"id": "b"}])
    paginator.update({"next_cursor": "A"}, [{"id": "c"}, {"id": "d"}])  # repeats its cursor
    assert (paginator.cursor, paginator.speculative) == ("d", True)
    paginator.abandon("refused")
    assert paginator.done
    stalled = CursorPaginator(limit=2, expected_total=9)
    stalled.update({"next_cursor": "A"}, [{"id": "a"}, {"id": "b"}])
    stalled.update({"next_cursor": "A"}, [{"id": "c"}, {"id": "d"}])
    with pytest.raises(PaginationStall, match="/count reports 9"):
        stalled.abandon("refused")


def test_lower_limit():
    paginator = CursorPaginator(limit=250)
    assert [paginator.lower_limit() for _ in range(4)] == [100, 50, 20, None]
    assert CursorPaginator(limit=250, habits=paginator.habits).limit == 20


def test_idless_records_repeated_by_a_page_are_kept_once():
    paginator = CursorPaginator(limit=2)
    first = paginator.update({"next_cursor": "p2"}, [{"id": "a"}, {"x": 1}])
    second = paginator.update({"next_cursor": None}, [{"x": 1}, {"x": 2}])
    assert [*first.records, *second.records] == [{"id": "a"}, {"x": 1}, {"x": 2}]


def test_server_ignoring_the_cursor_stops_with_warning_when_nothing_is_known(caplog):
    server = FakeOKC(records=records(30), ignore_cursor=True)
    with caplog.at_level(logging.WARNING, logger="okc_recon"):
        ids, asked, paginator = walk(server, limit=10)
    assert ids == [r["id"] for r in server.records[:10]]
    assert len(asked) == 2
    assert "repeated records" in caplog.text
    assert paginator.warnings


def test_server_ignoring_the_cursor_raises_when_count_says_records_are_missing():
    server = FakeOKC(records=records(30), ignore_cursor=True)
    with pytest.raises(PaginationStall, match="/count reports 30 and only 10 arrived"):
        walk(server, limit=10, expected=30)


def test_duplicates_at_page_boundaries_are_dropped_and_idless_records_kept():
    paginator = CursorPaginator(limit=3)
    first = paginator.update({"next_cursor": "p2"}, [{"id": "a"}, {"id": "b"}, {"x": 1}])
    second = paginator.update({"next_cursor": None}, [{"id": "b"}, {"id": "c"}])
    assert [r.get("id") for r in first.records] == ["a", "b", None]
    assert [r.get("id") for r in second.records] == ["c"]
    assert paginator.duplicates == 1
    assert paginator.done


def test_has_more_false_stops_even_with_a_cursor():
    paginator = CursorPaginator(limit=2)
    paginator.update({"meta": {"next_cursor": "z", "has_more": False}}, [{"id": "a"}, {"id": "b"}])
    assert paginator.done
    assert paginator.stop_reason == "page 1 said has_more=false"


def test_update_after_done_is_an_error():
    paginator = CursorPaginator(limit=2)
    paginator.update({}, [])
    with pytest.raises(RuntimeError):
        paginator.update({}, [])


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(0, 60),
    limit=st.integers(1, 25),
    cap=st.one_of(st.none(), st.integers(1, 25)),
    style=st.sampled_from(STYLES),
    repeat=st.booleans(),
)
def test_walk_property(n, limit, cap, style, repeat):
    """With /count known, every record arrives exactly once and no cursor is asked twice."""
    server = FakeOKC(
        records=records(n), cursor_style=style, page_cap=cap, repeat_last_cursor=repeat
    )
    ids, asked, _ = walk(server, limit=limit, expected=n)
    assert ids == [r["id"] for r in server.records]
    assert len(asked) == len(set(asked))
    page = min(limit, cap or limit)
    assert len(asked) <= n // page + 3
