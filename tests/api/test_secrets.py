"""The OKC token, password, refresh token and label URLs never leak: not into logs (any
logger, DEBUG), exception messages, reprs, or files written."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from okc_recon.api import OKCClient, pull_fulfillments
from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Secret
from okc_recon.errors import OkcReconError
from tests.api.fake_okc import FakeOKC, make_record

# every credential the fake issues or accepts ends in this; label URLs carry a signature
MARKERS = ("5ecret", "X-Amz-Signature", "amazonaws")


def leaks(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)  # the root logger: httpx and httpcore included
    return caplog


def test_nothing_leaks_from_a_troubled_pull(login_settings, tmp_path, debug_logs):
    settings = login_settings.replace(backoff_base=0.001, backoff_cap=0.002, max_attempts=2)
    server = FakeOKC(records=[make_record(i) for i in range(30)], expires_in="1")
    broken = dict(make_record(99), weight="heavy")  # rejected: its raw JSON is written
    server.records.append(broken)
    server.faults["GET /v2/orders/{id}/fulfillments"] = lambda req, n: (
        httpx.Response(500, json={"message": "boom"}) if "o00003" in str(req.url) else None
    )
    texts: list[str] = []
    result = pull_fulfillments(
        [f"o{i:05d}" for i in range(16)] + ["o00049"],
        settings=settings,
        transport=server.transport,
        progress=False,
    )
    assert server.calls["POST /v2/authentication/token"] >= 1
    assert result.failed_order_ids == ["o00003"]
    assert result.rejected.height == 1
    texts += [repr(result), result.summary(), *(str(f) for f in result.failures)]
    texts += [repr(f.error) for f in result.failures]
    for suffix in (".json", ".parquet", ".csv"):
        path = result.write(tmp_path / f"out{suffix}")
        texts.append(path.read_bytes().decode("latin-1"))
    texts.append(result.rejected.write_csv())
    texts.append(str(result.fulfillments.to_dicts()))

    with OKCClient(settings, transport=server.transport) as okc:
        url = okc.label_url("f00001")
        record = okc.fulfillment("f00002")
        texts += [repr(url), str(url), f"{url!r}", repr(record), str(record), repr(okc)]
        texts += [repr(okc.aio), repr(okc.aio.auth), repr(settings)]
        assert url.reveal().startswith("https://okc-labels.s3.amazonaws.com")

    texts.append(debug_logs.text)
    assert "okc_recon" in debug_logs.text  # the client did log at DEBUG
    found = {m for text in texts for m in leaks(text)}
    assert found == set()


def test_nothing_leaks_from_auth_failures(login_settings, debug_logs):
    server = FakeOKC()
    bad = login_settings.replace(password=Secret("wrong-5ecret"))
    messages = []
    for settings in (
        bad,
        login_settings.replace(username=None, password=None, access_token=Secret("old-5ecret")),
    ):
        with pytest.raises(OkcReconError) as err:
            asyncio.run(_statuses(settings, server))
        messages += [str(err.value), repr(err.value), str(err.value.__cause__ or "")]
    assert leaks(" ".join(messages) + debug_logs.text) == []


async def _statuses(settings, server):
    async with AsyncOKCClient(settings, transport=server.transport) as client:
        return await client.statuses()


def test_error_bodies_echoing_a_label_url_are_not_quoted_on_success_paths(
    token_settings, debug_logs
):
    server = FakeOKC(records=[make_record(1)])
    server.faults["GET /v2/fulfillments/{id}/label"] = lambda req, n: httpx.Response(
        200, json={"url": "https://x.s3.amazonaws.com/l?X-Amz-Signature=1"}
    )
    with (
        OKCClient(token_settings, transport=server.transport) as okc,
        pytest.raises(OkcReconError) as err,
    ):
        okc.label_url("f00001")
    assert leaks(str(err.value) + debug_logs.text) == []
