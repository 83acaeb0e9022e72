"""Pulls over real sockets against the sandbox, under every fault it can inject: each pull
returns every record (checked by id against the generated world) or reports a typed error
naming the request."""

from __future__ import annotations

import time

import pytest

from okc_recon.api import OKCClient, pull_fulfillments
from okc_recon.api.client import LabelUrl
from okc_recon.config import Secret, Settings
from okc_recon.errors import ApiError, AuthenticationError, NotFoundError, ServerError
from okc_recon.sandbox import (
    CURSOR_STYLES,
    ERROR_SHAPES,
    Faults,
    GeneratorConfig,
    Sandbox,
    generate,
)

pytestmark = pytest.mark.timeout(60)

ORDER_ROUTE = "GET /v2/orders/{id}/fulfillments"
LIST_ROUTE = "GET /v2/fulfillments"


@pytest.fixture(scope="module")
def world():
    # small but complete: planted problems and the deliberately bad records included
    return generate(GeneratorConfig(seed=11, months=1, orders_per_month=150))


@pytest.fixture
def sandbox(world):
    with Sandbox(world=world, port=0) as sb:
        yield sb


def settings_for(sb: Sandbox, *, login: bool = False, **changes) -> Settings:
    base = Settings(
        base_url=sb.base_url,
        access_token=None if login else Secret(sb.access_token),
        username=sb.username if login else None,
        password=Secret(sb.password) if login else None,
        timeout=2.0,
        max_attempts=12,
        backoff_base=0.005,
        backoff_cap=0.05,
        retry_after_cap=0.05,  # the sandbox says "1 s": capped so the suite stays fast
        page_size=25,
        concurrency=8,
    )
    return base.replace(**changes)


def orders(world, n: int | None = None) -> list[str]:
    ids = [str(o["id"]) for o in world.orders]
    return ids if n is None else ids[:n]


def assert_complete(result, world, order_ids: list[str] | None = None) -> None:
    """Every record the world serves (for these orders) came back exactly once, parsed or
    rejected with a reason; nothing else."""
    assert result.ok, result.summary()
    wanted = None if order_ids is None else set(order_ids)
    expected = [f for f in world.fulfillments if wanted is None or f.get("order_id") in wanted]
    got_ids = [*result.fulfillments["fulfillment_id"], *result.rejected["fulfillment_id"]]
    assert len(got_ids) == len(expected)
    assert sorted(i for i in got_ids if i is not None) == sorted(
        str(f["id"]) for f in expected if f.get("id")
    )
    assert result.rejected["reason"].null_count() == 0


def pull(sb, order_ids=None, **options):
    settings = options.pop("settings", None) or settings_for(sb)
    return pull_fulfillments(order_ids, settings=settings, progress=False, **options)


def test_clean_pull_by_order_and_by_list(sandbox, world):
    by_order = pull(sandbox, orders(world))
    assert_complete(by_order, world, orders(world))
    walked = pull(sandbox, all=True)
    assert_complete(walked, world)
    assert walked.count_check is not None
    assert walked.count_check.matches
    # the bad records that cannot be parsed are set aside, with their reasons
    reasons = " | ".join(walked.rejected["reason"])
    assert "pickup_date is not a date-time" in reasons
    assert "shipping_net_charge is not a number: N/A" in reasons
    assert "missing id" in reasons
    assert walked.rejected.height == 3
    # statuses resolved from /v2/statuses, fulfillment group
    assert set(walked.fulfillments["status"].drop_nulls()) <= {
        s["name"] for s in world.statuses if s["group"] == "fulfillment"
    }
    assert walked.fulfillments["status"].null_count() == 0


def test_latency(sandbox, world):
    sandbox.set_faults(Faults(latency=0.02))
    sandbox.stats.reset()
    result = pull(sandbox, orders(world, 48))
    assert_complete(result, world, orders(world, 48))
    # concurrent over several kept-alive connections, not one connection per request
    assert 2 <= sandbox.stats.connections <= 8 + 2


@pytest.mark.parametrize("retry_after", ["1", "date", None])
def test_rate_limits(sandbox, world, retry_after):
    sandbox.set_faults(Faults(rate_limit_rate=0.3, retry_after=retry_after, seed=1))
    result = pull(sandbox, orders(world, 60))
    assert_complete(result, world, orders(world, 60))
    assert sandbox.stats.faults["rate_limit"] > 5


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(sandbox, world, status):
    sandbox.set_faults(Faults(server_error_rate=0.3, server_error_status=status, seed=2))
    result = pull(sandbox, orders(world, 60))
    assert_complete(result, world, orders(world, 60))
    assert sandbox.stats.faults["server_error"] > 5


def test_dropped_connections(sandbox, world):
    sandbox.set_faults(Faults(drop_rate=0.25, seed=3))
    result = pull(sandbox, orders(world, 60))
    assert_complete(result, world, orders(world, 60))
    assert sandbox.stats.faults["drop"] > 5


def test_slow_responses_past_the_timeout(sandbox, world):
    sandbox.set_faults(Faults(slow_rate=0.1, slow_seconds=2.0, seed=4))
    result = pull(sandbox, orders(world, 40), settings=settings_for(sandbox, timeout=0.25))
    assert_complete(result, world, orders(world, 40))
    assert sandbox.stats.faults["slow"] > 0


def test_all_faults_at_once_on_a_walk(sandbox, world):
    sandbox.set_faults(
        Faults(rate_limit_rate=0.1, server_error_rate=0.1, drop_rate=0.1, page_size_cap=9, seed=5)
    )
    assert_complete(pull(sandbox, all=True), world)


def test_token_expiry_is_refreshed_once_per_expiry(sandbox, world):
    # 1 s tokens, 100 ms per request, 16 in flight: the pull outlives several tokens
    sandbox.set_faults(Faults(token_ttl=1.0, latency=0.1))
    started = time.perf_counter()
    settings = settings_for(sandbox, login=True, concurrency=16)
    result = pull(sandbox, orders(world), settings=settings)
    elapsed = time.perf_counter() - started
    assert_complete(result, world, orders(world))
    routes = sandbox.stats.by_route
    assert routes["POST /v2/authentication/token"] == 1
    refreshes = routes["POST /v2/authentication/refresh-token"]
    # renewed about once per lifetime (proactively at 80 %, or on a 401): never per request
    assert 1 <= refreshes <= 2 * elapsed / 0.8 + 2
    assert refreshes < routes[ORDER_ROUTE] / 4


@pytest.mark.parametrize("as_string", [True, False])
def test_expires_in_as_string_or_number(sandbox, world, as_string):
    sandbox.set_faults(Faults(expires_in_as_string=as_string))
    result = pull(sandbox, orders(world, 5), settings=settings_for(sandbox, login=True))
    assert_complete(result, world, orders(world, 5))


def test_faults_on_the_token_endpoint(sandbox, world):
    sandbox.set_faults(
        Faults(rate_limit_rate=0.3, server_error_rate=0.2, faults_on_auth=True, seed=6)
    )
    result = pull(sandbox, orders(world, 20), settings=settings_for(sandbox, login=True))
    assert_complete(result, world, orders(world, 20))


def test_wrong_credentials_fail_at_once(sandbox, world):
    settings = settings_for(sandbox, login=True, password=Secret("not-the-password"))
    with pytest.raises(AuthenticationError, match="OKC_USERNAME"):
        pull(sandbox, orders(world, 30), settings=settings)
    assert sandbox.stats.by_route["POST /v2/authentication/token"] <= 2  # username, maybe email
    assert sandbox.stats.by_route[ORDER_ROUTE] == 0
    with pytest.raises(AuthenticationError, match="OKC_ACCESS_TOKEN"):
        pull(
            sandbox, orders(world, 30), settings=settings_for(sandbox, access_token=Secret("nope"))
        )
    assert sandbox.stats.by_route[ORDER_ROUTE] <= 8 + 1  # the first wave, then it stops


@pytest.mark.parametrize("cap", [1, 7, 24])
def test_page_size_cap(sandbox, world, cap):
    sandbox.set_faults(Faults(page_size_cap=cap))
    result = pull(sandbox, all=True, settings=settings_for(sandbox, page_size=50))
    assert_complete(result, world)
    pages = sandbox.stats.by_route[LIST_ROUTE]
    assert pages <= len(world.fulfillments) // cap + 3


@pytest.mark.parametrize("repeat", [False, True])
@pytest.mark.parametrize("style", CURSOR_STYLES)
def test_every_cursor_style(sandbox, world, style, repeat):
    sandbox.set_faults(Faults(cursor_style=style, repeat_last_cursor=repeat))
    result = pull(sandbox, all=True, settings=settings_for(sandbox, page_size=40))
    assert_complete(result, world)
    assert sandbox.stats.by_route[LIST_ROUTE] <= len(world.fulfillments) // 40 + 3


def test_a_filtered_walk_matches_its_count(sandbox, world):
    order_id = next(str(f["order_id"]) for f in world.fulfillments if f.get("id"))
    result = pull(sandbox, q=f"order_id:{order_id}")
    assert result.count_check is not None
    assert result.count_check.matches
    assert set(result.fulfillments["order_id"]) == {order_id}


@pytest.mark.parametrize("shape", ERROR_SHAPES)
def test_error_shapes_name_the_request(sandbox, world, shape):
    broken = orders(world)[3]
    sandbox.set_faults(
        Faults(error_shape=shape, fail_routes={f"/v2/orders/{broken}/fulfillments": 404})
    )
    result = pull(sandbox, orders(world, 10))
    assert result.failed_order_ids == [broken]
    error = result.failures[0].error
    assert isinstance(error, NotFoundError)
    assert error.request == f"GET /v2/orders/{broken}/fulfillments?limit=25"
    assert str(error).startswith(f"GET /v2/orders/{broken}/fulfillments?limit=25 → 404: ")
    assert error.api_message  # OKC's message, whatever the body shape
    assert "fail_routes" in error.api_message
    others = [o for o in orders(world, 10) if o != broken]
    assert set(result.fulfillments["order_id"]) | set(
        result.rejected["order_id"].drop_nulls()
    ) <= set(others)


def test_a_persistently_failing_order_is_retried_then_reported(sandbox, world):
    broken = orders(world)[1]
    sandbox.set_faults(Faults(fail_routes={f"/v2/orders/{broken}/fulfillments": 503}))
    result = pull(sandbox, orders(world, 6), settings=settings_for(sandbox, max_attempts=3))
    assert not result.ok
    [failure] = result.failures
    assert isinstance(failure.error, ServerError)
    assert failure.error.attempts == 3
    assert sandbox.stats.by_route[ORDER_ROUTE] == 5 + 3
    assert_complete(
        result.__class__(**{**result.__dict__, "failures": ()}),
        world,
        [o for o in orders(world, 6) if o != broken],
    )


def test_client_endpoints_over_sockets(sandbox, world):
    record = next(f for f in world.fulfillments if f.get("id") and f.get("label_url"))
    with OKCClient(settings_for(sandbox)) as okc:
        got = okc.fulfillment(record["id"])
        assert got["id"] == record["id"]
        assert isinstance(got["label_url"], LabelUrl)
        first, second = okc.label_url(record["id"]), okc.label_url(record["id"])
        assert isinstance(first, LabelUrl)
        assert first.reveal().startswith("https://")
        assert not first.expired
        assert okc.count_fulfillments() == len(world.fulfillments)
        assert okc.count_fulfillments(order_id=record["order_id"]) == sum(
            1 for f in world.fulfillments if f.get("order_id") == record["order_id"]
        )
        names = {s["name"] for s in okc.statuses()}
        assert {"Pending", "Delivered"} <= names
        assert len(okc.order_fulfillments(record["order_id"])) >= 1
        with pytest.raises(ApiError):
            okc.fulfillment("no-such-fulfillment")
    assert second is not None
