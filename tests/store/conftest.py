from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okc_recon.api import PullResult, pull_fulfillments
from okc_recon.config import Secret, Settings
from okc_recon.sandbox import GeneratorConfig, Sandbox, World, generate
from okc_recon.store import Store

#: one month of 150 orders (189 fulfillments, the malformed records included): every kind
#: of record the server serves, small enough to pull in well under a second
SMALL = GeneratorConfig(seed=11, months=1, orders_per_month=150)

ORDER_ROUTE = "GET /v2/orders/{id}/fulfillments"
LIST_ROUTE = "GET /v2/fulfillments"
COUNT_ROUTE = "GET /v2/fulfillments/count"


@pytest.fixture(scope="session")
def world() -> World:
    return generate(SMALL)


@pytest.fixture
def sandbox(world: World) -> Iterator[Sandbox]:
    with Sandbox(world=world, port=0) as sb:
        yield sb


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache" / "okc.duckdb")


def settings_for(sb: Sandbox, **changes: Any) -> Settings:
    base = Settings(
        base_url=sb.base_url,
        access_token=Secret(sb.access_token),
        timeout=30.0,  # a loaded machine must not turn slow answers into retries
        max_attempts=3,
        backoff_base=0.005,
        backoff_cap=0.05,
        page_size=25,
        concurrency=8,
    )
    return base.replace(**changes)


def order_ids(world: World) -> list[str]:
    return [str(o["id"]) for o in world.orders]


def pull(sb: Sandbox, ids: list[str] | None = None, **options: Any) -> PullResult:
    """A pull of ``ids`` (or the whole list) from the sandbox, without a progress bar."""
    settings = options.pop("settings", None) or settings_for(sb)
    if ids is None:
        options.setdefault("all", True)
    return pull_fulfillments(ids, settings=settings, progress=False, **options)


def status_ids(world: World, *names: str) -> list[Any]:
    """The fulfillment status ids with these names."""
    return [s["id"] for s in world.statuses if s["group"] == "fulfillment" and s["name"] in names]
