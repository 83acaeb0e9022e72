"""Crash safety and one writer at a time, with real processes: a pull killed with SIGKILL
mid-way keeps every batch it committed and the next pull completes it; a second process is
refused while a pull holds the cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from okc_recon.errors import StoreError
from okc_recon.sandbox import Faults, Sandbox, World
from okc_recon.sandbox._labels import LABEL_HOST
from okc_recon.store import Store
from tests.store.conftest import ORDER_ROUTE, order_ids, pull, settings_for

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]


def start_child(
    sb: Sandbox, store: Path, ids: list[str], concurrency: int
) -> subprocess.Popen[str]:
    ids_file = store.parent / "ids.txt"
    ids_file.parent.mkdir(parents=True, exist_ok=True)
    ids_file.write_text("\n".join(ids))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.store.pull_child",
            sb.base_url,
            sb.access_token,
            str(store),
            str(ids_file),
            str(concurrency),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 45
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the child pull ended before {what}: {out}{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_pull_killed_midway_keeps_what_it_committed(world: World, tmp_path: Path) -> None:
    ids = order_ids(world)
    store = Store(tmp_path / "cache" / "okc.duckdb")
    with Sandbox(world=world, port=0, faults=Faults(latency=0.03)) as sb:
        child = start_child(sb, store.path, ids, concurrency=2)
        wait_for(lambda: sb.stats.by_route[ORDER_ROUTE] >= 60, child, "60 orders")
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
        assert child.returncode == -signal.SIGKILL
        asked = sb.stats.by_route[ORDER_ROUTE]
        assert asked < len(ids)  # killed mid-pull, not after

        # the files as the kill left them: the write-ahead log holds the committed rows as
        # plain text (tracking numbers are there to be found), and no credential
        leftovers = b"".join(p.read_bytes() for p in store.path.parent.glob("okc.duckdb*"))
        tracking = [
            str((f.get("tracking_info") or {}).get("tracking_number") or "").encode()
            for f in world.fulfillments
        ]
        assert sum(1 for t in tracking if t and t in leftovers) > 0
        assert LABEL_HOST.encode() not in leftovers
        assert b"X-Amz-Signature" not in leftovers
        assert sb.access_token.encode() not in leftovers

        sb.set_faults(Faults())
        with store.open(sb.base_url) as session:  # opens consistent: the log is replayed
            committed = session.one("SELECT count(*) FROM orders")
            assert committed is not None
            assert 0 < committed[0] <= asked
            dangling = session.one(
                "SELECT count(*) FROM current c LEFT JOIN versions v USING (sha256) "
                "WHERE v.sha256 IS NULL"
            )
            assert dangling == (0,)
            orphans = session.one(
                "SELECT count(*) FROM order_members m LEFT JOIN current c USING (fulfillment_id) "
                "WHERE c.fulfillment_id IS NULL"
            )
            assert orphans == (0,)
            records = session.frame("SELECT record FROM versions")["record"].to_list()
            assert all(isinstance(json.loads(r), dict) for r in records)
            assert all("label_url" not in r for r in records)

        sb.stats.reset()
        result = pull(sb, ids, store=store)
        assert result.ok
        fetched = sb.stats.by_route[ORDER_ROUTE]
        assert fetched < len(ids)  # the committed orders were not fetched again
        assert result.orders_from_cache == len(ids) - fetched
        assert result.orders_from_cache <= committed[0]
        assert_frame_equal(result.fulfillments, pull(sb, ids, store=False).fulfillments)


def test_a_second_process_is_refused_while_a_pull_runs(world: World, tmp_path: Path) -> None:
    ids = order_ids(world)
    cache_dir = tmp_path / "cache"
    # slow enough (150 orders, one at a time, 0.1 s each) to hold the cache for the checks
    with Sandbox(world=world, port=0, faults=Faults(latency=0.1)) as sb:
        store = Store.for_settings(settings_for(sb, cache_dir=cache_dir))
        child = start_child(sb, store.path, ids, concurrency=1)
        wait_for(lambda: sb.stats.by_route[ORDER_ROUTE] >= 3, child, "the first orders")

        env = {k: v for k, v in os.environ.items() if not k.startswith("OKC_")}
        env.update(OKC_BASE_URL=sb.base_url, OKC_ACCESS_TOKEN=sb.access_token)
        other = subprocess.run(
            [
                sys.executable,
                "-m",
                "okc_recon",
                "pull",
                "--no-progress",
                "--cache-dir",
                str(cache_dir),
                "--order-id",
                ids[-1],
                "--out",
                str(tmp_path / "f.parquet"),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert child.poll() is None, "the child finished: nothing held the cache"
        assert other.returncode == 2, other.stderr
        assert f"in use by another okc-recon run (PID {child.pid})" in other.stderr
        assert not (tmp_path / "f.parquet").exists()
        # this process is refused too, before it asks the API anything
        statuses = sb.stats.by_route["GET /v2/statuses"]  # a pull's first request
        with pytest.raises(StoreError, match="in use by another okc-recon run"):
            pull(sb, ids[-3:], store=store)
        assert child.poll() is None
        assert sb.stats.by_route["GET /v2/statuses"] == statuses

        child.kill()
        child.communicate()
        sb.set_faults(Faults())
        again = pull(sb, ids, store=store)  # the cache is free and whole again
        assert again.ok
        assert again.orders_from_cache > 0
