"""What every benchmark reports: named figures, a baseline ratio, and whether a target is met."""

from __future__ import annotations

import resource
import sys
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure. ``target`` is the SPEC §9 goal in words; ``met`` whether it holds."""

    benchmark: str
    measure: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        value = f"{self.value:,.0f}" if abs(self.value) >= 100 else f"{self.value:,.2f}"
        verdict = "" if self.met is None else ("ok" if self.met else "MISSED")
        return [self.benchmark, self.measure, f"{value} {self.unit}".strip(), self.target, verdict]


def print_table(figures: Iterable[Figure], *, file=sys.stdout) -> None:
    """A plain-text table: benchmark, measure, value, target, verdict."""
    header = ["benchmark", "measure", "value", "target", ""]
    rows = [header, *(f.cells() for f in figures)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for n, row in enumerate(rows):
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        print(line.rstrip(), file=file)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=file)


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
