from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from okc_recon.api.client import AsyncOKCClient, LabelUrl, OKCClient
from okc_recon.errors import (
    ApiConnectionError,
    ApiError,
    NotFoundError,
    RateLimitError,
    ResponseShapeError,
    ServerError,
)
from tests.api.fake_okc import TOKEN, FakeOKC, make_record

LIST = "GET /v2/fulfillments"
ONE = "GET /v2/fulfillments/{id}"


def always(status: int, **kw):
    return lambda request, n: httpx.Response(status, **kw)


def first(k: int, response):
    """Fail the first ``k`` calls with ``response`` (a Response or an exception to raise)."""

    def fault(request, n):
        if n > k:
            return None
        if isinstance(response, Exception):
            raise response
        return response

    return fault


async def with_client(settings, server, options, fn):
    async with AsyncOKCClient(settings, transport=server.transport, **options) as client:
        return await fn(client)


def run(settings, server, options, fn):
    return asyncio.run(with_client(settings, server, options, fn))


@pytest.fixture
def server() -> FakeOKC:
    return FakeOKC(records=[make_record(i) for i in range(25)])


def test_records_are_parsed_with_exact_decimals(token_settings, server, client_options):
    record = run(token_settings, server, client_options(), lambda c: c.fulfillment("f00007"))
    assert record["shipping_net_charge"] == Decimal("10.07")
    assert isinstance(record["weight"], Decimal)
    assert isinstance(record["label_url"], LabelUrl)
    assert "amazonaws" not in repr(record)
    assert server.log[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_server_errors_are_retried_with_backoff(token_settings, server, client_options, clock):
    server.faults[ONE] = first(2, httpx.Response(503, json={"message": "busy"}))
    record = run(token_settings, server, client_options(), lambda c: c.fulfillment("f00001"))
    assert record["id"] == "f00001"
    assert server.calls[ONE] == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.5
    assert 0 <= clock.sleeps[1] <= 1.0


@pytest.mark.parametrize(
    ("header", "minimum"),
    [("2", 2.0), ("0", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_honoured(token_settings, server, client_options, clock, header, minimum):
    server.faults[ONE] = first(1, httpx.Response(429, headers={"Retry-After": header}))
    run(token_settings, server, client_options(), lambda c: c.fulfillment("f00001"))
    assert server.calls[ONE] == 2
    assert len(clock.sleeps) == (1 if minimum else 0)  # "0" means now: no sleep at all
    assert minimum <= sum(clock.sleeps) <= minimum * 1.1


def test_retry_after_http_date_in_the_future(token_settings, server, client_options, clock):
    when = datetime.now(UTC).timestamp() + 20
    date = datetime.fromtimestamp(when, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    server.faults[ONE] = first(1, httpx.Response(429, headers={"Retry-After": date}))
    run(token_settings, server, client_options(), lambda c: c.fulfillment("f00001"))
    [wait] = clock.sleeps
    assert 17 <= wait <= 22


def test_exhausted_retries_raise_a_typed_error_naming_the_request(
    token_settings, server, client_options, clock
):
    server2 = FakeOKC(records=[make_record(1)])
    server2.faults[LIST] = always(
        500, json={"error": {"errorCode": "INTERNAL", "message": "database unavailable"}}
    )

    async def walk(client):
        return [page async for page in client.list_fulfillments(q="status_id:3")]

    with pytest.raises(ServerError) as err:
        run(token_settings, server2, client_options(), walk)
    exc = err.value
    assert server2.calls[LIST] == 4
    assert exc.attempts == 4
    assert str(exc).startswith(
        "GET /v2/fulfillments?q=status_id%3A3&limit=10 → 500: database unavailable [INTERNAL]"
    )
    assert TOKEN not in str(exc)


def test_rate_limit_exhausted(token_settings, server, client_options):
    server.faults[ONE] = always(429, json={"message": "Too many requests"})
    with pytest.raises(RateLimitError, match="lower the concurrency"):
        run(token_settings, server, client_options(), lambda c: c.fulfillment("f00001"))
    assert server.calls[ONE] == 4


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_transport_errors_are_retried_then_raised(token_settings, server, client_options, exc):
    server.faults[ONE] = first(1, exc)
    assert run(token_settings, server, client_options(), lambda c: c.fulfillment("f00002"))["id"]
    server.faults[ONE] = first(99, exc)
    with pytest.raises(ApiConnectionError) as err:
        run(token_settings, server, client_options(), lambda c: c.fulfillment("f00002"))
    assert err.value.attempts == 4
    assert err.value.request == "GET /v2/fulfillments/f00002"


def test_client_errors_are_not_retried(token_settings, server, client_options, clock):
    with pytest.raises(NotFoundError, match="No such fulfillment"):
        run(token_settings, server, client_options(), lambda c: c.fulfillment("nope"))
    assert server.calls[ONE] == 1
    server.faults[ONE] = always(
        422, json={"message": "Validation error", "errors": [{"message": "bad id", "type": "x"}]}
    )
    with pytest.raises(ApiError, match="422: Validation error: bad id"):
        run(token_settings, server, client_options(), lambda c: c.fulfillment("f00001"))
    assert clock.sleeps == []


def test_non_json_body_is_a_shape_error_that_does_not_quote_it(
    token_settings, server, client_options
):
    secret_body = b"<html>https://okc-labels.s3.amazonaws.com/x?X-Amz-Signature=abc"
    server.faults[ONE] = always(200, content=secret_body, headers={"content-type": "text/html"})
    with pytest.raises(ResponseShapeError) as err:
        run(token_settings, server, client_options(), lambda c: c.fulfillment("f00001"))
    assert "amazonaws" not in str(err.value)
    assert "text/html" in str(err.value)


def test_unexpected_envelope_is_a_shape_error(token_settings, server, client_options):
    server.faults[ONE] = always(200, json={"something": "else"})
    with pytest.raises(ResponseShapeError, match="no 'fulfillment' object"):
        run(token_settings, server, client_options(), lambda c: c.fulfillment("f00001"))
    server.faults[LIST] = always(200, json={"rows": []})

    async def walk(client):
        return [p async for p in client.list_fulfillments()]

    with pytest.raises(ResponseShapeError, match="no list of fulfillments"):
        run(token_settings, server, client_options(), walk)


def test_count_and_statuses(token_settings, server, client_options):
    assert run(token_settings, server, client_options(), lambda c: c.count_fulfillments()) == 25
    assert (
        run(
            token_settings,
            server,
            client_options(),
            lambda c: c.count_fulfillments(order_id="o00003"),
        )
        == 2
    )
    statuses = run(token_settings, server, client_options(), lambda c: c.statuses())
    assert statuses == [{"id": 3, "name": "Shipped", "group": "fulfillment"}]
    server.faults["GET /v2/statuses"] = always(200, json=[{"id": 1, "name": "Pending"}])
    assert (
        run(token_settings, server, client_options(), lambda c: c.statuses())[0]["name"]
        == "Pending"
    )


def test_label_url_is_fresh_and_never_shows(token_settings, server, client_options):
    async def two(client):
        return await client.label_url("f00001"), await client.label_url("f00001")

    a, b = run(token_settings, server, client_options(), two)
    assert isinstance(a, LabelUrl)
    assert a.reveal() != b.reveal()  # fetched anew each time
    assert repr(a) == str(a) == "LabelUrl('**********')"
    assert f"{a}" == "LabelUrl('**********')"
    assert not a.expired
    assert 14 * 60 < (a.expires_at - datetime.now(UTC)).total_seconds() <= 15 * 60
    with pytest.raises(TypeError):
        pickle.dumps(a)


def test_label_url_expiry_from_amz_date():
    url = LabelUrl("https://b.s3.amazonaws.com/x.pdf?X-Amz-Date=20250101T000000Z&X-Amz-Expires=60")
    assert url.expires_at == datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
    assert url.expired


def test_order_fulfillments_follows_pages(token_settings, client_options):
    server = FakeOKC(records=[make_record(i, order=1) for i in range(23)])
    records = run(
        token_settings, server, client_options(), lambda c: c.order_fulfillments("o00001")
    )
    assert [r["id"] for r in records] == [f"f{i:05d}" for i in range(23)]
    assert server.calls["GET /v2/orders/{id}/fulfillments"] == 3
    assert all("limit=10" in str(r.url) for r in server.log)


def test_ids_are_quoted_in_paths(token_settings, server, client_options):
    with pytest.raises(NotFoundError) as err:
        run(token_settings, server, client_options(), lambda c: c.fulfillment("a/b c"))
    assert server.log[-1].url.raw_path == b"/v2/fulfillments/a%2Fb%20c"
    assert err.value.path == "/v2/fulfillments/a%2Fb%20c"
    with pytest.raises(ValueError, match="empty"):
        run(token_settings, server, client_options(), lambda c: c.fulfillment("  "))


def test_sync_facade(token_settings, server):
    with OKCClient(token_settings, transport=server.transport) as okc:
        assert repr(okc) == "<OKCClient https://okc.test>"
        assert okc.fulfillment("f00003")["id"] == "f00003"
        assert okc.count_fulfillments() == 25
        pages = list(okc.list_fulfillments(limit=10))
        assert [len(p.records) for p in pages] == [10, 10, 5]
        assert okc.stats.requests == 5
        # leaving a page iterator early closes it cleanly
        iterator = okc.list_fulfillments(limit=10)
        assert len(next(iterator).records) == 10
        iterator.close()
    with pytest.raises(RuntimeError, match="closed"):
        okc.statuses()


def test_sync_facade_inside_a_running_event_loop(token_settings, server):
    async def notebook_cell():
        # what a Jupyter cell does: call the synchronous API while a loop is running
        with OKCClient(token_settings, transport=server.transport) as okc:
            return okc.order_fulfillments("o00002")

    records = asyncio.run(notebook_cell())
    assert [r["id"] for r in records] == ["f00004", "f00005"]
