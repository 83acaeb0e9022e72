"""Per-order pull against the sandbox with injected latency (SPEC §9, issue 2 item 8).

With ``concurrency`` requests in flight and ``latency`` seconds per request, no client can
beat ``concurrency / latency`` requests per second: the *limit*. The pull should reach
≥ 80 % of it, and be ≥ 10× a sequential one-request-at-a-time loop measured in the same run
(on a sample of orders, extrapolated to all of them).

    python -m benchmarks pull          # or: python -m benchmarks.bench_pull [orders]
"""

from __future__ import annotations

import sys
import time

from benchmarks._common import Figure, print_table
from okc_recon.api import OKCClient, pull_fulfillments
from okc_recon.config import Secret, Settings
from okc_recon.sandbox import Faults, Sandbox

ORDERS = 2000
LATENCY = 0.05
CONCURRENCY = 16
SEQUENTIAL_SAMPLE = 60


def main(orders: int = ORDERS) -> list[Figure]:
    with Sandbox(seed=2025, faults=Faults(latency=LATENCY), port=0) as sb:
        order_ids = [str(o["id"]) for o in sb.world.orders][:orders]
        if len(order_ids) < orders:
            raise SystemExit(f"the sandbox world has only {len(order_ids)} orders")
        settings = Settings(
            base_url=sb.base_url,
            access_token=Secret(sb.access_token),
            concurrency=CONCURRENCY,
            page_size=250,
        )
        wanted = set(order_ids)
        expected = sum(1 for f in sb.world.fulfillments if f.get("order_id") in wanted)

        # the sequential baseline: the same client, one request at a time, on a sample
        sample = order_ids[:SEQUENTIAL_SAMPLE]
        with OKCClient(settings) as okc:
            okc.statuses()  # connect and warm up outside the timing
            started = time.perf_counter()
            for order_id in sample:
                okc.order_fulfillments(order_id)
            sequential_s = time.perf_counter() - started
        sequential_rps = len(sample) / sequential_s
        sequential_all_s = orders / sequential_rps

        started = time.perf_counter()
        result = pull_fulfillments(
            order_ids, settings=settings, concurrency=CONCURRENCY, progress=False
        )
        elapsed = time.perf_counter() - started

    result.raise_for_failures()
    got = result.fulfillments.height + result.rejected.height
    if got != expected:
        raise SystemExit(f"pull returned {got} records, the sandbox has {expected}")
    rps = result.requests / elapsed
    limit = CONCURRENCY / LATENCY
    share = rps / limit
    speedup = sequential_all_s / elapsed
    print(
        f"{orders:,} orders, {result.requests:,} requests, {got:,} records in {elapsed:.2f} s; "
        f"limit {limit:.0f} req/s ({CONCURRENCY} in flight × {LATENCY * 1000:.0f} ms); "
        f"sequential: {sequential_rps:.1f} req/s on {len(sample)} orders "
        f"→ {sequential_all_s:.1f} s extrapolated"
    )
    return [
        Figure("pull", "requests per second", rps, "req/s"),
        Figure(
            "pull", "share of concurrency × latency limit", 100 * share, "%", "≥ 80 %", share >= 0.8
        ),
        Figure("pull", "speed-up vs sequential loop", speedup, "×", "≥ 10×", speedup >= 10),
    ]


if __name__ == "__main__":
    print_table(main(int(sys.argv[1]) if len(sys.argv) > 1 else ORDERS))
