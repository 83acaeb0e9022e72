from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Secret, Settings
from okc_recon.errors import AuthenticationError, ConfigError
from tests.api.fake_okc import PASSWORD, TOKEN, FakeOKC, make_record

STATUSES = "GET /v2/statuses"
LOGIN = "POST /v2/authentication/token"
REFRESH = "POST /v2/authentication/refresh-token"


def run(coro):
    return asyncio.run(coro)


async def call(settings, server, options, fn, n=1):
    async with AsyncOKCClient(settings, transport=server.transport, **options) as client:
        results = [await fn(client) for _ in range(n)]
        return client, results


def test_login_with_username(login_settings, client_options):
    server = FakeOKC()
    run(call(login_settings, server, client_options(), lambda c: c.statuses()))
    assert server.calls[LOGIN] == 1
    body = json.loads(server.log[0].content)
    assert set(body) == {"username", "password"}


def test_login_falls_back_to_email_once_and_remembers(login_settings, client_options, clock):
    server = FakeOKC(login_key="email", expires_in=100)

    async def go(client):
        await client.statuses()
        clock.now += 200  # past expiry: the next call logs in again (no refresh refused here)
        server.refuse_refresh = True
        await client.statuses()

    run(call(login_settings, server, client_options(), go))
    bodies = [json.loads(r.content) for r in server.log if r.url.path.endswith("/token")]
    assert [sorted(b) for b in bodies] == [
        ["password", "username"],
        ["email", "password"],
        ["email", "password"],  # remembered: no second 422
    ]


@pytest.mark.parametrize("expires_in", ["3600", 3600, 3600.0, " 3600 "])
def test_expires_in_as_string_or_number_and_proactive_refresh(
    login_settings, client_options, clock, expires_in
):
    server = FakeOKC(expires_in=expires_in)

    async def go(client):
        await client.statuses()
        clock.now += 3600 - 600  # 10 min left: still fresh (margin is 5 min)
        await client.statuses()
        clock.now += 400  # 3 min 20 s left: refresh before it expires
        await client.statuses()

    run(call(login_settings, server, client_options(), go))
    assert server.calls[LOGIN] == 1
    assert server.calls[REFRESH] == 1
    assert server.calls[STATUSES] == 3  # no request was refused on the way


def test_refresh_token_kept_unless_rotated(login_settings, client_options, clock):
    server = FakeOKC(expires_in=100, rotate_refresh=False)

    async def go(client):
        for _ in range(3):
            await client.statuses()
            clock.now += 100

    run(call(login_settings, server, client_options(), go))
    assert server.refresh_tokens_seen == ["refresh-1-5ecret", "refresh-1-5ecret"]

    rotating = FakeOKC(expires_in=100, rotate_refresh=True)
    run(call(login_settings, rotating, client_options(), go))
    assert rotating.refresh_tokens_seen == ["refresh-1-5ecret", "refresh-2-5ecret"]


def test_one_refresh_for_sixteen_concurrent_401s(login_settings, client_options):
    server = FakeOKC(records=[make_record(i) for i in range(16)], expires_in=None)

    async def go(client):
        await client.statuses()  # logs in
        server.valid_tokens = set()  # the server revokes the token: every request gets a 401
        results = await asyncio.gather(*(client.fulfillment(f"f{i:05d}") for i in range(16)))
        return client.auth, results

    _, [(auth, results)] = run(call(login_settings, server, client_options(), go))
    assert len(results) == 16
    assert server.calls[REFRESH] == 1
    assert server.calls[LOGIN] == 1
    assert auth.refreshes == 1


def test_wrong_password_fails_at_once(login_settings, client_options):
    server = FakeOKC()
    bad = login_settings.replace(password=Secret("wrong-password"))
    with pytest.raises(AuthenticationError) as err:
        run(call(bad, server, client_options(), lambda c: c.statuses()))
    assert server.calls[LOGIN] == 1  # no retry storm
    assert sum(server.calls.values()) == 1
    assert "OKC_USERNAME" in str(err.value)
    assert "wrong-password" not in str(err.value)
    assert err.value.status == 401


def test_refused_static_token_fails_at_once_for_every_concurrent_request(
    token_settings, client_options
):
    server = FakeOKC(accept_token="another-token")

    async def go(client):
        return await asyncio.gather(*(client.statuses() for _ in range(16)), return_exceptions=True)

    _, [outcomes] = run(call(token_settings, server, client_options(), go))
    assert all(isinstance(o, AuthenticationError) for o in outcomes)
    assert server.calls[STATUSES] == 16  # one request each, no retries
    assert TOKEN not in str(outcomes[0])
    assert "OKC_ACCESS_TOKEN" in str(outcomes[0])


def test_static_token_with_password_renews_on_401(token_settings, client_options):
    settings = token_settings.replace(username="analyst@example.com", password=Secret(PASSWORD))
    server = FakeOKC(accept_token="not-the-configured-one")
    run(call(settings, server, client_options(), lambda c: c.statuses()))
    assert server.calls[LOGIN] == 1
    assert server.calls[STATUSES] == 2


def test_refused_refresh_falls_back_to_login(login_settings, client_options, clock):
    server = FakeOKC(expires_in=100, refuse_refresh=True)

    async def go(client):
        await client.statuses()
        clock.now += 100
        await client.statuses()

    run(call(login_settings, server, client_options(), go))
    assert server.calls[REFRESH] == 1
    assert server.calls[LOGIN] == 2


def test_token_endpoint_server_errors_are_retried(login_settings, client_options, clock):
    server = FakeOKC(
        faults={LOGIN: lambda req, n: httpx.Response(503) if n < 3 else None},
    )
    run(call(login_settings, server, client_options(), lambda c: c.statuses()))
    assert server.calls[LOGIN] == 3
    assert len(clock.sleeps) == 2


def test_no_credentials_is_a_config_error():
    with pytest.raises(ConfigError, match="OKC_ACCESS_TOKEN"):
        AsyncOKCClient(Settings(base_url="https://okc.test"))


def test_a_token_expiring_in_flight_may_be_renewed_again(login_settings, client_options, clock):
    server = FakeOKC(expires_in=100)

    def expire_in_flight(request, n):
        # calls 2 and 3 are slow: their token expires while they are in flight
        if n in (2, 3):
            clock.now += 200
            return httpx.Response(401, json={"error": {"message": "token expired"}})
        return None

    server.faults[STATUSES] = expire_in_flight

    async def go(client):
        await client.statuses()
        return await client.statuses()  # 401 → renew → 401 (expired again) → renew → ok

    run(call(login_settings, server, client_options(), go))
    assert server.calls[REFRESH] == 2
    assert server.calls[STATUSES] == 4


def test_a_token_refused_before_it_ever_worked_is_not_renewed_twice(login_settings, client_options):
    server = FakeOKC()
    server.faults[STATUSES] = lambda req, n: httpx.Response(
        401, json={"error": {"message": "Unauthorized"}}
    )
    with pytest.raises(AuthenticationError, match="401"):
        run(call(login_settings, server, client_options(), lambda c: c.statuses()))
    assert server.calls[LOGIN] == 1
    assert server.calls[REFRESH] == 1
    assert server.calls[STATUSES] == 2
