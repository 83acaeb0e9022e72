from __future__ import annotations

import asyncio
import json

import httpx
import polars as pl
import pytest

from okc_recon.api import PullResult, pull_fulfillments
from okc_recon.errors import AuthenticationError, ConfigError, PullError, ServerError
from okc_recon.fulfillments import read_fulfillments
from okc_recon.schema import FULFILLMENT_SCHEMA
from tests.api.fake_okc import FakeOKC, make_record

ORDER = "GET /v2/orders/{id}/fulfillments"


@pytest.fixture
def server() -> FakeOKC:
    return FakeOKC(records=[make_record(i) for i in range(40)])  # orders o00000..o00019


@pytest.fixture
def fast(token_settings):
    return token_settings.replace(backoff_base=0.001, backoff_cap=0.002, max_attempts=3)


def orders(n: int) -> list[str]:
    return [f"o{i:05d}" for i in range(n)]


def test_pull_orders(fast, server):
    result = pull_fulfillments(
        orders(20), settings=fast, transport=server.transport, progress=False
    )
    assert isinstance(result, PullResult)
    assert result.ok
    assert result.fulfillments.schema == pl.Schema(FULFILLMENT_SCHEMA)
    assert sorted(result.fulfillments["fulfillment_id"]) == [f"f{i:05d}" for i in range(40)]
    assert result.fulfillments["status"].unique().to_list() == ["Shipped"]
    assert result.requested == tuple(orders(20))
    assert result.records == 40
    assert result.failures == ()
    assert result.count_check is None
    assert result.requests == 21  # 20 orders + /v2/statuses
    assert result.raise_for_failures() is result
    assert "40 fulfillments from 20 orders" in result.summary()


def test_order_ids_are_deduplicated_and_blank_ones_skipped(fast, server):
    result = pull_fulfillments(
        ["o00001", " o00001 ", "", None, "o00002"],
        settings=fast,
        transport=server.transport,
        progress=False,
    )
    assert result.requested == ("o00001", "o00002")
    assert server.calls[ORDER] == 2


def test_failed_orders_are_reported_by_id_and_the_rest_kept(fast, server):
    def fail_two(request, n):
        if request.url.path.split("/")[3] in ("o00003", "o00011"):
            return httpx.Response(500, json={"error": {"message": "boom"}})
        return None

    server.faults[ORDER] = fail_two
    result = pull_fulfillments(
        orders(20), settings=fast, transport=server.transport, progress=False
    )
    assert not result.ok
    assert result.failed_order_ids == ["o00003", "o00011"]
    assert all(isinstance(f.error, ServerError) for f in result.failures)
    assert str(result.failures[0]).startswith(
        "order o00003: GET /v2/orders/o00003/fulfillments?limit=10 → 500: boom"
    )
    assert result.fulfillments.height == 36
    assert set(result.fulfillments["order_id"]).isdisjoint({"o00003", "o00011"})
    with pytest.raises(PullError) as err:
        result.raise_for_failures()
    assert err.value.partial is result
    assert [f.key for f in err.value.failures] == ["o00003", "o00011"]
    assert "2 orders failed" in result.summary()


def test_unknown_order_is_a_failure_not_silence(fast, server):
    server.faults[ORDER] = lambda req, n: (
        httpx.Response(404, json={"message": "Order not found"}) if "nope" in str(req.url) else None
    )
    result = pull_fulfillments(
        ["o00001", "nope"], settings=fast, transport=server.transport, progress=False
    )
    assert result.failed_order_ids == ["nope"]


def test_refused_credentials_stop_the_pull(fast, server):
    server.valid_tokens = {"something-else"}
    with pytest.raises(AuthenticationError):
        pull_fulfillments(orders(20), settings=fast, transport=server.transport, progress=False)
    assert server.calls[ORDER] <= fast.concurrency + 1  # the pull stopped: no storm


def test_statuses_failure_only_leaves_status_empty(fast, server, caplog):
    server.faults["GET /v2/statuses"] = lambda req, n: httpx.Response(403, json={"message": "no"})
    result = pull_fulfillments(orders(2), settings=fast, transport=server.transport, progress=False)
    assert result.ok
    assert result.fulfillments["status"].null_count() == result.fulfillments.height
    assert "status names unavailable" in caplog.text


def test_pull_all_with_count_check(fast, server):
    result = pull_fulfillments(all=True, settings=fast, transport=server.transport, progress=False)
    assert result.ok
    assert result.fulfillments.height == 40
    assert result.count_check is not None
    assert (result.count_check.expected, result.count_check.received) == (40, 40)
    assert result.requested == ()
    assert result.mode == "list"


def test_pull_all_reports_a_count_mismatch(fast, server):
    server.count_offset = 3  # /count says 43: three records never arrive
    result = pull_fulfillments(all=True, settings=fast, transport=server.transport, progress=False)
    assert not result.ok
    assert result.count_check.missing == 3
    assert "/count said 43, 40 received" in result.summary()
    with pytest.raises(PullError, match="/count said 43"):
        result.raise_for_failures()


def test_pull_all_page_failure_keeps_earlier_pages(fast, server):
    server.faults["GET /v2/fulfillments"] = lambda req, n: (
        httpx.Response(502) if "cursor" in str(req.url) and "f00019" in str(req.url) else None
    )
    result = pull_fulfillments(all=True, settings=fast, transport=server.transport, progress=False)
    assert not result.ok
    assert result.fulfillments.height == 20
    [failure] = result.failures
    assert failure.kind == "page"
    assert failure.key == "c:f00019"
    assert "page at cursor 'c:f00019'" in str(failure)


def test_pull_with_query_walks_the_filtered_list(fast, server):
    result = pull_fulfillments(
        q="order_id:o00001", settings=fast, transport=server.transport, progress=False
    )
    assert result.mode == "list"
    assert result.query == "order_id:o00001"
    assert any("q=order_id" in str(r.url) for r in server.log)


def test_usage_errors(fast, server):
    with pytest.raises(ConfigError, match="not both"):
        pull_fulfillments(["o1"], all=True, settings=fast, transport=server.transport)
    with pytest.raises(ConfigError, match="nothing to pull"):
        pull_fulfillments(settings=fast, transport=server.transport)


def test_pull_from_a_running_event_loop(fast, server):
    async def cell():
        return pull_fulfillments(
            orders(3), settings=fast, transport=server.transport, progress=False
        )

    result = asyncio.run(cell())
    assert result.ok
    assert result.fulfillments.height == 6


def test_write_each_format(fast, server, tmp_path):
    result = pull_fulfillments(orders(5), settings=fast, transport=server.transport, progress=False)
    for suffix in (".json", ".parquet", ".csv"):
        path = result.write(tmp_path / f"pull{suffix}")
        back = read_fulfillments(path, statuses={3: "Shipped"})
        assert back.sort("fulfillment_id").equals(result.fulfillments.sort("fulfillment_id"))
    data = json.loads((tmp_path / "pull.json").read_text())
    assert len(data["fulfillments"]) == 10
    assert all("label_url" not in r for r in data["fulfillments"])


def test_progress_bar_counts_orders(fast, server, monkeypatch):
    seen: list[int] = []

    class Bar:
        def __init__(self, *a, **k):
            self.disable = False

        def update(self, n):
            seen.append(n)

        def close(self):
            pass

    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    pull_fulfillments(orders(7), settings=fast, transport=server.transport, progress=True)
    assert sum(seen) == 7
    seen.clear()
    pull_fulfillments(orders(7), settings=fast, transport=server.transport, progress=False)
    assert seen == []


def test_a_403_on_one_order_is_that_orders_failure(fast, server):
    server.faults[ORDER] = lambda req, n: (
        httpx.Response(403, json={"error": {"message": "Product does not belong to client"}})
        if "o00004" in str(req.url)
        else None
    )
    result = pull_fulfillments(orders(6), settings=fast, transport=server.transport, progress=False)
    assert result.failed_order_ids == ["o00004"]
    assert result.fulfillments.height == 10


def test_pull_on_an_open_client(fast, server):
    from okc_recon.api import OKCClient

    with OKCClient(fast, transport=server.transport) as okc:
        first = okc.pull(orders(3), progress=False)
        second = okc.pull(all=True, progress=False)
    assert first.ok
    assert second.ok
    assert first.fulfillments.height == 6
    assert second.fulfillments.height == 40
