"""Run every ``benchmarks/bench_*.py`` and print one table of figures and ratios.

Each benchmark module has ``main() -> list[Figure]`` (it prints its own details as it goes).
``python -m benchmarks [name ...]`` runs all of them, or those named (``pull``, ``reconcile`` …).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from benchmarks._common import Figure, print_table


def main(argv: list[str]) -> int:
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    if argv:
        names = [n for n in names if n.removeprefix("bench_") in argv or n in argv]
    figures: list[Figure] = []
    failed: list[str] = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            figures.extend(importlib.import_module(f"benchmarks.{name}").main())
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    print("\n=== all benchmarks ===")
    print_table(figures)
    missed = [f for f in figures if f.met is False]
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(failed)}")
    if missed:
        print(f"\ntargets missed: {len(missed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
