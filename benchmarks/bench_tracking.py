"""Tracking numbers: ``tracking_key`` + ``tracking_format`` on 1,000,000 mixed raw numbers.

Target (brief of issue 3): about a second or less on this machine. Baseline: the same work as
a pure-Python loop (``tracking_key_one`` + ``tracking_format_one``) on a sample of the same
rows in the same run, extrapolated to the full size.

    python -m benchmarks tracking      (or: python benchmarks/bench_tracking.py)
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Figure, print_table
from okc_recon.carriers.tracking import (
    KINDS,
    make_barcode_forms,
    make_tracking_number,
    tracking_format,
    tracking_format_one,
    tracking_key,
    tracking_key_one,
)

ROWS = 1_000_000
DISTINCT = 50_000  # distinct raw values, repeated up to ROWS
BASELINE_SAMPLE = 50_000
REPEATS = 3


def mixed_numbers(n: int, seed: int = 20250101) -> list[str | None]:
    """Raw tracking numbers as files carry them: every kind, some as scanned barcodes, some
    spaced or lower case, a few Excel float artifacts, junk and blanks."""
    rng = random.Random(seed)
    kinds = list(KINDS.items())
    out: list[str | None] = []
    for _ in range(n):
        kind, (carrier, _fmt) = rng.choice(kinds)
        number = make_tracking_number(carrier, rng, kind)
        roll = rng.random()
        if roll < 0.15:
            forms = make_barcode_forms(number)
            out.append(rng.choice(forms) if forms else number)
        elif roll < 0.25:
            out.append(" ".join(number[i : i + 4] for i in range(0, len(number), 4)).lower())
        elif roll < 0.27:
            out.append(f"{int(number) / 1:.4E}" if number.isdigit() else number)
        elif roll < 0.29:
            out.append(rng.choice(["", None, "N/A", "pending", number[:-3]]))
        else:
            out.append(number)
    return out


def _best_of(repeats: int, work: Callable[[], None]) -> tuple[float, float]:
    """The best wall-clock and CPU seconds (all threads) of ``repeats`` runs of ``work``."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        work()
        wall = min(wall, time.perf_counter() - wall_start)
        cpu = min(cpu, time.process_time() - cpu_start)
    return wall, cpu


def main() -> list[Figure]:
    distinct = mixed_numbers(DISTINCT)
    raw = pl.DataFrame({"raw": (distinct * (ROWS // DISTINCT + 1))[:ROWS]}, schema={"raw": pl.Utf8})
    print(f"{raw.height:,} raw tracking numbers ({DISTINCT:,} distinct)", flush=True)

    def vectorised() -> None:
        raw.select(tracking_format(tracking_key(pl.col("raw"))))

    def python_loop() -> None:
        for value in distinct[:BASELINE_SAMPLE]:
            tracking_format_one(tracking_key_one(value))

    polars_seconds, polars_cpu = _best_of(REPEATS, vectorised)
    loop_seconds = _best_of(1, python_loop)[0] * ROWS / BASELINE_SAMPLE
    print(
        f"polars: {polars_seconds:.2f} s wall, {polars_cpu:.2f} s CPU over all threads; "
        f"python loop (extrapolated): {loop_seconds:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return [
        Figure(
            "tracking",
            "key + format, 1M rows",
            polars_seconds,
            "s",
            target="about 1 s or less",
            met=polars_seconds <= 1.2,
        ),
        Figure("tracking", "key + format, 1M rows, CPU", polars_cpu, "s"),
        Figure("tracking", "rows per second", ROWS / polars_seconds, "rows/s"),
        Figure("tracking", "× pure-Python loop", loop_seconds / polars_seconds, "×"),
    ]


if __name__ == "__main__":
    print_table(main())
