"""Excel workbook: a 100,000-shipment month (≈300,000 invoice lines) in ≤ 15 s (SPEC §9).

Baseline, in the same run: ``polars.DataFrame.write_excel`` of the same data frames (one sheet
each) when xlsxwriter is installed; otherwise a plain openpyxl write-only dump of the same
frames (``ws.append`` row by row). Both baselines are slow, so by default they run on a tenth
of the month and are scaled linearly (the output says so); ``--full-baseline`` runs them whole.

    python -m benchmarks excel            # or: python benchmarks/bench_excel.py [--shipments N]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import Figure, print_table
from okc_recon.excel import write_workbook
from okc_recon.runinfo import RunInfo
from tests.excel.month import Month, synthetic_month

TARGET_SECONDS = 15.0


def _frames(month: Month) -> dict[str, pl.DataFrame]:
    return {
        "Exceptions": month.exceptions,
        "Shipments": month.shipments,
        "Invoice lines": month.invoice_lines,
        "Unmatched": month.unmatched,
    }


def _baseline(month: Month, path: Path) -> tuple[str, float]:
    """Seconds to write the month's frames with the baseline writer, and its name."""
    frames = _frames(month)
    started = time.perf_counter()
    if importlib.util.find_spec("xlsxwriter") is not None:
        import xlsxwriter

        with xlsxwriter.Workbook(path) as wb:
            for name, frame in frames.items():
                frame.write_excel(wb, worksheet=name)
        return "polars write_excel (xlsxwriter)", time.perf_counter() - started
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, frame in frames.items():
        ws = wb.create_sheet(name)
        ws.append(frame.columns)
        for row in frame.iter_rows():  # the baseline is the naive row loop, on purpose
            ws.append(row)
    wb.save(path)
    return "openpyxl write-only ws.append (xlsxwriter not installed)", time.perf_counter() - started


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="bench_excel")
    parser.add_argument("--shipments", type=int, default=100_000)
    parser.add_argument("--full-baseline", action="store_true")
    args = parser.parse_args([] if argv is None else argv)

    started = time.perf_counter()
    month = synthetic_month(args.shipments)
    built = time.perf_counter() - started
    cells = sum(f.height * f.width for f in _frames(month).values())
    print(
        f"month: {month.shipments.height:,} shipments, {month.invoice_lines.height:,} invoice "
        f"lines, {month.exceptions.height:,} exceptions, {cells:,} data cells "
        f"(built in {built:.1f} s)",
        flush=True,
    )
    info = RunInfo.create(period=month.period, as_of=month.as_of, weight="lb")
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "month.xlsx"
        load = os.getloadavg()[0]
        started, cpu_started = time.perf_counter(), time.process_time()
        write_workbook(month, book, run_info=info)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        size = book.stat().st_size
        print(
            f"write_workbook: {seconds:.2f} s wall, {cpu:.2f} s CPU (all threads), "
            f"{size / 1e6:.1f} MB; load average before: {load:.1f} on {os.cpu_count()} cores",
            flush=True,
        )

        fraction = 1.0 if args.full_baseline else 0.1
        sample = month if fraction == 1.0 else synthetic_month(int(args.shipments * fraction))
        name, base = _baseline(sample, Path(tmp) / "baseline.xlsx")
        scaled = base / fraction
        how = (
            ""
            if fraction == 1.0
            else f" on {fraction:.0%} of the month, scaled ×{1 / fraction:.0f}"
        )
        print(f"baseline {name}: {base:.2f} s{how} -> {scaled:.1f} s", flush=True)

    figures = [
        Figure(
            "excel",
            f"write_workbook, {args.shipments:,} shipments",
            seconds,
            "s",
            f"≤ {TARGET_SECONDS:.0f} s",
            seconds <= TARGET_SECONDS,
        ),
        Figure("excel", "write_workbook CPU time (all threads)", cpu, "s"),
        Figure("excel", "workbook size", size / 1e6, "MB"),
        Figure("excel", f"baseline: {name}", scaled, "s"),
        Figure("excel", "speed-up vs baseline", scaled / seconds, "×"),
    ]
    print_table(figures)
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
