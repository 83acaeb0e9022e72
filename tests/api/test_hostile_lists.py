"""List walks against the hostile server: every cursor envelope, opaque base64 cursors and
last-id cursors, ``next`` as a URL or a path, stop signals that lie, pages of the wrong
size, repeated boundary records, ``/count`` missing or wrong, filters the server ignores.

Each walk must return every record exactly once (checked by id), or fail with a typed error
that names the request; never loop, never drop or keep records silently."""

from __future__ import annotations

import asyncio
import logging

import pytest

from okc_recon.api import pull_fulfillments
from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Secret, Settings
from okc_recon.errors import ResponseShapeError
from tests.api.hostile_server import STATIC_TOKEN, HostileOKC, Reply, oid, q_matches, record

LIST = "GET /v2/fulfillments"
COUNT = "GET /v2/fulfillments/count"
ORDER = "GET /v2/orders/{id}/fulfillments"
HOST = "na1-hostile.okcapsule.test"

ENVELOPES = ["next_cursor", "cursor", "pagination", "meta", "next_url", "next_path", "links"]


def settings(**changes: object) -> Settings:
    base = Settings(
        base_url=f"https://{HOST}",
        access_token=Secret(STATIC_TOKEN),
        max_attempts=3,
        backoff_base=0.001,
        backoff_cap=0.002,
        page_size=10,
        concurrency=4,
    )
    return base.replace(**changes)


def records(n: int) -> list[dict]:
    return [record(i) for i in range(n)]


def walk(okc: HostileOKC, cfg: Settings | None = None, **options: object):
    """The pull of the whole list: (result, ids received in order)."""
    result = pull_fulfillments(
        all=True, settings=cfg or settings(), transport=okc.transport, progress=False, **options
    )
    ids = [*result.fulfillments["fulfillment_id"], *result.rejected["fulfillment_id"]]
    return result, ids


def list_requests(okc: HostileOKC) -> list[str]:
    return [f"{r.raw_path}?{r.raw_query}" for r in okc.log if r.path == "/v2/fulfillments"]


def assert_every_record_once(result, ids, okc: HostileOKC) -> None:
    assert result.ok, result.summary()
    assert sorted(ids) == sorted(r["id"] for r in okc.records)
    assert len(ids) == len(set(ids))
    requests = list_requests(okc)
    assert len(requests) == len(set(requests)), "a page was asked for twice"


@pytest.mark.parametrize("envelope", ENVELOPES)
@pytest.mark.parametrize("kind", ["opaque", "last_id"])
@pytest.mark.parametrize("n", [0, 7, 10, 45])
def test_every_envelope_and_cursor_kind(envelope, kind, n):
    okc = HostileOKC(records=records(n), envelope=envelope, cursor_kind=kind)
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)
    assert okc.calls[LIST] <= n // 10 + 1


@pytest.mark.parametrize("n", [0, 9, 30, 31])
def test_no_envelope_walks_by_last_id(n):
    okc = HostileOKC(records=records(n), envelope="none", cursor_kind="last_id")
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)


@pytest.mark.parametrize("style", ["next_url", "next_path"])
def test_next_link_is_followed_as_given_with_its_own_parameter_and_the_filter(style):
    # the cursor rides in `after`, is standard base64 ("+", "/", "="), and the link repeats q
    okc = HostileOKC(records=records(80), envelope=style, cursor_param="after")
    q = "updated_at:[2025-10-03 TO 2025-10-20]"
    result, ids = walk(okc, q=q)
    assert result.ok, result.summary()
    expected = sorted(r["id"] for r in okc.records if q_matches(q, r))
    assert 30 < len(expected) < 80
    assert sorted(ids) == expected
    requests = list_requests(okc)[1:]
    assert requests, "no next page was followed"
    assert all("after=%2B%2F" in r and "cursor=" not in r for r in requests)
    assert all(r.count("q=") == 1 and r.count("limit=") == 1 for r in requests)


def test_next_link_missing_our_filter_gets_it_back():
    okc = HostileOKC(records=records(35), envelope="next_path")
    envelope = okc._envelope

    def forgetful(req, page, next_cursor, more):
        body = envelope(req, page, next_cursor, more)
        if body.get("next"):
            path, _, query = body["next"].partition("?")
            body["next"] = (
                path + "?" + "&".join(p for p in query.split("&") if p.startswith("cursor="))
            )
        return body

    okc._envelope = forgetful  # type: ignore[method-assign]
    q = "updated_at:[2025-10-01 TO 2025-10-31]"
    result, _ids = walk(okc, q=q)
    assert result.ok, result.summary()
    assert all("q=" in r and "limit=" in r for r in list_requests(okc))


def test_next_url_on_another_host_never_gets_the_token():
    okc = HostileOKC(records=records(25), envelope="next_url", base="https://evil.example")
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)
    assert {r.headers["host"] for r in okc.log} == {HOST}


def test_has_more_false_with_a_cursor_stops():
    okc = HostileOKC(records=records(30), envelope="meta", last_page_cursor="beyond")
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)
    assert okc.calls[LIST] == 3


@pytest.mark.parametrize("envelope", ["next_cursor", "meta", "next_url"])
@pytest.mark.parametrize("mode", ["repeat", "beyond"])
@pytest.mark.parametrize("n", [25, 30])
def test_a_cursor_on_the_last_page_forever(envelope, mode, n):
    okc = HostileOKC(records=records(n), envelope=envelope, last_page_cursor=mode)
    if envelope == "meta":
        okc.envelope, okc.has_more = "next_cursor", False  # no has_more to help
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)
    assert okc.calls[LIST] <= n // 10 + 2


@pytest.mark.parametrize("mode", ["repeat", "beyond"])
def test_per_order_pulls_against_a_cursor_forever_stay_cheap(mode):
    okc = HostileOKC(records=[record(i, order=i // 3) for i in range(60)], last_page_cursor=mode)
    result = pull_fulfillments(
        [oid(i) for i in range(20)], settings=settings(), transport=okc.transport, progress=False
    )
    assert result.ok
    assert result.fulfillments.height == 60
    # the first few orders show the server's habit; the others are not asked twice
    assert okc.calls[ORDER] <= 20 + settings().concurrency + 1


def test_null_records_past_the_end():
    okc = HostileOKC(records=records(30), null_records_past_end=True, last_page_cursor="beyond")
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)


def test_null_records_for_an_order_without_fulfillments():
    okc = HostileOKC(records=records(4))
    okc.faults[ORDER] = lambda req, n: (
        Reply(200, json={"fulfillments": None, "next_cursor": None})
        if "ffffffff" in req.path
        else None
    )
    result = pull_fulfillments(
        [oid(0), "ffffffff-0000"], settings=settings(), transport=okc.transport, progress=False
    )
    assert result.ok
    assert result.fulfillments.height == 2


@pytest.mark.parametrize("extra", [1, 5, 40])
def test_pages_larger_than_the_limit(extra):
    okc = HostileOKC(records=records(95), page_extra=extra)
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)


@pytest.mark.parametrize("envelope", ["next_cursor", "none"])
def test_boundary_records_repeated_on_the_next_page(envelope):
    okc = HostileOKC(
        records=records(47),
        boundary_repeat=True,
        envelope=envelope,
        cursor_kind="last_id" if envelope == "none" else "opaque",
    )
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)


@pytest.mark.parametrize("count_mode", ["ok", "missing"])
@pytest.mark.parametrize("envelope", ["next_cursor", "none"])
def test_limit_ignored_default_page_of_20(count_mode, envelope):
    okc = HostileOKC(
        records=records(67),
        ignore_limit=True,
        count_mode=count_mode,
        envelope=envelope,
        cursor_kind="last_id" if envelope == "none" else "opaque",
    )
    result, ids = walk(okc, settings(page_size=100))
    assert_every_record_once(result, ids, okc)


def test_limit_ignored_with_exactly_one_default_page_costs_one_more_request():
    okc = HostileOKC(
        records=records(20),
        ignore_limit=True,
        count_mode="missing",
        envelope="none",
        cursor_kind="last_id",
    )
    result, ids = walk(okc, settings(page_size=100))
    assert_every_record_once(result, ids, okc)
    assert okc.calls[LIST] == 2


@pytest.mark.parametrize("max_limit", [100, 50])
def test_limit_above_the_servers_maximum_is_lowered(max_limit, caplog):
    okc = HostileOKC(records=records(260), max_limit=max_limit)
    with caplog.at_level(logging.WARNING, logger="okc_recon"):
        result, ids = walk(okc, settings(page_size=250))
    assert_every_record_once(result, ids, okc)
    assert f"limit={max_limit}" in list_requests(okc)[-1]
    assert "limit" in caplog.text


def test_limit_above_250_is_never_sent():
    okc = HostileOKC(records=records(600))

    async def go():
        async with AsyncOKCClient(settings(), transport=okc.transport) as client:
            return [p async for p in client.list_fulfillments(limit=1000)]

    pages = asyncio.run(go())
    assert sum(len(p.records) for p in pages) == 600
    assert all("limit=250" in r for r in list_requests(okc))


def test_count_missing_is_a_warning_not_a_failure(caplog):
    okc = HostileOKC(records=records(33), count_mode="missing")
    with caplog.at_level(logging.WARNING, logger="okc_recon"):
        result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)
    assert result.count_check is None
    assert "no /count cross-check" in caplog.text


@pytest.mark.parametrize("mode", ["text", "float"])
def test_count_as_text(mode):
    okc = HostileOKC(records=records(33), count_mode=mode)
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)
    assert result.count_check is not None
    assert result.count_check.matches


def test_count_higher_than_the_records_is_reported():
    okc = HostileOKC(records=records(33), count_mode="more")
    result, ids = walk(okc)
    assert sorted(ids) == sorted(r["id"] for r in okc.records)
    assert not result.ok
    assert "/count said 36, 33 received" in result.summary()


def test_count_lower_than_the_records_keeps_them_all_and_says_so():
    okc = HostileOKC(records=records(33), count_mode="less")
    result, ids = walk(okc)
    assert sorted(ids) == sorted(r["id"] for r in okc.records)
    assert "/count said 30, 33 received" in result.summary()


def test_q_ignored_by_the_server_is_detected_not_kept():
    okc = HostileOKC(records=records(40), ignore_q=True)  # records over 12 days of October
    q = "updated_at:[2025-10-05 TO 2025-10-06]"
    result, _ids = walk(okc, q=q)
    assert not result.ok
    [failure] = result.failures
    assert isinstance(failure.error, ResponseShapeError)
    text = str(failure)
    assert "GET /v2/fulfillments?" in text
    assert "outside the filter" in text
    for updated in result.fulfillments["updated_at"]:
        assert updated.date().isoformat() in ("2025-10-05", "2025-10-06")


def test_q_applied_by_the_server_passes_the_check():
    okc = HostileOKC(records=records(40))
    q = 'updated_at:[2025-10-05 TO 2025-10-06] AND shipping_carrier:"FedEx"'
    result, ids = walk(okc, q=q)
    assert result.ok, result.summary()
    assert 0 < len(ids) < 40


def test_q_the_client_cannot_evaluate_is_trusted():
    okc = HostileOKC(records=records(12), ignore_q=True)
    result, ids = walk(okc, q="status_id:3 OR status_id:4")
    assert result.ok  # an OR is not checked client side: nothing is claimed either way
    assert len(ids) == 12


def test_order_id_filter_ignored_by_the_server_is_detected():
    okc = HostileOKC(records=records(30), ignore_order_id=True)

    async def go():
        async with AsyncOKCClient(settings(), transport=okc.transport) as client:
            return [p async for p in client.list_fulfillments(order_id=oid(3))]

    with pytest.raises(ResponseShapeError, match="outside the filter") as err:
        asyncio.run(go())
    assert err.value.request.startswith("GET /v2/fulfillments?order_id=")


def test_per_order_endpoint_returning_another_orders_records_fails_that_order():
    okc = HostileOKC(records=records(10))
    okc.faults[ORDER] = lambda req, n: (
        Reply(200, json={"fulfillments": okc.records[:4], "next_cursor": None})
        if oid(4) in req.path
        else None
    )
    result = pull_fulfillments(
        [oid(i) for i in range(5)], settings=settings(), transport=okc.transport, progress=False
    )
    assert result.failed_order_ids == [oid(4)]
    assert "outside the filter" in str(result.failures[0])
    assert result.fulfillments.height == 8


def test_server_ignoring_the_cursor_with_count_raises_naming_the_request():
    okc = HostileOKC(records=records(30), ignore_cursor=True)
    result, ids = walk(okc)
    assert not result.ok
    assert len(ids) == 10
    assert "GET /v2/fulfillments?" in str(result.failures[0])


def test_list_under_another_key_and_bare_single_objects():
    okc = HostileOKC(records=records(12), list_key="data", single_envelope=False)
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)

    async def one():
        async with AsyncOKCClient(settings(), transport=okc.transport) as client:
            return await client.fulfillment(okc.records[3]["id"])

    assert asyncio.run(one())["id"] == okc.records[3]["id"]


def test_list_items_wrapped_one_by_one():
    okc = HostileOKC(records=records(15))
    list_ = okc._list

    def wrapped(req, rows):
        reply = list_(req, rows)
        if reply.status == 200 and reply.json.get("fulfillments"):
            reply.json["fulfillments"] = [{"fulfillment": r} for r in reply.json["fulfillments"]]
        return reply

    okc._list = wrapped  # type: ignore[method-assign]
    result, ids = walk(okc)
    assert_every_record_once(result, ids, okc)


def test_an_error_sent_with_200_is_quoted():
    okc = HostileOKC(records=records(4))
    okc.faults[ORDER] = lambda req, n: Reply(
        200, json={"error": {"errorCode": "ORDER_NOT_FOUND", "message": "Order not found"}}
    )
    result = pull_fulfillments(
        [oid(0)], settings=settings(), transport=okc.transport, progress=False
    )
    [failure] = result.failures
    assert "it is an error, Order not found [ORDER_NOT_FOUND]" in str(failure)
    assert failure.error.error_code == "ORDER_NOT_FOUND"


def test_rate_limited_concurrent_pull_returns_everything():
    okc = HostileOKC(records=[record(i, order=i) for i in range(48)])
    refused: set[str] = set()

    def limit(req, n):
        if int(req.path.split("/")[3][:8], 16) % 3 == 0 and req.path not in refused:
            refused.add(req.path)  # every third order meets the limit once
            return Reply(
                429, json={"message": "Too Many Requests"}, headers={"Retry-After": "0.01"}
            )
        return None

    okc.faults[ORDER] = limit
    result = pull_fulfillments(
        [oid(i) for i in range(48)],
        settings=settings(concurrency=8, retry_after_cap=0.05),
        transport=okc.transport,
        progress=False,
    )
    assert result.ok, result.summary()
    assert sorted(result.fulfillments["fulfillment_id"]) == sorted(r["id"] for r in okc.records)
    assert len(refused) == 16
