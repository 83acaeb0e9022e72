"""Per-order pull against the sandbox with injected latency (SPEC §9, issue 2 item 8).

With ``concurrency`` requests in flight and ``latency`` seconds per request, no client can
beat ``concurrency / latency`` requests per second: the *limit*. The pull should reach
≥ 80 % of it, and be ≥ 10× a sequential one-request-at-a-time loop measured in the same run
(on a sample of orders, extrapolated to all of them).

The sandbox runs in its own process, as the real API would: in-process, its handler threads
and the client would share one interpreter lock, and the benchmark would measure that
contention instead of the client. The figures include the CPU time per request of the
client and of the sandbox, and the machine's load average, because on a busy 2-core machine
every request costs more time than on an idle one: measure when ``uptime`` shows a load
below 1.5.

Where the client's time goes (cProfile of the 2,000-order pull): almost all of it in httpx,
httpcore and AnyIO, little in okc_recon. Two costs were ours to remove: the pool's
idle-connection check went through AnyIO attribute lookups (``okc_recon.api._transport``
answers it from the socket), and httpx parsed base URL, path and params apart and merged
them (the client now builds one URL); together 2.2 → 1.6 ms of client CPU per request. What
remains largest is httpcore's pool bookkeeping, which scans every connection, quadratically,
twice per request (httpcore's code; replacing that private method measured only ~5 %).

    python -m benchmarks pull          # or: python -m benchmarks.bench_pull [orders]
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from multiprocessing.connection import Connection

from benchmarks._common import Figure, print_table

ORDERS = 2000
LATENCY = 0.05
CONCURRENCY = 16
SEQUENTIAL_SAMPLE = 60


def _serve(conn: Connection, orders: int) -> None:
    """Child process: run the sandbox until the parent says stop."""
    from okc_recon.sandbox import Faults, Sandbox

    with Sandbox(seed=2025, faults=Faults(latency=LATENCY), port=0) as sb:
        order_ids = [str(o["id"]) for o in sb.world.orders][:orders]
        wanted = set(order_ids)
        records = [f for f in sb.world.fulfillments if f.get("order_id") in wanted]
        expected = (len(records), sorted(str(f["id"]) for f in records if f.get("id")))
        conn.send((sb.base_url, sb.access_token, order_ids, expected))
        while conn.recv() == "cpu":  # the parent reads the server's CPU time around its pull
            conn.send(time.process_time())


def main(orders: int = ORDERS) -> list[Figure]:
    from okc_recon.api import OKCClient, pull_fulfillments
    from okc_recon.config import Secret, Settings

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(child, orders), daemon=True)
    server.start()
    try:
        base_url, token, order_ids, expected = parent.recv()
        if len(order_ids) < orders:
            raise SystemExit(f"the sandbox world has only {len(order_ids)} orders")
        settings = Settings(
            base_url=base_url,
            access_token=Secret(token),
            concurrency=CONCURRENCY,
            page_size=250,
        )
        load = os.getloadavg()[0]

        # the sequential baseline: the same client, one request at a time, on a sample
        sample = order_ids[:SEQUENTIAL_SAMPLE]
        with OKCClient(settings) as okc:
            okc.statuses()  # connect outside the timing
            started = time.perf_counter()
            for order_id in sample:
                okc.order_fulfillments(order_id)
            sequential_s = time.perf_counter() - started
        sequential_rps = len(sample) / sequential_s
        sequential_all_s = orders / sequential_rps

        parent.send("cpu")
        server_cpu = parent.recv()
        started, cpu = time.perf_counter(), time.process_time()
        result = pull_fulfillments(
            order_ids, settings=settings, concurrency=CONCURRENCY, progress=False
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        parent.send("cpu")
        server_cpu = parent.recv() - server_cpu
    finally:
        parent.send("stop")
        server.join(10)

    result.raise_for_failures()
    count = result.fulfillments.height + result.rejected.height
    ids = sorted(
        i
        for i in [*result.fulfillments["fulfillment_id"], *result.rejected["fulfillment_id"]]
        if i is not None
    )
    if (count, ids) != expected:
        raise SystemExit(f"pull returned {count} records, the sandbox has {expected[0]}")
    rps = result.requests / elapsed
    limit = CONCURRENCY / LATENCY
    share = rps / limit
    speedup = sequential_all_s / elapsed
    print(
        f"{orders:,} orders, {result.requests:,} requests, {count:,} records in "
        f"{elapsed:.2f} s (CPU per request: client {1000 * cpu / result.requests:.2f} ms, "
        f"sandbox {1000 * server_cpu / result.requests:.2f} ms; "
        f"load average {load:.1f} on {os.cpu_count()} cores); limit {limit:.0f} req/s "
        f"({CONCURRENCY} in flight × {LATENCY * 1000:.0f} ms); sequential: "
        f"{sequential_rps:.1f} req/s on {len(sample)} orders → {sequential_all_s:.1f} s "
        "extrapolated"
    )
    return [
        Figure("pull", "requests per second", rps, "req/s"),
        Figure("pull", "baseline: sequential loop", sequential_rps, "req/s"),
        Figure("pull", "client CPU per request", 1000 * cpu / result.requests, "ms"),
        Figure("pull", "sandbox CPU per request", 1000 * server_cpu / result.requests, "ms"),
        Figure("pull", "load average at start", load, f"on {os.cpu_count()} cores"),
        Figure(
            "pull", "share of concurrency × latency limit", 100 * share, "%", "≥ 80 %", share >= 0.8
        ),
        Figure("pull", "speed-up vs sequential loop", speedup, "×", "≥ 10×", speedup >= 10),
    ]


if __name__ == "__main__":
    print_table(main(int(sys.argv[1]) if len(sys.argv) > 1 else ORDERS))
