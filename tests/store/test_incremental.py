"""Incremental pulls against the sandbox over real sockets: what a repeated pull fetches
(counted at the sandbox, by route), what it serves from the cache, and that it sees what
changed on the server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from okc_recon.sandbox import Faults, Sandbox, World
from okc_recon.sandbox._query import parse_time
from okc_recon.store import Store
from tests.store.conftest import (
    COUNT_ROUTE,
    LIST_ROUTE,
    ORDER_ROUTE,
    order_ids,
    pull,
    settings_for,
    status_ids,
)

pytestmark = pytest.mark.timeout(60)


def statuses_by_id(world: World) -> dict[str, str]:
    return {str(s["id"]): s["name"] for s in world.statuses if s["group"] == "fulfillment"}


def must_fetch(world: World, records: list[dict[str, Any]] | None = None) -> set[str]:
    """The orders a repeated pull must fetch again: those with a fulfillment that is not
    delivered or canceled, has no id or no update time (the sandbox's records were all
    updated months ago, far outside the lag window)."""
    names = statuses_by_id(world)
    records = list(world.fulfillments) if records is None else records
    fetch = {str(o["id"]) for o in world.orders} - {str(f.get("order_id")) for f in records}
    for f in records:
        final = names.get(str(f.get("status_id"))) in ("Delivered", "Canceled")
        if not (final and f.get("id") and parse_time(str(f.get("updated_at")))):
            fetch.add(str(f.get("order_id")))
    return fetch


def test_a_second_pull_fetches_only_what_can_still_change(
    sandbox: Sandbox, world: World, store: Store
) -> None:
    ids = order_ids(world)
    first = pull(sandbox, ids, store=store)
    assert first.ok
    assert sandbox.stats.by_route[ORDER_ROUTE] == len(ids)
    assert first.from_cache == 0
    assert first.cache == store.path
    assert_frame_equal(first.fulfillments, pull(sandbox, ids, store=False).fulfillments)

    sandbox.stats.reset()
    second = pull(sandbox, ids, store=store)
    refetched = must_fetch(world)
    assert 0 < len(refetched) < len(ids) // 10
    assert sandbox.stats.by_route[ORDER_ROUTE] == len(refetched)
    assert second.requests == len(refetched) + 1  # + /v2/statuses
    assert second.orders_from_cache == len(ids) - len(refetched)
    fetched = sum(1 for f in world.fulfillments if str(f.get("order_id")) in refetched)
    assert second.from_cache == second.records - fetched
    assert second.records == first.records
    # the same frames, in the same order, as fetching everything
    assert_frame_equal(second.fulfillments, first.fulfillments)
    assert_frame_equal(second.rejected, first.rejected)
    assert f"{second.from_cache} of {second.records} records from the cache" in second.summary()


def test_an_update_on_the_server_is_picked_up(sandbox: Sandbox, world: World, store: Store) -> None:
    ids = order_ids(world)
    first = pull(sandbox, ids, store=store)
    shipped = str(first.fulfillments.filter(status="Shipped")["fulfillment_id"][0])
    delivered = status_ids(world, "Delivered")[0]
    sandbox.update_fulfillment(shipped, status_id=delivered, delivery_date="2025-08-07T15:00:00Z")
    result = pull(sandbox, ids, store=store)
    row = result.fulfillments.filter(fulfillment_id=shipped)
    assert row["status"].to_list() == ["Delivered"]
    assert str(row["delivery_date"][0]) == "2025-08-07 15:00:00+00:00"
    versions = store.history(shipped)
    assert versions.height == 2
    assert versions.filter("current")["status_id"].to_list() == [str(delivered)]


def test_settled_final_orders_are_trusted_until_a_refresh(
    sandbox: Sandbox, world: World, store: Store
) -> None:
    ids = order_ids(world)
    pull(sandbox, ids, store=store)
    names = statuses_by_id(world)
    settled = next(
        f
        for f in world.fulfillments
        if names.get(str(f["status_id"])) == "Delivered"
        and str(f["order_id"]) not in must_fetch(world)
    )
    # a correction with the record's old update time: nothing tells the cache it changed
    sandbox.update_fulfillment(
        settled["id"], shipping_net_charge=123.45, updated_at=settled["updated_at"]
    )
    cached = pull(sandbox, ids, store=store)
    assert str(
        cached.fulfillments.filter(fulfillment_id=settled["id"])["shipping_net_charge"][0]
    ) == str(settled["shipping_net_charge"])
    sandbox.stats.reset()
    refreshed = pull(sandbox, ids, store=store, refresh=True)
    assert sandbox.stats.by_route[ORDER_ROUTE] == len(ids)
    assert refreshed.from_cache == 0
    charge = refreshed.fulfillments.filter(fulfillment_id=settled["id"])["shipping_net_charge"]
    assert str(charge[0]) == "123.45"


def test_a_recent_update_is_read_again_until_the_lag_window_passed(
    sandbox: Sandbox, world: World, tmp_path: Any
) -> None:
    ids = order_ids(world)
    names = statuses_by_id(world)
    delivered = next(
        f
        for f in world.fulfillments
        if names.get(str(f["status_id"])) == "Delivered"
        and str(f["order_id"]) not in must_fetch(world)
    )
    # updated now: still inside the day-long window of a late correction
    sandbox.update_fulfillment(delivered["id"], shipping_net_charge=7.77)
    day = Store(tmp_path / "day.duckdb")
    pull(sandbox, ids, store=day)
    sandbox.stats.reset()
    pull(sandbox, ids, store=day)
    assert sandbox.stats.by_route[ORDER_ROUTE] == len(must_fetch(world)) + 1

    # without a window, a final fulfillment is trusted from the first fetch on
    none = Store(tmp_path / "none.duckdb", lag=timedelta(0))
    pull(sandbox, ids, store=none)
    sandbox.stats.reset()
    pull(sandbox, ids, store=none)
    assert sandbox.stats.by_route[ORDER_ROUTE] == len(must_fetch(world))


def test_a_failed_order_is_fetched_by_the_next_pull(
    sandbox: Sandbox, world: World, store: Store
) -> None:
    ids = order_ids(world)[:40]
    broken = next(i for i in ids if i not in must_fetch(world))
    sandbox.set_faults(Faults(fail_routes={f"/v2/orders/{broken}/fulfillments": 500}))
    first = pull(sandbox, ids, store=store)
    assert first.failed_order_ids == [broken]
    sandbox.set_faults(Faults())
    sandbox.stats.reset()
    second = pull(sandbox, ids, store=store)
    assert second.ok
    fetched = [i for i in ids if i in must_fetch(world)] + [broken]
    assert sandbox.stats.by_route[ORDER_ROUTE] == len(fetched)
    assert_frame_equal(second.fulfillments, pull(sandbox, ids, store=False).fulfillments)


# -- list walks ---------------------------------------------------------------------------------


def walk_pages(world: World, page_size: int = 25) -> int:
    return -(-len(world.fulfillments) // page_size)


def test_without_q_ranges_a_walk_reads_everything_and_stores_it(
    sandbox: Sandbox, world: World, store: Store
) -> None:
    first = pull(sandbox, store=store)
    sandbox.stats.reset()
    second = pull(sandbox, store=store)
    assert sandbox.stats.by_route[LIST_ROUTE] == walk_pages(world)
    assert second.from_cache == 0
    assert_frame_equal(second.fulfillments, first.fulfillments)
    assert store.fulfillments().height == first.fulfillments.height


def test_with_q_ranges_a_walk_reads_only_what_changed(
    sandbox: Sandbox, world: World, store: Store
) -> None:
    settings = settings_for(sandbox, q_ranges=True)
    first = pull(sandbox, settings=settings, store=store)
    assert first.ok
    assert sandbox.stats.by_route[LIST_ROUTE] == walk_pages(world)
    sandbox.stats.reset()
    second = pull(sandbox, settings=settings, store=store)
    assert second.ok
    assert sandbox.stats.by_route[LIST_ROUTE] == 1
    assert sandbox.stats.by_route[COUNT_ROUTE] == 2  # the query's, the range's
    times = [parse_time(str(f.get("updated_at"))) for f in world.fulfillments]
    dated = [t for t in times if t is not None]
    in_window = sum(1 for t in dated if t >= max(dated) - timedelta(days=1))
    assert second.records - second.from_cache == in_window
    assert_frame_equal(second.fulfillments, first.fulfillments)
    assert_frame_equal(second.rejected, first.rejected)
    assert second.count_check is not None
    assert second.count_check.matches

    target = first.fulfillments["fulfillment_id"][10]
    sandbox.update_fulfillment(target, shipping_net_charge=42.01)
    sandbox.stats.reset()
    third = pull(sandbox, settings=settings, store=store)
    assert sandbox.stats.by_route[LIST_ROUTE] == 1
    row = third.fulfillments.filter(fulfillment_id=target)
    assert str(row["shipping_net_charge"][0]) == "42.01"
    assert (
        third.fulfillments["fulfillment_id"].to_list()
        == first.fulfillments["fulfillment_id"].to_list()
    )


def test_records_updated_in_the_boundary_second_are_not_lost(
    sandbox: Sandbox, world: World, tmp_path: Any
) -> None:
    store = Store(tmp_path / "c.duckdb", lag=timedelta(0))  # the boundary is the bound
    settings = settings_for(sandbox, q_ranges=True)
    first = pull(sandbox, settings=settings, store=store)
    newest = max(
        (f for f in world.fulfillments if f.get("id") and f.get("updated_at")),
        key=lambda f: parse_time(str(f["updated_at"])),  # type: ignore[arg-type,return-value]
    )
    other = next(f for f in world.fulfillments if f.get("id") and f["id"] != newest["id"])
    # changed after the walk read it, in the very second of the walk's newest record
    sandbox.update_fulfillment(
        other["id"], shipping_net_charge=1.23, updated_at=newest["updated_at"]
    )
    second = pull(sandbox, settings=settings, store=store)
    row = second.fulfillments.filter(fulfillment_id=other["id"])
    assert str(row["shipping_net_charge"][0]) == "1.23"
    assert second.fulfillments.height == first.fulfillments.height


def test_a_filtered_walk_follows_records_into_and_out_of_its_filter(
    sandbox: Sandbox, world: World, store: Store
) -> None:
    settings = settings_for(sandbox, q_ranges=True)
    delivered, shipped = status_ids(world, "Delivered")[0], status_ids(world, "Shipped")[0]
    q = f"status_id:{shipped}"
    pull(sandbox, settings=settings, store=store)  # the cache knows the latest update
    first = pull(sandbox, settings=settings, store=store, q=q)
    members = set(first.fulfillments["fulfillment_id"]) | set(first.rejected["fulfillment_id"])
    leaving = sorted(members)[0]
    joining = next(
        str(f["id"]) for f in world.fulfillments if f.get("id") and f["status_id"] == delivered
    )
    sandbox.update_fulfillment(leaving, status_id=delivered)
    sandbox.update_fulfillment(joining, status_id=shipped)
    sandbox.stats.reset()
    second = pull(sandbox, settings=settings, store=store, q=q)
    assert sandbox.stats.by_route[LIST_ROUTE] == 2  # the filter's changes, and all changes
    got = set(second.fulfillments["fulfillment_id"]) | set(second.rejected["fulfillment_id"])
    assert got == (members - {leaving}) | {joining}
    assert second.count_check is not None
    assert second.count_check.matches
    uncached = pull(sandbox, settings=settings, store=False, q=q)
    assert sorted(second.fulfillments["fulfillment_id"]) == sorted(
        uncached.fulfillments["fulfillment_id"]
    )
