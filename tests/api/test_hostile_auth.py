"""Authentication against the hostile server: both login keys, both 422 shapes, every
``expires_in`` form, refresh tokens kept/rotated/revoked, 401s in every body shape, 403 on
one order, the retired v1 API and a base URL with the version in the wrong place."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest

from okc_recon.api import pull_fulfillments
from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Secret, Settings
from okc_recon.errors import ApiError, AuthenticationError, ConfigError
from tests.api.hostile_server import (
    EMAIL,
    MISSING,
    PASSWORD,
    STATIC_TOKEN,
    UNAUTHORIZED_BODIES,
    HostileOKC,
    Reply,
    oid,
    record,
)

LOGIN = "POST /v2/authentication/token"
REFRESH = "POST /v2/authentication/refresh-token"
STATUSES = "GET /v2/statuses"
ORDER = "GET /v2/orders/{id}/fulfillments"
SECRETS = ("5ecret", "X-Amz-Signature", "amazonaws")


def settings(okc: HostileOKC, *, login: bool = True, **changes: object) -> Settings:
    base = Settings(
        base_url="https://na1-hostile.okcapsule.test",
        access_token=None if login else Secret(STATIC_TOKEN),
        username=EMAIL if login else None,
        password=Secret(PASSWORD) if login else None,
        max_attempts=3,
        backoff_base=0.001,
        backoff_cap=0.002,
        page_size=10,
        concurrency=4,
    )
    return base.replace(**changes)


def no_secrets(*texts: str) -> None:
    joined = " ".join(texts)
    assert [s for s in SECRETS if s in joined] == []


async def session(cfg, okc, options, fn):
    async with AsyncOKCClient(cfg, transport=okc.transport, **options) as client:
        return await fn(client)


def run(cfg, okc, options, fn):
    return asyncio.run(session(cfg, okc, options, fn))


@pytest.mark.parametrize("shape", ["auth", "spec", "400"])
def test_login_wants_email_in_any_rejection_shape(shape, client_options, clock):
    okc = HostileOKC(login_key="email", login_422=shape, login_400=shape == "400", expires_in=100)

    async def go(client):
        await client.statuses()
        clock.now += 200  # expired: the refresh token is refused → log in again
        okc.refresh = "revoked"
        await client.statuses()

    run(settings(okc), okc, client_options(), go)
    assert [sorted(b) for b in okc.login_bodies] == [["username"], ["email"], ["email"]]


def test_login_accepts_username_too(client_options):
    okc = HostileOKC(login_key="either")
    run(settings(okc), okc, client_options(), lambda c: c.statuses())
    assert [sorted(b) for b in okc.login_bodies] == [["username"]]


@pytest.mark.parametrize("expires_in", ["86400", 86400, "86400.0", 86400.0, " 86400 "])
def test_expires_in_in_every_form_refreshes_before_expiry(expires_in, client_options, clock):
    okc = HostileOKC(expires_in=expires_in, permissions=False)

    async def go(client):
        await client.statuses()
        clock.now += 86400 - 3600  # an hour left: still fresh
        await client.statuses()
        clock.now += 3600 - 60  # a minute left: refreshed before use
        await client.statuses()

    run(settings(okc), okc, client_options(), go)
    assert (okc.logins, okc.calls[REFRESH], okc.calls[STATUSES]) == (1, 1, 3)


def _jwt(exp: float) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'exp': int(exp), 'sub': 'x'})}.sig-5ecret"


def test_missing_expires_in_renews_on_the_first_401(client_options, clock):
    okc = HostileOKC(expires_in=MISSING)

    async def go(client):
        await client.statuses()
        clock.now += 10 * 86400  # no lifetime known: no proactive refresh
        okc.expire_tokens()
        await client.statuses()  # 401 → refresh → retried

    run(settings(okc), okc, client_options(), go)
    assert (okc.logins, okc.calls[REFRESH], okc.calls[STATUSES]) == (1, 1, 3)


def test_missing_expires_in_falls_back_to_the_jwt_exp_claim(client_options, clock):
    okc = HostileOKC(expires_in=MISSING)
    tokens = iter([_jwt(time.time() + 3600), _jwt(time.time() + 3600)])
    issue = okc._issue

    def issue_jwt(*, refresh: bool) -> dict[str, object]:
        body = issue(refresh=refresh)
        body["access_token"] = next(tokens)
        okc.valid = {body["access_token"]}
        return body

    okc._issue = issue_jwt  # type: ignore[method-assign]

    async def go(client):
        await client.statuses()
        clock.now += 3600 - 60  # a minute before the token's exp: refreshed before use
        await client.statuses()

    run(settings(okc), okc, client_options(), go)
    assert (okc.logins, okc.calls[REFRESH], okc.calls[STATUSES]) == (1, 1, 2)


@pytest.mark.parametrize("wrap", ["data", "AuthenticationResult"])
def test_token_response_under_a_wrapper(wrap, client_options):
    okc = HostileOKC(wrap_token=wrap)
    run(settings(okc), okc, client_options(), lambda c: c.statuses())
    assert okc.calls[STATUSES] == 1


@pytest.mark.parametrize("mode", ["keep", "rotate"])
def test_refresh_keeps_or_rotates_the_refresh_token(mode, client_options):
    okc = HostileOKC(refresh=mode)

    async def go(client):
        for _ in range(3):
            await client.statuses()
            okc.expire_tokens()  # every access token dies: 401 → refresh
        await client.statuses()

    run(settings(okc), okc, client_options(), go)
    assert okc.logins == 1
    assert okc.calls[REFRESH] == 3
    if mode == "keep":  # no new refresh token came back: the first one is reused
        assert okc.refresh_tokens_seen == ["refresh-1-5ecret"] * 3
    else:
        assert okc.refresh_tokens_seen == [
            "refresh-1-5ecret",
            "refresh-2-5ecret",
            "refresh-3-5ecret",
        ]


def test_revoked_refresh_token_logs_in_again_with_the_password(client_options):
    okc = HostileOKC(refresh="revoked")

    async def go(client):
        await client.statuses()
        okc.expire_tokens()
        return await client.statuses()

    run(settings(okc), okc, client_options(), go)
    assert (okc.logins, okc.calls[REFRESH], okc.calls[STATUSES]) == (2, 1, 3)


def test_revoked_refresh_and_changed_password_is_a_clear_error(client_options):
    okc = HostileOKC(refresh="revoked")

    async def go(client):
        await client.statuses()
        okc.expire_tokens()
        okc.password = "changed-by-the-admin"
        return await client.statuses()

    with pytest.raises(AuthenticationError) as err:
        run(settings(okc), okc, client_options(), go)
    text = str(err.value)
    assert text.startswith("POST /v2/authentication/token") or "OKC refused the username" in text
    assert "OKC_PASSWORD" in text
    no_secrets(text, repr(err.value))


def test_sixteen_concurrent_401s_cost_one_refresh(client_options):
    okc = HostileOKC(records=[record(i, order=i) for i in range(16)])

    async def go(client):
        await client.statuses()
        okc.expire_tokens()
        return await asyncio.gather(*(client.order_fulfillments(oid(i)) for i in range(16)))

    results = run(settings(okc), okc, client_options(), go)
    assert [len(r) for r in results] == [1] * 16
    assert (okc.logins, okc.calls[REFRESH]) == (1, 1)


@pytest.mark.parametrize("shape", sorted(UNAUTHORIZED_BODIES))
def test_refused_static_token_in_every_401_shape(shape, client_options):
    okc = HostileOKC(unauthorized=shape, static_tokens={"someone-elses-token"})
    with pytest.raises(AuthenticationError) as err:
        run(settings(okc, login=False), okc, client_options(), lambda c: c.statuses())
    exc = err.value
    assert (exc.method, exc.path, exc.status) == ("GET", "/v2/statuses", 401)
    assert str(exc).startswith("GET /v2/statuses → 401")
    assert "OKC_ACCESS_TOKEN" in str(exc)
    if shape not in ("empty",):
        assert exc.api_message
    assert okc.calls[STATUSES] == 1
    no_secrets(str(exc), repr(exc))


def test_a_401_that_quotes_the_token_back_is_redacted(client_options):
    okc = HostileOKC(echo_token_in_401=True, static_tokens={"someone-elses-token"})
    with pytest.raises(AuthenticationError) as err:
        run(settings(okc, login=False), okc, client_options(), lambda c: c.statuses())
    assert STATIC_TOKEN not in str(err.value)
    assert STATIC_TOKEN not in (err.value.api_message or "")
    assert "is not valid" in str(err.value)


def test_wrong_password_is_one_request_and_a_clear_error(client_options):
    okc = HostileOKC()
    cfg = settings(okc).replace(password=Secret("wrong-5ecret"))
    with pytest.raises(AuthenticationError) as err:
        run(cfg, okc, client_options(), lambda c: c.statuses())
    assert sum(okc.calls.values()) == 2  # "username" (422), then "email" (401): no storm
    assert "Incorrect username or password" in str(err.value)
    no_secrets(str(err.value))


def test_403_on_one_order_fails_that_order_only():
    okc = HostileOKC(records=[record(i, order=i) for i in range(6)])
    okc.faults[ORDER] = lambda req, n: (
        Reply(403, json={"error": {"message": "Product does not belong to client"}})
        if oid(4) in req.path
        else None
    )
    result = pull_fulfillments(
        [oid(i) for i in range(6)], settings=settings(okc), transport=okc.transport, progress=False
    )
    assert result.failed_order_ids == [oid(4)]
    assert sorted(result.fulfillments["order_id"]) == sorted(oid(i) for i in range(6) if i != 4)
    [failure] = result.failures
    assert failure.error.status == 403
    assert "Product does not belong to client" in str(failure)


def test_retired_v1_api_stops_the_pull_with_a_config_hint():
    okc = HostileOKC(records=[record(i, order=i) for i in range(40)])
    okc.faults[ORDER] = lambda req, n: Reply(
        410, json={"error": {"errorCode": "OKCAPI_V1_DEPRECATED", "message": "Gone"}}
    )
    with pytest.raises(ApiError) as err:
        pull_fulfillments(
            [oid(i) for i in range(40)],
            settings=settings(okc, login=False),
            transport=okc.transport,
            progress=False,
        )
    exc = err.value
    assert isinstance(exc, ConfigError)  # the CLI's usage/config exit code
    assert exc.status == 410
    assert exc.error_code == "OKCAPI_V1_DEPRECATED"
    assert str(exc).startswith("GET /v2/orders/")
    assert "OKC_BASE_URL" in str(exc)
    assert okc.calls[ORDER] <= 4 + 1  # the pull stopped: not one 410 per order


def test_version_in_the_wrong_place_is_a_config_error():
    okc = HostileOKC(records=[record(i, order=i) for i in range(10)])
    cfg = settings(okc, login=False, base_url="https://na1-hostile.okcapsule.test/api")
    with pytest.raises(ConfigError) as err:
        pull_fulfillments(
            [oid(i) for i in range(10)], settings=cfg, transport=okc.transport, progress=False
        )
    exc = err.value
    assert isinstance(exc, ApiError)
    assert exc.status == 400
    assert "API version is incorrect or not specified" in str(exc)
    assert "OKC_BASE_URL" in str(exc)
    assert str(exc).startswith("GET /v2/")


def test_token_endpoint_down_stops_the_pull_without_a_storm():
    okc = HostileOKC(records=[record(i, order=i) for i in range(40)])
    okc.faults[LOGIN] = lambda req, n: Reply(
        503, body=b"<html><title>503 Service Unavailable</title></html>"
    )
    with pytest.raises(ApiError) as err:
        pull_fulfillments(
            [oid(i) for i in range(40)],
            settings=settings(okc),
            transport=okc.transport,
            progress=False,
        )
    exc = err.value
    assert str(exc).startswith("POST /v2/authentication/token → 503: 503 Service Unavailable")
    assert exc.attempts == 3
    assert okc.calls[LOGIN] <= 2 * 3  # the statuses call and one worker at most, not 40
    assert okc.calls[ORDER] == 0


def test_the_token_expires_in_the_middle_of_a_walk():
    okc = HostileOKC(records=[record(i) for i in range(45)])
    list_ = okc._list

    state = {"expired": False}

    def expiring(req, rows):
        if req.arg("cursor") and not state["expired"]:
            state["expired"] = True
            okc.valid = set()  # every token dies between page 1 and page 2
            return UNAUTHORIZED_BODIES["docs"]
        return list_(req, rows)

    okc._list = expiring  # type: ignore[method-assign]
    result = pull_fulfillments(
        all=True, settings=settings(okc), transport=okc.transport, progress=False
    )
    assert result.ok, result.summary()
    assert sorted(result.fulfillments["fulfillment_id"]) == sorted(r["id"] for r in okc.records)
    assert (okc.logins, okc.calls[REFRESH]) == (1, 1)
