from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from okc_recon.sandbox import Faults, GeneratorConfig, Sandbox, World, generate

#: A small world (two months of 150 orders, one plant of each kind, bad records): fast to
#: generate and to walk, with every kind of record the server must serve.
SMALL = GeneratorConfig(seed=11, orders_per_month=150, months=2)


@pytest.fixture(scope="session")
def world() -> World:
    """The default world (the one the sample month and the demo use)."""
    return generate()


@pytest.fixture(scope="session")
def small_world() -> World:
    return generate(SMALL)


@pytest.fixture(scope="module")
def running(small_world: World) -> Iterator[Sandbox]:
    with Sandbox(world=small_world) as sb:
        yield sb


@pytest.fixture
def sb(running: Sandbox) -> Sandbox:
    """The module's sandbox, with no faults and zeroed counters."""
    running.set_faults(Faults())
    running.stats.reset()
    return running


@pytest.fixture
def client(sb: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sb.access_token}"}
    with httpx.Client(base_url=sb.base_url, headers=headers, timeout=10) as c:
        yield c
