"""Reconcile benchmark (SPEC §9): 1,000,000 fulfillments against 3,000,000 invoice lines.

Targets: ``reconcile()`` in ≤ 5 s and ≤ 4 GB peak memory on 2 cores, and matching ≥ 5× faster
than the same matching written with pandas, measured in the same run.

The data is synthetic and made with Polars expressions: every shipment billed as
transportation + fuel + residential lines with a proof of delivery, with a sprinkle of each
problem (unbilled shipments, carrier lines OKC never had, duplicate invoices, charge
variances, surcharges, multi-piece packages matched through the lead number, canceled but
billed, late Next Day Air). It is written as Arrow IPC (LZ4); each measured step then runs in
a fresh subprocess that reads it. The peak memory reported is that subprocess's peak resident
set while the step runs, its input frames included: the peak is reset once the inputs are read
(Linux ``/proc/self/clear_refs``), since reading a file has a transient peak of its own, which
is printed too (the process's ``ru_maxrss``).

Three steps, each run ``--repeats`` times; the figures are the run with the best wall time,
with that run's CPU seconds and load average (every run is printed: on a shared machine a
wall time also measures the other tenants, CPU seconds less so). One-time imports are done
before the clock starts and printed apart (the late-delivery check imports the ``holidays``
package, which compiles every country's module where bytecode is not cached).

- ``reconcile``: the whole ``reconcile()`` with default rules (weight unit inferred), the
  5-second and 4-GB figures.
- ``ours``: the matching, done by the engine's own steps — pick one fulfillment per tracking
  key (``classify_fulfillments``), encode the lines (``line_work``), assign every line to its
  shipment by tracking key then alternate key (``match_lines``), total each shipment's charges
  by type, and list both unmatched sides.
- ``pandas``: the same matching as a competent analyst writes it in pandas (pyarrow-backed
  strings; a hash ``merge`` for each key, ``pivot_table`` for the totals). Its inputs are
  the same columns ours start from, handed over as pandas frames (not timed): amounts as
  exact pyarrow decimals, which it turns into integer cents first (timed), as ours does.

The two matchings must agree (shipments, lines matched by each key, unmatched lines, unbilled
shipments, cents by charge type), or the benchmark fails.

    python -m benchmarks reconcile           # or: python benchmarks/bench_reconcile.py
    python benchmarks/bench_reconcile.py --shipments 100000 --repeats 1   # a smaller run
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

import polars as pl

try:  # run as ``python -m benchmarks`` or as a script
    from benchmarks._common import Figure, print_table
except ModuleNotFoundError:  # pragma: no cover - script mode
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks._common import Figure, print_table

SHIPMENTS = 1_000_000
LINES_PER_SHIPMENT = 3
TIME_TARGET_S = 5.0
MEMORY_TARGET_GB = 4.0
RATIO_TARGET = 5.0
REPEATS = 3

_CARRIERS = ["ups", "fedex", "usps", "dhl"]
_SERVICES = ["ups_ground", "fedex_ground", "usps_ground_advantage", "dhl_express_worldwide"]


def make_data(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` fulfillments and about ``3 × n`` invoice lines, all with Polars expressions."""
    from okc_recon.money import MONEY, money_from_cents
    from okc_recon.schema import FULFILLMENT_SCHEMA, INVOICE_LINE_SCHEMA, conform

    i = pl.int_range(0, n, dtype=pl.Int64)
    bucket = pl.col("i") * 7919 % 100
    carrier_index = (
        pl.when(bucket < 80)
        .then(0)
        .when(bucket < 95)
        .then(1)
        .when(bucket < 99)
        .then(2)
        .otherwise(3)
    )
    fulfillments = (
        pl.select(i.alias("i"))
        .with_columns(_c=carrier_index.cast(pl.Int64))
        .with_columns(
            fulfillment_id=pl.format("F{}", pl.col("i")),
            order_id=pl.format("O{}", pl.col("i") // 2),
            status=pl.when(pl.col("i") % 997 == 0)
            .then(pl.lit("Canceled"))
            .otherwise(pl.lit("Shipped")),
            carrier=pl.col("_c").replace_strict(dict(enumerate(_CARRIERS))),
            # 2 % of UPS shipments go Next Day Air (a guaranteed service), the rest ground
            service=pl.when((pl.col("_c") == 0) & (pl.col("i") % 50 == 13))
            .then(pl.lit("ups_next_day_air"))
            .otherwise(pl.col("_c").replace_strict(dict(enumerate(_SERVICES)))),
            tracking_number=pl.format("TRK{}", pl.col("i").cast(pl.Utf8).str.zfill(11)),
            shipping_net_charge=money_from_cents(700 + pl.col("i") * 37 % 2500),
            shipping_charge_model=pl.when(pl.col("i") % 10 == 0)
            .then(pl.lit("flat_rate"))
            .otherwise(pl.lit("cost_plus")),
            weight=1.0 + (pl.col("i") % 40) / 10,
            pickup_date=pl.lit(datetime(2025, 9, 15, 16, tzinfo=UTC))
            + pl.duration(hours=pl.col("i") % (46 * 24)),
            created_at=pl.lit(datetime(2025, 9, 14, 12, tzinfo=UTC))
            + pl.duration(hours=pl.col("i") % (46 * 24)),
        )
        .with_columns(tracking_key=pl.col("tracking_number"))
    )
    # 2 % unbilled: their lines are dropped below; 1 % billed twice on a later invoice.
    ship = fulfillments.select(
        "i",
        "weight",
        "carrier",
        "service",
        "tracking_key",
        cents=(pl.col("shipping_net_charge") * 100).cast(pl.Int64),
        ship_date=pl.col("pickup_date").dt.date(),
    ).filter(pl.col("i") % 50 != 7)
    # Proof of delivery on every line, as UPS and FedEx files give it: next day by 10:00 for
    # Next Day Air (one in ten a day late), three days for the rest.
    express = pl.col("service") == "ups_next_day_air"
    ship = ship.with_columns(
        delivery_date=pl.col("ship_date")
        + pl.duration(
            days=pl.when(express).then(1 + (pl.col("i") % 500 == 13).cast(pl.Int64)).otherwise(3)
        ),
        delivery_time=pl.when(express).then(pl.lit(time_of_day(10, 0))),
    )
    # The transportation line carries the net charge minus fuel and residential, so a clean
    # shipment's lines add up to OKC's charge; 0.5 % are billed 3.00 more.
    fuel = pl.col("cents") // 8
    residential = pl.lit(420)
    transport = (
        pl.col("cents")
        - fuel
        - residential
        + pl.when(pl.col("i") % 200 == 3).then(300).otherwise(0)
    )
    parts = []
    for charge_type, description, amount in (
        ("transportation", "Ground", transport),
        ("fuel", "Fuel Surcharge", fuel),
        ("residential", "Residential Surcharge", residential),
    ):
        parts.append(
            ship.with_columns(
                charge_type=pl.lit(charge_type),
                charge_description=pl.lit(description),
                _cents=amount.cast(pl.Int64),
            )
        )
    lines = pl.concat(parts)
    # Multi-piece: 1 % of shipments' transportation lines are billed on a second package whose
    # own number is unknown to OKC but whose lead (alt) number is the shipment's.
    pieces = lines.filter((pl.col("i") % 100 == 11) & (pl.col("charge_type") == "transportation"))
    pieces = pieces.with_columns(
        alt_tracking_key=pl.col("tracking_key"),
        tracking_key=pl.format("PKG{}", pl.col("i")),
        _cents=pl.lit(650, dtype=pl.Int64),
    )
    # 1 % billed again on a later invoice (duplicate), 0.5 % delivery-area surcharges.
    dupes = lines.filter(pl.col("i") % 100 == 23).with_columns(_dup=pl.lit(True))
    das = ship.filter(pl.col("i") % 200 == 5).with_columns(
        charge_type=pl.lit("delivery_area"),
        charge_description=pl.lit("Delivery Area Surcharge"),
        _cents=pl.lit(395, dtype=pl.Int64),
    )
    # Carrier lines no fulfillment has: 1 % of n.
    strangers = ship.filter(pl.col("i") % 100 == 42).with_columns(
        tracking_key=pl.format("ZZZ{}", pl.col("i")),
        charge_type=pl.lit("transportation"),
        charge_description=pl.lit("Ground"),
        _cents=pl.lit(999, dtype=pl.Int64),
    )
    everything = pl.concat(
        [lines, pieces, dupes, das, strangers], how="diagonal_relaxed"
    ).with_columns(
        pl.col("_dup").fill_null(False),
        week=(pl.col("ship_date") - pl.lit(date(2025, 9, 1))).dt.total_days() // 7,
    )
    invoice_lines = everything.select(
        carrier="carrier",
        account_number=pl.lit("A123"),
        invoice_number=pl.format(
            "INV-{}-{}", pl.col("carrier"), pl.col("week") + pl.col("_dup").cast(pl.Int64)
        ),
        invoice_date=pl.lit(date(2025, 9, 6))
        + pl.duration(days=7 * (pl.col("week") + 1 + pl.col("_dup").cast(pl.Int64))),
        tracking_number="tracking_key",
        tracking_key="tracking_key",
        alt_tracking_key="alt_tracking_key",
        tracking_corrupted=pl.lit(False),
        ship_date="ship_date",
        delivery_date="delivery_date",
        delivery_time="delivery_time",
        service="service",
        charge_category=pl.lit("shipment"),
        charge_type="charge_type",
        charge_description="charge_description",
        amount=money_from_cents(pl.col("_cents")).cast(MONEY),
        currency=pl.lit("USD"),
        billed_weight=pl.col("weight").ceil(),
        entered_weight="weight",
        weight_unit=pl.lit("lb"),
        rated_on_dim=pl.lit(False),
        source_file=pl.format("{}-{}.csv", pl.col("carrier"), pl.col("week")),
        source_line=pl.col("i") + 2,
    )
    return (
        conform(fulfillments, FULFILLMENT_SCHEMA),
        conform(invoice_lines, INVOICE_LINE_SCHEMA),
    )


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Steps:
    """Wall and CPU seconds of named sub-steps (printed, to show where the time goes)."""

    def __init__(self) -> None:
        self.started, self.cpu = time.perf_counter(), _cpu_seconds()
        self.last, self.last_cpu = self.started, self.cpu
        self.steps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), _cpu_seconds()
        self.steps[name] = round(cpu - self.last_cpu, 3)
        self.last, self.last_cpu = now, cpu

    def total(self) -> dict[str, Any]:
        return {
            "seconds": time.perf_counter() - self.started,
            "cpu_seconds": _cpu_seconds() - self.cpu,
            "steps_cpu": self.steps,
        }


def ours_matching(fulfillments: pl.DataFrame, lines: pl.DataFrame) -> dict[str, Any]:
    """The matching, done by the engine's own steps (same scope as :func:`pandas_matching`)."""
    from okc_recon.reconciliation import Rules
    from okc_recon.reconciliation._match import (
        TYPE_CODES,
        Window,
        classify_fulfillments,
        line_work,
        match_lines,
        scatter,
    )

    steps = _Steps()
    window = Window()
    classified = classify_fulfillments(fulfillments, Rules(), window)
    base = (
        classified.filter(pl.col("_reason").is_null())
        .select("tracking_key")
        .rechunk()
        .with_row_index("_sid")
    )
    del classified
    steps.lap("one fulfillment per key")
    work, _ = line_work(lines)
    steps.lap("lines encoded")
    matched = match_lines(lines, work, base, window)
    del work
    steps.lap("lines assigned (key, then alternate key)")
    types = matched.get_column("_type").unique().to_list()
    kind, amount = pl.col("_type"), pl.col("_cents")
    totals = (
        matched.lazy()
        .filter(pl.col("_sid").is_not_null())
        .group_by("_sid")
        .agg(
            carrier_total=amount.sum(),
            **{
                name: pl.when(kind == code).then(amount).otherwise(0).sum()
                for name, code in TYPE_CODES.items()
                if code in types
            },
        )
        .collect(engine="streaming")
    )
    rows = scatter(
        base.height,
        totals.get_column("_sid"),
        pl.int_range(totals.height, dtype=pl.UInt32, eager=True),
    )
    totals = totals[rows]  # laid out by shipment
    steps.lap("charges totalled by type")
    sid = matched.get_column("_sid")
    unmatched_lines = lines.filter(sid.is_null())
    unbilled = base.filter(rows.is_null())
    steps.lap("unmatched both ways")
    via = matched.get_column("_via")
    result = {
        "shipments": base.height,
        "by_key": int((via == 1).sum()),
        "by_alt_key": int((via == 2).sum()),
        "unmatched_lines": unmatched_lines.height,
        "unbilled_shipments": unbilled.height,
        "cents_by_type": {
            name: int(totals.get_column(name).sum())
            for name in sorted(TYPE_CODES)
            if name in totals.columns
        },
        "carrier_total": int(totals.get_column("carrier_total").sum()),
    }
    return {"result": result, **steps.total()}


def pandas_inputs(fulfillments: pl.DataFrame, lines: pl.DataFrame) -> tuple[Any, Any]:
    """The inputs as pandas frames: pyarrow-backed strings, amounts as exact decimals."""
    return (
        fulfillments.select("fulfillment_id", "created_at", "tracking_key").to_pandas(),
        lines.select("tracking_key", "alt_tracking_key", "charge_type", "amount").to_pandas(
            use_pyarrow_extension_array=True
        ),
    )


def pandas_matching(f: Any, lines: Any) -> dict[str, Any]:
    """The same matching as :func:`ours_matching`, written the way an analyst would in pandas."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    steps = _Steps()
    # Exact money as integer cents, through pyarrow (floats would be wrong about money).
    amount = pa.array(lines["amount"]).cast(pa.decimal128(18, 2))
    cents = pc.cast(pc.multiply(amount, pa.scalar(100, pa.int64())), pa.int64())
    lines = lines.drop(columns="amount").assign(cents=pd.Series(cents, dtype="int64[pyarrow]"))
    steps.lap("amounts to cents")
    # One fulfillment per tracking key: the earliest created (then the smallest id) among those
    # sharing one; sorting only those is what a careful analyst does on a million rows.
    keyed = f[f["tracking_key"].notna()]
    shared = keyed["tracking_key"].duplicated(keep=False)
    first = keyed[shared].sort_values(["created_at", "fulfillment_id"])
    shipments = pd.concat([keyed[~shared], first.drop_duplicates("tracking_key")])
    keys = pd.DataFrame(
        {
            "tracking_key": shipments["tracking_key"].to_numpy(),
            "shipment": np.arange(len(shipments)),
        }
    )
    steps.lap("one fulfillment per key")
    matched = lines.merge(keys, on="tracking_key", how="left")
    by_key = int(matched["shipment"].notna().sum())
    retry = (matched["shipment"].isna() & matched["alt_tracking_key"].notna()).to_numpy()
    alternate = matched.loc[retry, ["alt_tracking_key"]].merge(
        keys.rename(columns={"tracking_key": "alt_tracking_key"}),
        on="alt_tracking_key",
        how="left",
    )
    matched.loc[retry, "shipment"] = alternate["shipment"].to_numpy()
    steps.lap("lines assigned (key, then alternate key)")
    billed = matched[matched["shipment"].notna()]
    totals = billed.pivot_table(
        index="shipment", columns="charge_type", values="cents", aggfunc="sum", fill_value=0
    )
    totals["carrier_total"] = totals.sum(axis=1)
    steps.lap("charges totalled by type")
    unmatched_lines = matched[matched["shipment"].isna()]
    unbilled = shipments[~np.isin(np.arange(len(shipments)), totals.index.to_numpy())]
    steps.lap("unmatched both ways")
    result = {
        "shipments": len(shipments),
        "by_key": by_key,
        "by_alt_key": int(matched["shipment"].notna().sum()) - by_key,
        "unmatched_lines": len(unmatched_lines),
        "unbilled_shipments": len(unbilled),
        "cents_by_type": {
            str(name): int(totals[name].sum())
            for name in sorted(totals.columns)
            if name != "carrier_total"
        },
        "carrier_total": int(totals["carrier_total"].sum()),
    }
    return {"result": result, **steps.total()}


class _StepLog(logging.Handler):
    """Collects the engine's DEBUG step timings ("reconcile: <step> in … s, … s CPU")."""

    pattern = re.compile(r"reconcile: (.+) in ([0-9.]+) s, ([0-9.]+) s CPU")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.steps: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        found = self.pattern.match(record.getMessage())
        if found:
            self.steps[found.group(1)] = float(found.group(3))


def _memory(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in GB."""
    import resource

    try:
        for row in Path("/proc/self/status").read_text().splitlines():
            if row.startswith(f"{field}:"):
                return int(row.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def _reset_peak() -> bool:
    """Reset this process's peak resident set to its current one (Linux 4.0+)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _child(step: str, folder: str) -> None:
    """Run one measured step in this (child) process and print its figures as JSON."""
    import resource

    fulfillments = pl.read_ipc(Path(folder) / "fulfillments.arrow")
    lines = pl.read_ipc(Path(folder) / "lines.arrow")
    out: dict[str, Any] = {"input_rss_gb": _memory("VmRSS"), "reset_peak": _reset_peak()}
    if step == "reconcile":
        from okc_recon.reconciliation import Rules, reconcile
        from okc_recon.reconciliation.calendar import carrier_holidays

        # One-time imports are not the data's work; the late-delivery check imports the
        # holidays package (every country module: 0.3-0.6 s of CPU where bytecode is not
        # cached). Timed apart, and printed.
        started, cpu = time.perf_counter(), _cpu_seconds()
        carrier_holidays("ups", [2025])
        out["warm_up_cpu_seconds"] = _cpu_seconds() - cpu
        handler = _StepLog()
        logger = logging.getLogger("okc_recon")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        started, cpu = time.perf_counter(), _cpu_seconds()
        # the default rules: the weight unit is inferred from the data, as a real run does
        recon = reconcile(fulfillments, lines, rules=Rules(), period="2025-10")
        out["seconds"] = time.perf_counter() - started
        out["cpu_seconds"] = _cpu_seconds() - cpu
        out["steps_cpu"] = handler.steps
        out["weight_unit"] = recon.weight_unit
        out["by_code"] = dict(
            recon.issue_summary.filter(pl.col("carrier") == "all")
            .select("issue_code", "exceptions")
            .iter_rows()
        )
    elif step == "ours":
        out.update(ours_matching(fulfillments, lines))
    elif step == "pandas":
        f, ln = pandas_inputs(fulfillments, lines)
        del fulfillments, lines
        out.update(pandas_matching(f, ln))
    else:
        raise SystemExit(f"unknown step {step!r}")
    out["process_peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    out["peak_rss_gb"] = _memory("VmHWM") if out["reset_peak"] else out["process_peak_gb"]
    print(json.dumps(out))


def _load() -> float:
    return os.getloadavg()[0]


def _run(step: str, folder: str, repeats: int) -> list[dict[str, Any]]:
    runs = []
    for attempt in range(1, repeats + 1):
        load = _load()
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", step, folder],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parents[1],
        )
        if done.returncode != 0:
            raise RuntimeError(f"{step} step failed:\n{done.stderr}")
        run: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        run["load"] = max(load, _load())
        print(
            f"  {step} run {attempt}: {run['seconds']:.2f} s wall, {run['cpu_seconds']:.2f} s CPU, "
            f"peak {run['peak_rss_gb']:.2f} GB ({run['input_rss_gb']:.2f} resident with the "
            f"inputs read; {run['process_peak_gb']:.2f} GB counting the read), "
            f"load average {run['load']:.1f}; "
            f"CPU by step {run['steps_cpu']}"
            + (
                f"; imports before timing {run['warm_up_cpu_seconds']:.2f} s CPU"
                if "warm_up_cpu_seconds" in run
                else ""
            ),
            flush=True,
        )
        runs.append(run)
    return runs


def _best(runs: list[dict[str, Any]], key: str) -> float:
    return min(float(run[key]) for run in runs)


def main(shipments: int = SHIPMENTS, repeats: int = REPEATS) -> list[Figure]:
    """Generate, run the three steps in subprocesses, print and return the figures."""
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="okc-bench-reconcile-") as folder:
        started = time.perf_counter()
        fulfillments, lines = make_data(shipments)
        fulfillments.write_ipc(Path(folder) / "fulfillments.arrow", compression="lz4")
        lines.write_ipc(Path(folder) / "lines.arrow", compression="lz4")
        print(
            f"data: {fulfillments.height:,} fulfillments, {lines.height:,} invoice lines "
            f"(made in {time.perf_counter() - started:.1f} s); {cores} cores",
            flush=True,
        )
        del fulfillments, lines
        full = _run("reconcile", folder, repeats)
        print(f"  exceptions by code {full[-1]['by_code']}, weight unit {full[-1]['weight_unit']}")
        ours = _run("ours", folder, repeats)
        theirs = _run("pandas", folder, max(1, repeats - 1))
    for run in ours + theirs:
        if run["result"] != ours[0]["result"]:
            raise RuntimeError(
                f"the matchings disagree:\n ours   {ours[0]['result']}\n pandas {run['result']}"
            )
    print(f"  both matchings: {ours[0]['result']}")

    best = min(full, key=lambda run: float(run["seconds"]))
    seconds, cpu, load = float(best["seconds"]), float(best["cpu_seconds"]), float(best["load"])
    memory = max(float(run["peak_rss_gb"]) for run in full)
    ratio = _best(theirs, "seconds") / _best(ours, "seconds")
    cpu_ratio = _best(theirs, "cpu_seconds") / _best(ours, "cpu_seconds")
    full_size = shipments >= SHIPMENTS
    scale = f"{shipments:,} × {LINES_PER_SHIPMENT}"
    figures = [
        Figure(
            "reconcile",
            f"reconcile() {scale} lines, wall (best of {len(full)})",
            seconds,
            "s",
            f"≤ {TIME_TARGET_S:g} s",
            seconds <= TIME_TARGET_S if full_size else None,
        ),
        Figure("reconcile", "reconcile(), CPU (all threads), same run", cpu, "s"),
        Figure("reconcile", "load average during that run", load, ""),
        Figure(
            "reconcile",
            "peak memory during reconcile() (its process, inputs included)",
            memory,
            "GB",
            f"≤ {MEMORY_TARGET_GB:g} GB",
            memory <= MEMORY_TARGET_GB if full_size else None,
        ),
        Figure("reconcile", "matching, ours (engine steps), wall", _best(ours, "seconds"), "s"),
        Figure("reconcile", "matching, ours, CPU", _best(ours, "cpu_seconds"), "s"),
        Figure("reconcile", "matching, pandas, wall", _best(theirs, "seconds"), "s"),
        Figure("reconcile", "matching, pandas, CPU", _best(theirs, "cpu_seconds"), "s"),
        Figure(
            "reconcile",
            "matching speed-up vs pandas (wall)",
            ratio,
            "×",
            f"≥ {RATIO_TARGET:g}×",
            ratio >= RATIO_TARGET,
        ),
        Figure("reconcile", "matching speed-up vs pandas (CPU)", cpu_ratio, "×"),
    ]
    print_table(figures)
    _explain(figures, full, ours, theirs, cores)
    return figures


def _explain(
    figures: list[Figure],
    full: list[dict[str, Any]],
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    cores: int,
) -> None:
    """Say why a missed target was missed, from this run's own numbers."""
    missed = {f.measure for f in figures if f.met is False}
    if not missed:
        return
    print("\nwhy:")
    if any(m.startswith("reconcile()") for m in missed):
        best = min(full, key=lambda run: float(run["seconds"]))
        print(
            f"- reconcile(): {best['cpu_seconds']:.2f} s of CPU in the best run at load "
            f"{best['load']:.1f} on {cores} cores; by step {best['steps_cpu']}. On a shared "
            "machine (load above the core count) the wall time exceeds the CPU time."
        )
    if any(m.startswith("peak memory") for m in missed):
        worst = max(full, key=lambda run: float(run["peak_rss_gb"]))
        print(
            f"- memory: {worst['input_rss_gb']:.2f} GB of the {worst['peak_rss_gb']:.2f} GB "
            "peak is the process with its inputs read, before reconcile() starts."
        )
    if any(m.startswith("matching speed-up") for m in missed):
        fast = min(ours, key=lambda run: float(run["cpu_seconds"]))["steps_cpu"]
        slow = min(theirs, key=lambda run: float(run["cpu_seconds"]))["steps_cpu"]
        encode = fast.get("lines encoded", 0.0)
        print("- matching, CPU seconds by step, ours and pandas (speed-up = pandas ÷ ours):")
        for step, ours_cpu in fast.items():
            theirs_cpu = slow.get(step)
            ratio = f" = {theirs_cpu / ours_cpu:.1f}×" if theirs_cpu and ours_cpu else ""
            print(f"    {step}: {ours_cpu:.2f} s, pandas {theirs_cpu or 0:.2f} s{ratio}")
        print(
            f"  The floor: pandas turns amounts into cents ({slow.get('amounts to cents', 0.0):.2f}"
            f" s) and nothing else, while the engine encodes every line once ({encode:.2f} s: "
            "key and invoice hashes, charge-type, carrier and service codes, cents, pounds) for "
            "all the later reconcile steps. The assignment is bounded by one hash "
            "join of every line's key hash into the shipments' plus the check of every pair "
            "on its text, against pandas' merge on pyarrow strings, itself a hash join in C; "
            "the totals by type are where pandas is slowest."
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shipments", type=int, default=SHIPMENTS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--child", nargs=2, metavar=("STEP", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
    else:
        main(args.shipments, args.repeats)
