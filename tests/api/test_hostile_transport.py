"""Transport misbehaviour, mostly over real sockets: proxy pages, truncated and compressed
bodies, resets mid-body, hangs, slow loris, DNS failure, TLS to a plain port, rate limits.

Every failure ends as a typed error naming the request (method, path, status, OKC message)
and never the token or a label URL; every transient one is retried to success."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from okc_recon.api import pull_fulfillments
from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Secret, Settings
from okc_recon.errors import (
    ApiConnectionError,
    ApiError,
    ConfigError,
    RateLimitError,
    ResponseShapeError,
    ServerError,
)
from tests.api.hostile_server import (
    PROXY_PAGE,
    STATIC_TOKEN,
    HostileOKC,
    Reply,
    fid,
    http_date,
    oid,
    record,
)

pytestmark = pytest.mark.timeout(30)

ONE = "GET /v2/fulfillments/{id}"
ORDER = "GET /v2/orders/{id}/fulfillments"
SECRETS = ("5ecret", "X-Amz-Signature", "amazonaws", "<html", "<!DOCTYPE")


def settings(base_url: str, **changes: object) -> Settings:
    base = Settings(
        base_url=base_url,
        access_token=Secret(STATIC_TOKEN),
        timeout=0.25,
        max_attempts=3,
        backoff_base=0.001,
        backoff_cap=0.005,
        retry_after_cap=0.01,
        page_size=20,
        concurrency=4,
    )
    return base.replace(**changes)


def first(k: int, reply: Reply):
    return lambda req, n: reply if n <= k else None


def always(reply: Reply):
    return lambda req, n: reply


def clean(exc: BaseException) -> str:
    text = f"{exc} {exc!r} {getattr(exc, 'api_message', '')}"
    assert [s for s in SECRETS if s in text] == [], text
    return text


async def _one(cfg: Settings, fulfillment_id: str, transport=None, **options):
    async with AsyncOKCClient(cfg, transport=transport, **options) as client:
        return await client.fulfillment(fulfillment_id)


def fetch(cfg: Settings, fulfillment_id: str = fid(1), transport=None, **options):
    return asyncio.run(_one(cfg, fulfillment_id, transport, **options))


@pytest.fixture
def okc() -> HostileOKC:
    return HostileOKC(records=[record(i) for i in range(40)])


@pytest.fixture
def base_url(okc):
    with okc.serve() as url:
        yield url


# -- bodies ---------------------------------------------------------------------------------------


def test_proxy_page_with_200_is_retried_then_a_shape_error(okc, base_url):
    okc.faults[ONE] = first(1, Reply(200, body=PROXY_PAGE, headers={"Content-Type": "text/html"}))
    assert fetch(settings(base_url))["id"] == fid(1)
    okc.faults[ONE] = always(Reply(200, body=PROXY_PAGE, headers={"Content-Type": "text/html"}))
    with pytest.raises(ResponseShapeError) as err:
        fetch(settings(base_url))
    exc = err.value
    assert (exc.method, exc.path, exc.status, exc.attempts) == (
        "GET",
        f"/v2/fulfillments/{fid(1)}",
        200,
        3,
    )
    assert "not JSON" in clean(exc)
    assert "text/html" in str(exc)


def test_proxy_page_with_502_is_a_server_error_with_its_title(okc, base_url):
    okc.faults[ONE] = always(Reply(502, body=PROXY_PAGE, headers={"Content-Type": "text/html"}))
    with pytest.raises(ServerError) as err:
        fetch(settings(base_url))
    assert str(err.value).startswith(f"GET /v2/fulfillments/{fid(1)} → 502: 502 Bad Gateway")
    assert err.value.attempts == 3
    clean(err.value)


def test_truncated_json_is_retried(okc, base_url):
    body = json.dumps({"fulfillment": okc.records[1]}).encode()
    okc.faults[ONE] = first(
        2, Reply(200, body=body[:-40], headers={"Content-Type": "application/json"})
    )
    assert fetch(settings(base_url))["id"] == fid(1)
    okc.faults[ONE] = always(Reply(200, body=body[:-40]))
    with pytest.raises(ResponseShapeError) as err:
        fetch(settings(base_url))
    clean(err.value)  # the truncated body held a label URL: not quoted


@pytest.mark.parametrize(
    "content_type", ["text/html", "text/plain", "application/octet-stream", None]
)
def test_json_under_the_wrong_content_type(okc, base_url, content_type):
    body = json.dumps({"fulfillment": okc.records[1]}).encode()
    headers = {} if content_type is None else {"Content-Type": content_type}
    okc.faults[ONE] = always(Reply(200, body=body, headers=headers))
    assert fetch(settings(base_url))["id"] == fid(1)


def test_gzip_declared_undeclared_and_broken(okc, base_url):
    okc.faults[ONE] = always(Reply(200, json={"fulfillment": okc.records[1]}, gzip=True))
    assert fetch(settings(base_url))["id"] == fid(1)
    raw = gzip.compress(json.dumps({"fulfillment": okc.records[2]}).encode())
    okc.faults[ONE] = always(Reply(200, body=raw, headers={"Content-Type": "application/json"}))
    assert fetch(settings(base_url), fid(2))["id"] == fid(2)
    okc.faults[ONE] = always(
        Reply(200, body=b'{"fulfillment": {}}', headers={"Content-Encoding": "gzip"})
    )
    with pytest.raises(ResponseShapeError) as err:
        fetch(settings(base_url))
    assert err.value.request == f"GET /v2/fulfillments/{fid(1)}"
    assert "gzip" in str(err.value)


# -- connections ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["partial", "reset", "close"])
def test_dropped_connections_are_retried(okc, base_url, action):
    okc.faults[ONE] = first(2, Reply(200, json={"fulfillment": okc.records[1]}, action=action))
    assert fetch(settings(base_url))["id"] == fid(1)
    assert okc.calls[ONE] == 3


def test_dropped_connections_every_time_name_the_request(okc, base_url):
    okc.faults[ONE] = always(Reply(200, json={"fulfillment": okc.records[1]}, action="partial"))
    with pytest.raises(ApiConnectionError) as err:
        fetch(settings(base_url))
    assert err.value.request == f"GET /v2/fulfillments/{fid(1)}"
    assert err.value.attempts == 3
    clean(err.value)


def test_read_timeout(okc, base_url):
    okc.faults[ONE] = always(Reply(action="hang"))
    started = time.perf_counter()
    with pytest.raises(ApiConnectionError, match="timed out") as err:
        fetch(settings(base_url, max_attempts=2))
    assert time.perf_counter() - started < 3
    assert err.value.attempts == 2


def test_slow_loris_is_cut_off(okc, base_url):
    # a byte every 50 ms never trips the 0.25 s read timeout; the whole body would take 60 s
    okc.faults[ONE] = always(
        Reply(200, json={"fulfillment": okc.records[1]}, action="trickle", trickle=0.05)
    )
    started = time.perf_counter()
    with pytest.raises(ApiConnectionError, match="timed out") as err:
        fetch(settings(base_url, max_attempts=2))
    assert time.perf_counter() - started < 5
    assert err.value.request == f"GET /v2/fulfillments/{fid(1)}"


def test_dns_failure_fails_fast_and_stops_the_pull():
    cfg = settings("https://okc-recon-hostile.invalid", max_attempts=5, backoff_base=1.0)
    started = time.perf_counter()
    with pytest.raises(ApiConnectionError) as err:
        pull_fulfillments([oid(i) for i in range(30)], settings=cfg, progress=False)
    assert time.perf_counter() - started < 5
    exc = err.value
    assert isinstance(exc, ConfigError)
    assert exc.attempts == 1
    assert "okc-recon-hostile.invalid" in str(exc)
    assert "OKC_BASE_URL" in str(exc)
    assert exc.method == "GET"


def test_nothing_listening_stops_the_pull_after_one_requests_retries():
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = settings(f"http://127.0.0.1:{port}", max_attempts=3)
    with pytest.raises(ApiConnectionError) as err:
        pull_fulfillments([oid(i) for i in range(30)], settings=cfg, progress=False)
    exc = err.value
    assert isinstance(exc, ConfigError)
    assert exc.attempts == 3
    assert "nothing listens at" in str(exc)
    assert "no request has reached it yet" in str(exc)


def test_a_host_that_answered_once_is_only_failing_one_request(okc, base_url):
    async def two():
        async with AsyncOKCClient(settings(base_url)) as client:
            await client.fulfillment(fid(1))
            okc.faults[ONE] = always(Reply(action="reset"))
            await client.fulfillment(fid(2))

    with pytest.raises(ApiConnectionError) as err:
        asyncio.run(two())
    assert not isinstance(err.value, ConfigError)


def test_tls_to_a_plain_http_port_fails_fast(okc, base_url):
    cfg = settings(base_url.replace("http://", "https://"), max_attempts=5, backoff_base=1.0)
    started = time.perf_counter()
    with pytest.raises(ApiConnectionError) as err:
        fetch(cfg)
    assert time.perf_counter() - started < 5
    assert isinstance(err.value, ConfigError)
    assert err.value.attempts == 1
    assert "http://" in str(err.value)
    assert "TLS" in str(err.value)


def test_plain_http_to_a_tls_port_fails_fast(okc, base_url):
    okc.faults[ONE] = always(Reply(body=b"\x15\x03\x03\x00\x02\x02\x46", action="raw"))
    started = time.perf_counter()
    with pytest.raises(ApiConnectionError) as err:
        fetch(settings(base_url, max_attempts=5, backoff_base=1.0))
    assert time.perf_counter() - started < 5
    assert isinstance(err.value, ConfigError)
    assert okc.calls[ONE] == 1
    assert "TLS" in str(err.value)
    assert "https://" in str(err.value)


def test_a_redirect_is_not_followed_and_only_its_origin_is_named(okc, base_url):
    signed = "https://elsewhere.example/login?next=/v2&X-Amz-Signature=5ecret"
    okc.faults[ONE] = always(Reply(301, headers={"Location": signed}))
    with pytest.raises(ConfigError) as err:
        fetch(settings(base_url))
    assert isinstance(err.value, ApiError)
    assert err.value.status == 301
    assert "https://elsewhere.example" in str(err.value)
    assert okc.calls[ONE] == 1
    assert [r.path for r in okc.log] == [f"/v2/fulfillments/{fid(1)}"]  # not followed
    clean(err.value)


def test_a_label_redirect_is_the_fresh_label_url(okc, base_url):
    signed = "https://okc-labels.s3.amazonaws.com/l/1.pdf?X-Amz-Expires=900&X-Amz-Signature=5ig"
    okc.faults["GET /v2/fulfillments/{id}/label"] = always(Reply(302, headers={"Location": signed}))

    async def label():
        async with AsyncOKCClient(settings(base_url)) as client:
            return await client.label_url(fid(1))

    url = asyncio.run(label())
    assert url.reveal() == signed
    assert "amazonaws" not in repr(url)
    assert not url.expired


# -- status codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_bursts_are_retried(okc, base_url, status):
    okc.faults[ONE] = first(2, Reply(status, json={"message": "busy"}))
    assert fetch(settings(base_url))["id"] == fid(1)
    okc.faults[ONE] = always(Reply(status, json={"error": {"message": "down", "errorCode": "X"}}))
    with pytest.raises(ServerError) as err:
        fetch(settings(base_url))
    assert str(err.value).startswith(f"GET /v2/fulfillments/{fid(1)} → {status}: down [X]")
    assert err.value.attempts == 3


def _clocked(okc: HostileOKC, client_options, **changes):
    cfg = settings("https://na1-hostile.okcapsule.test", max_attempts=4, **changes)
    return lambda: fetch(cfg, transport=okc.transport, **client_options())


def _date_in(seconds: float) -> str:
    return http_date(datetime.now(UTC) + timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("0", 0.0, 0.0),
        ("3", 3.0, 3.3),
        ("  7 ", 7.0, 7.7),
        ("2.5", 2.5, 2.75),
        ("date an hour ago", 0.0, 0.0),
        ("date in 20 s", 17.0, 22.0),
        ("soon, please", 0.0, 0.5),  # unreadable: the ordinary backoff (base 0.5)
        ("-5", 0.0, 0.0),
    ],
)
def test_retry_after_forms(okc, client_options, clock, header, low, high):
    header = {"date an hour ago": _date_in(-3600), "date in 20 s": _date_in(20)}.get(header, header)
    okc.faults[ONE] = first(
        1, Reply(429, json={"message": "Too Many Requests"}, headers={"Retry-After": header})
    )
    assert _clocked(okc, client_options)()["id"] == fid(1)
    assert len(clock.sleeps) <= 1  # "0" (or a date gone by) means now: no sleep at all
    assert low <= sum(clock.sleeps) <= high


def test_rate_limit_reset_header_when_retry_after_is_missing(okc, client_options, clock):
    reset = (datetime.now(UTC) + timedelta(seconds=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    okc.faults[ONE] = first(
        1,
        Reply(
            429,
            json={"message": "Too Many Requests"},
            headers={
                "X-RateLimit-Limit": "1000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset,
            },
        ),
    )
    assert _clocked(okc, client_options)()["id"] == fid(1)
    [wait] = clock.sleeps
    assert 9.0 <= wait <= 13.5


@pytest.mark.parametrize("reset", ["garbage", "", "-1"])
def test_unreadable_rate_limit_headers_are_ignored(okc, client_options, clock, reset):
    okc.faults[ONE] = first(
        1, Reply(429, headers={"X-RateLimit-Remaining": "zero", "X-RateLimit-Reset": reset})
    )
    assert _clocked(okc, client_options)()["id"] == fid(1)
    [wait] = clock.sleeps
    assert 0.0 <= wait <= 0.5


def test_rate_limit_exhausted_names_the_request(okc, client_options, clock):
    okc.faults[ONE] = always(
        Reply(429, json={"message": "Too Many Requests"}, headers={"Retry-After": "1"})
    )
    with pytest.raises(RateLimitError) as err:
        _clocked(okc, client_options)()
    assert str(err.value).startswith(f"GET /v2/fulfillments/{fid(1)} → 429: Too Many Requests")
    assert err.value.attempts == 4
    assert len(clock.sleeps) == 3
    assert all(w >= 1.0 for w in clock.sleeps)


def test_remaining_zero_pauses_the_next_request_until_the_reset(okc, client_options, clock):
    reset = http_date(datetime.now(UTC) + timedelta(seconds=6))
    okc.faults[ONE] = first(
        1,
        Reply(
            200,
            json={"fulfillment": okc.records[1]},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        ),
    )
    cfg = settings("https://na1-hostile.okcapsule.test")

    async def two():
        async with AsyncOKCClient(cfg, transport=okc.transport, **client_options()) as client:
            await client.fulfillment(fid(1))
            return await client.fulfillment(fid(2))

    assert asyncio.run(two())["id"] == fid(2)
    assert okc.calls[ONE] == 2  # no 429 was needed
    [wait] = clock.sleeps
    assert 3.0 <= wait <= 6.5


def test_a_429_pauses_the_requests_that_start_after_it(okc):
    sent: dict[str, float] = {}

    def note(req, n):
        sent.setdefault(req.path.rsplit("/", 1)[-1], time.monotonic())
        return Reply(429, headers={"Retry-After": "0.3"}) if n == 1 else None

    okc.faults[ONE] = note
    cfg = settings("https://na1-hostile.okcapsule.test", retry_after_cap=1.0)

    async def two():
        async with AsyncOKCClient(cfg, transport=okc.transport) as client:
            first_one = asyncio.ensure_future(client.fulfillment(fid(1)))
            while okc.calls[ONE] < 1:  # the 429 has been answered
                await asyncio.sleep(0.001)
            second = await client.fulfillment(fid(2))  # starts during the pause
            return await first_one, second, client.stats

    one, two_, stats = asyncio.run(two())
    assert (one["id"], two_["id"]) == (fid(1), fid(2))
    assert stats.rate_limit_pauses == 1
    assert okc.calls[ONE] == 3  # the second request met no 429: it waited its turn
    assert sent[fid(2)] - sent[fid(1)] >= 0.3


# -- a whole pull over sockets --------------------------------------------------------------


def test_pull_through_every_transient_fault_returns_every_record(okc, base_url, caplog):
    okc.records = [record(i, order=i // 2) for i in range(60)]
    plan = {
        oid(1): Reply(503, json={"message": "busy"}),
        oid(2): Reply(200, json={"fulfillments": []}, action="partial"),
        oid(3): Reply(429, headers={"Retry-After": "0"}),
        oid(4): Reply(502, body=PROXY_PAGE, headers={"Content-Type": "text/html"}),
        oid(5): Reply(200, body=PROXY_PAGE, headers={"Content-Type": "text/html"}),
        oid(6): Reply(action="reset"),
        oid(7): Reply(200, body=b'{"fulfillments": [{"id": '),
    }
    hits: dict[str, int] = {}

    def fault(req, n):
        for order, reply in plan.items():
            if order in req.path:
                hits[order] = hits.get(order, 0) + 1
                return reply if hits[order] == 1 else None
        return None

    okc.faults[ORDER] = fault
    with caplog.at_level(logging.DEBUG):
        result = pull_fulfillments(
            [oid(i) for i in range(30)], settings=settings(base_url), progress=False
        )
    assert result.ok, result.summary()
    assert sorted(result.fulfillments["fulfillment_id"]) == sorted(r["id"] for r in okc.records)
    assert set(hits) == set(plan)
    assert not [s for s in SECRETS[:3] if s in caplog.text]


def test_pull_with_one_order_always_failing_reports_it_by_id(okc, base_url):
    okc.records = [record(i, order=i // 2) for i in range(20)]
    okc.faults[ORDER] = lambda req, n: (
        Reply(200, json={"fulfillments": []}, action="reset") if oid(3) in req.path else None
    )
    result = pull_fulfillments(
        [oid(i) for i in range(10)], settings=settings(base_url), progress=False
    )
    assert result.failed_order_ids == [oid(3)]
    assert isinstance(result.failures[0].error, ApiError)
    assert result.failures[0].error.request.startswith(f"GET /v2/orders/{oid(3)}/fulfillments")
    assert result.fulfillments.height == 18
