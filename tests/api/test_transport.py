"""The client's network backend: httpx's own, with the pool's idle check made cheap."""

from __future__ import annotations

import asyncio
import socket

from okc_recon.api._transport import FastBackend, _readable
from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Secret, Settings
from tests.api.hostile_server import STATIC_TOKEN, HostileOKC, Reply, fid, record


def test_readable_says_when_the_peer_closed():
    a, b = socket.socketpair()
    try:
        assert not _readable(a)  # idle and open
        b.sendall(b"x")
        assert _readable(a)
        a.recv(1)
        b.close()
        assert _readable(a)  # EOF waiting: the server went away
    finally:
        a.close()
    assert _readable(a)  # closed socket
    assert _readable(None)


def test_the_client_runs_on_the_fast_backend():
    settings = Settings(base_url="https://okc.test", access_token=Secret(STATIC_TOKEN))

    async def backend():
        async with AsyncOKCClient(settings) as client:
            return client._http._transport._pool._network_backend  # type: ignore[attr-defined]

    assert isinstance(asyncio.run(backend()), FastBackend)


def test_a_kept_alive_connection_the_server_closed_is_not_reused():
    okc = HostileOKC(records=[record(i) for i in range(3)])
    okc.faults["GET /v2/fulfillments/{id}"] = lambda req, n: (
        Reply(200, json={"fulfillment": okc.records[0]}, close_after=True) if n == 1 else None
    )

    async def twice(base_url):
        settings = Settings(base_url=base_url, access_token=Secret(STATIC_TOKEN), timeout=2.0)
        async with AsyncOKCClient(settings) as client:
            await client.fulfillment(fid(0))
            await asyncio.sleep(0.2)  # the server has closed the idle connection by now
            await client.fulfillment(fid(1))
            return client.stats

    with okc.serve() as base_url:
        stats = asyncio.run(twice(base_url))
    assert stats.requests == 2
    assert stats.retries == 0  # the pool saw the closed connection: no failed reuse
    assert not stats.transport_errors
