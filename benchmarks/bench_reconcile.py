"""Reconcile benchmark (SPEC §9): 1,000,000 fulfillments against 3,000,000 invoice lines.

Targets: ``reconcile()`` in ≤ 5 s and ≤ 4 GB peak memory on 2 cores, and ≥ 5× faster than the
same matching written with pandas, measured in the same run.

The data is synthetic and made with Polars expressions in a second: every shipment billed as
transportation + fuel + residential lines, with a sprinkle of each problem (unbilled
shipments, carrier lines OKC never had, duplicate invoices, charge variances, surcharges,
multi-piece packages matched through the lead number, canceled-but-billed). It is written to
Parquet first; each measured step then runs in a fresh subprocess that reads it, so the peak
resident memory reported is that step's own (input frames included), read from the child's
``ru_maxrss``.

"Matching" — the part compared with pandas — is what both libraries do the same way: pick one
fulfillment per tracking key, assign every line to a shipment by tracking key and failing that
by the alternate key, total each shipment's charges by type, derive the variance against OKC's
charge, and list the lines that match nothing.

    python -m benchmarks reconcile           # or: python benchmarks/bench_reconcile.py
    python benchmarks/bench_reconcile.py --shipments 100000   # a smaller run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

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
            service=pl.col("_c").replace_strict(dict(enumerate(_SERVICES))),
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


def polars_matching(fulfillments: pl.DataFrame, lines: pl.DataFrame) -> dict[str, int]:
    """The matching core in Polars (the same steps as :func:`pandas_matching`)."""
    shipments = (
        fulfillments.lazy()
        .filter(pl.col("tracking_key").is_not_null())
        .sort("created_at", "fulfillment_id")
        .unique("tracking_key", keep="first", maintain_order=True)
        .with_row_index("sid")
        .select("sid", "tracking_key", okc=(pl.col("shipping_net_charge") * 100).cast(pl.Int64))
    )
    matched = (
        lines.lazy()
        .select("tracking_key", "alt_tracking_key", "charge_type", "amount")
        .join(shipments.select("tracking_key", sid1="sid"), on="tracking_key", how="left")
        .with_columns(alt_tracking_key=pl.when(pl.col("sid1").is_null()).then("alt_tracking_key"))
        .join(
            shipments.select(alt_tracking_key="tracking_key", sid2="sid"),
            on="alt_tracking_key",
            how="left",
        )
        .select(
            sid=pl.coalesce("sid1", "sid2"),
            charge_type="charge_type",
            cents=(pl.col("amount") * 100).cast(pl.Int64),
        )
        .collect()
    )
    types = sorted(matched.get_column("charge_type").drop_nulls().unique())
    totals = (
        matched.lazy()
        .filter(pl.col("sid").is_not_null())
        .group_by("sid")
        .agg(
            *(
                pl.when(pl.col("charge_type") == t).then("cents").otherwise(0).sum().alias(t)
                for t in types
            )
        )
    )
    result = (
        shipments.join(totals, on="sid", how="left")
        .with_columns(pl.col(types).fill_null(0))
        .with_columns(carrier_total=pl.sum_horizontal(types))
        .with_columns(variance=pl.col("carrier_total") - pl.col("okc"))
        .collect()
    )
    return {
        "shipments": result.height,
        "unmatched": matched.get_column("sid").null_count(),
        "variance_cents": int(result["variance"].sum()),
    }


def pandas_matching(fulfillments: pl.DataFrame, lines: pl.DataFrame) -> dict[str, int]:
    """The matching core written with pandas, step for step like :func:`polars_matching`."""

    f = fulfillments.select(
        "tracking_key",
        "created_at",
        "fulfillment_id",
        okc=(pl.col("shipping_net_charge") * 100).cast(pl.Int64),
    ).to_pandas()
    ln = lines.select(
        "tracking_key",
        "alt_tracking_key",
        "charge_type",
        cents=(pl.col("amount") * 100).cast(pl.Int64),
    ).to_pandas()
    started, started_cpu = time.perf_counter(), _cpu_seconds()
    shipments = (
        f[f["tracking_key"].notna()]
        .sort_values(["created_at", "fulfillment_id"])
        .drop_duplicates("tracking_key", keep="first")[["tracking_key", "okc"]]
    )
    keys = shipments[["tracking_key"]].assign(_hit=True)
    matched = ln.merge(keys, on="tracking_key", how="left")
    hit1 = matched["_hit"].eq(True)
    matched["alt_tracking_key"] = matched["alt_tracking_key"].where(~hit1)
    matched = matched.merge(
        keys.rename(columns={"tracking_key": "alt_tracking_key", "_hit": "_hit2"}),
        on="alt_tracking_key",
        how="left",
    )
    hit2 = matched["_hit2"].eq(True)
    matched["shipment_key"] = matched["tracking_key"].where(
        hit1, matched["alt_tracking_key"].where(hit2)
    )
    assigned = matched[matched["shipment_key"].notna()]
    totals = assigned.pivot_table(
        index="shipment_key", columns="charge_type", values="cents", aggfunc="sum", fill_value=0
    )
    result = shipments.merge(totals, left_on="tracking_key", right_index=True, how="left")
    types = list(totals.columns)
    result[types] = result[types].fillna(0)
    result["carrier_total"] = result[types].sum(axis=1)
    result["variance"] = result["carrier_total"] - result["okc"]
    unmatched = int(matched["shipment_key"].isna().sum())
    pandas_matching.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    pandas_matching.cpu_seconds = _cpu_seconds() - started_cpu  # type: ignore[attr-defined]
    return {
        "shipments": len(result),
        "unmatched": unmatched,
        "variance_cents": int(result["variance"].sum()),
    }


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(step: str, folder: str) -> None:
    """Run one measured step in this (child) process and print its figures as JSON.

    Wall seconds are what the targets name; CPU seconds (user + system, every thread) are
    printed too, since on a shared machine the wall time also measures the other tenants.
    """
    import resource

    from okc_recon.reconciliation import Rules, reconcile

    fulfillments = pl.read_parquet(Path(folder) / "fulfillments.parquet")
    lines = pl.read_parquet(Path(folder) / "lines.parquet")
    out: dict[str, object] = {}
    cpu = _cpu_seconds()
    if step == "reconcile":
        started = time.perf_counter()
        # the default rules: the weight unit is inferred from the data, as a real run does
        recon = reconcile(fulfillments, lines, rules=Rules(), period="2025-10")
        out["seconds"] = time.perf_counter() - started
        out["weight_unit"] = recon.weight_unit
        out["shipments"] = recon.shipments.height
        out["exceptions"] = recon.exceptions.height
        out["by_code"] = dict(
            recon.issue_summary.filter(pl.col("carrier") == "all")
            .select("issue_code", "exceptions")
            .iter_rows()
        )
    elif step == "polars":
        started = time.perf_counter()
        out["result"] = polars_matching(fulfillments, lines)
        out["seconds"] = time.perf_counter() - started
    out["cpu_seconds"] = _cpu_seconds() - cpu
    if step == "pandas":  # only its matching is timed, not the conversion to pandas
        out["result"] = pandas_matching(fulfillments, lines)
        out["seconds"] = pandas_matching.seconds  # type: ignore[attr-defined]
        out["cpu_seconds"] = pandas_matching.cpu_seconds  # type: ignore[attr-defined]
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    print(json.dumps(out))


def _run(step: str, folder: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", step, folder],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        raise RuntimeError(f"{step} step failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(shipments: int = SHIPMENTS) -> list[Figure]:
    """Generate, run the three steps in subprocesses, print and return the figures."""
    with tempfile.TemporaryDirectory(prefix="okc-bench-reconcile-") as folder:
        started = time.perf_counter()
        fulfillments, lines = make_data(shipments)
        fulfillments.write_parquet(Path(folder) / "fulfillments.parquet")
        lines.write_parquet(Path(folder) / "lines.parquet")
        print(
            f"data: {fulfillments.height:,} fulfillments, {lines.height:,} invoice lines "
            f"(made in {time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        del fulfillments, lines
        full = _run("reconcile", folder)
        print(
            f"reconcile: {full['seconds']:.2f} s, weight unit {full['weight_unit']}, "
            f"exceptions by code {full['by_code']}"
        )
        fast = _run("polars", folder)
        slow = _run("pandas", folder)
        if fast["result"] != slow["result"]:
            raise RuntimeError(f"polars and pandas disagree: {fast['result']} {slow['result']}")

    def number(result: dict[str, object], key: str) -> float:
        return float(result[key])  # type: ignore[arg-type]

    seconds, memory = number(full, "seconds"), number(full, "peak_rss_gb")
    ratio = number(slow, "seconds") / number(fast, "seconds")
    full_size = shipments >= SHIPMENTS
    scale = f"{shipments:,} × {LINES_PER_SHIPMENT}"
    figures = [
        Figure(
            "reconcile",
            f"reconcile() {scale} lines, wall",
            seconds,
            "s",
            f"≤ {TIME_TARGET_S:g} s",
            seconds <= TIME_TARGET_S if full_size else None,
        ),
        Figure("reconcile", "reconcile(), CPU (all threads)", number(full, "cpu_seconds"), "s"),
        Figure(
            "reconcile",
            "peak memory (reconcile subprocess)",
            memory,
            "GB",
            f"≤ {MEMORY_TARGET_GB:g} GB",
            memory <= MEMORY_TARGET_GB if full_size else None,
        ),
        Figure("reconcile", "matching, polars, wall", number(fast, "seconds"), "s"),
        Figure("reconcile", "matching, pandas, wall", number(slow, "seconds"), "s"),
        Figure(
            "reconcile",
            "matching speed-up vs pandas (wall)",
            ratio,
            "×",
            f"≥ {RATIO_TARGET:g}×",
            ratio >= RATIO_TARGET,
        ),
        Figure(
            "reconcile",
            "matching CPU, pandas ÷ polars",
            number(slow, "cpu_seconds") / number(fast, "cpu_seconds"),
            "×",
        ),
    ]
    print_table(figures)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=SHIPMENTS)
    parser.add_argument("--child", nargs=2, metavar=("STEP", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
    else:
        main(args.shipments)
