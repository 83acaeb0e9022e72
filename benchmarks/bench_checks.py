"""The fulfillment suite on 1,000,000 rows (SPEC §9: ≤ 15 s on 2 cores).

Builds a synthetic fulfillments frame with numpy (valid tracking numbers with their check
digits computed vectorised, carrier tracking URLs, realistic dates, charges and weights) and
plants a small share of every problem the suite looks for, then times
``check_fulfillments`` phase by phase: the Polars derivation, the one pandas conversion, GX,
and building the report. Great Expectations' import (seconds, once per process) is timed
apart, with a warm-up run on a small frame.

Baseline: the same rules evaluated in Polars alone (the failure masks, counted) — what the
checks would cost without GX, so the ratio shows GX's overhead.

    python -m benchmarks checks          # or: python benchmarks/bench_checks.py [rows]
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

import numpy as np
import polars as pl

from benchmarks._common import Figure, peak_rss_bytes, print_table

ROWS = 1_000_000
TARGET_SECONDS = 15.0
AS_OF = datetime(2025, 11, 30, tzinfo=UTC)
BAD_SHARE = 0.002  # per planted problem

_CARRIERS = ("fedex", "ups", "usps", "dhl")
_SHARES = np.array([0.40, 0.35, 0.22, 0.03])
_SERVICES = {
    "fedex": ["fedex_ground", "fedex_home_delivery", "fedex_2day", "fedex_priority_overnight"],
    "ups": ["ups_ground", "ups_2nd_day_air", "ups_next_day_air"],
    "usps": ["usps_ground_advantage", "usps_priority_mail"],
    "dhl": ["dhl_express_worldwide"],
}
_URLS = {
    "fedex": "https://www.fedex.com/fedextrack/?trknbr=",
    "ups": "https://www.ups.com/track?tracknum=",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
    "dhl": "https://www.dhl.com/us-en/home/tracking.html?tracking-id=",
}


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """``values`` (int64) as a (n, width) array of decimal digits, most significant first."""
    out = np.empty((len(values), width), dtype=np.int64)
    rest = values.copy()
    for position in range(width - 1, -1, -1):
        rest, out[:, position] = np.divmod(rest, 10)
    return out


def _text(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(values, dtype=pl.Int64).cast(pl.Utf8).str.zfill(width)


def tracking_numbers(carrier: np.ndarray, serial: np.ndarray) -> pl.Series:
    """A valid, unique tracking number per row (carrier-formats §3): FedEx 12-digit express,
    UPS ``1Z`` with a numeric body, USPS IMpb 22-digit, DHL Express 10-digit. ``carrier``
    holds indexes into :data:`_CARRIERS`; each check digit is computed for its rows only."""
    numbers = pl.Series("tracking_number", [None] * len(serial), dtype=pl.Utf8)
    parts: list[pl.DataFrame] = []
    rows = np.arange(len(serial))
    for code, name in enumerate(_CARRIERS):
        mask = carrier == code
        s = serial[mask]
        if name == "fedex":  # 11 digits, weights 3,1,7 from the left; sum mod 11 mod 10
            body = s % 10**11
            check = (_digits(body, 11) * np.resize([3, 1, 7], 11)).sum(axis=1) % 11 % 10
            text = _text(body, 11) + pl.Series(check).cast(pl.Utf8)
        elif name == "ups":  # 1Z + account 123456 + service 03 + 7-digit package; odd ×2
            body = 12345603 * 10_000_000 + s % 10_000_000
            check = (10 - (_digits(body, 15) * np.resize([1, 2], 15)).sum(axis=1) % 10) % 10
            text = "1Z" + _text(body, 15) + pl.Series(check).cast(pl.Utf8)
        elif name == "usps":  # IMpb 22: 9400111 + 14 digits; even positions ×3
            tail = s % 10**14
            digits = np.concatenate(
                [np.tile([9, 4, 0, 0, 1, 1, 1], (len(s), 1)), _digits(tail, 14)], axis=1
            )
            check = (10 - (digits * np.resize([3, 1], 21)).sum(axis=1) % 10) % 10
            text = "9400111" + _text(tail, 14) + pl.Series(check).cast(pl.Utf8)
        else:  # DHL Express 10: 9-digit serial; check = serial mod 7
            body = 100_000_000 + s % 900_000_000
            text = _text(body, 9) + pl.Series(body % 7).cast(pl.Utf8)
        parts.append(pl.DataFrame({"row": rows[mask], "tracking_number": text}))
    del numbers
    return pl.concat(parts).sort("row")["tracking_number"]


def build_frame(rows: int, seed: int = 2025) -> tuple[pl.DataFrame, dict[str, int]]:
    """A fulfillments frame of ``rows`` rows and how many rows of each problem were planted."""
    from okc_recon.carriers.tracking import tracking_key
    from okc_recon.money import MONEY, money_from_cents
    from okc_recon.schema import FULFILLMENT_SCHEMA, conform

    rng = np.random.default_rng(seed)
    carrier = rng.choice(len(_CARRIERS), size=rows, p=_SHARES)
    pick = rng.random(rows)
    serial = rng.permutation(rows).astype(np.int64) * 7919 + 10_000_019
    day = 86_400
    created = rng.integers(0, 120 * day, rows)
    pickup = created + rng.integers(0, 3 * day, rows)
    delivered = pickup + rng.integers(day, 6 * day, rows)
    weight = np.round(rng.lognormal(0.0, 0.6, rows), 2)
    cents = (
        (np.where(carrier == 3, 2500, 700) + weight * 150 + rng.normal(0, 60, rows))
        .clip(300, None)
        .astype(np.int64)
    )
    start = pl.lit(datetime(2025, 7, 1, tzinfo=UTC))
    services = {name: i for i, name in enumerate(_CARRIERS)}
    frame = pl.DataFrame(
        {
            "row": np.arange(rows, dtype=np.int64),
            "code": carrier,
            "pick": pick,
            "tracking_number": tracking_numbers(carrier, serial),
            "cents": cents,
            "weight": weight,
            "created": created,
            "pickup": pickup,
            "delivered": delivered,
            "status_draw": rng.random(rows),
        }
    )
    carrier_name = pl.col("code").replace_strict(dict(enumerate(_CARRIERS)), return_dtype=pl.Utf8)
    service: pl.Expr = pl.lit(None, dtype=pl.Utf8)
    for name, options in _SERVICES.items():
        chosen = pl.lit(options[0])
        for i, option in enumerate(options[1:], start=1):
            chosen = (
                pl.when(pl.col("pick") * len(options) >= i).then(pl.lit(option)).otherwise(chosen)
            )
        service = pl.when(pl.col("code") == services[name]).then(chosen).otherwise(service)
    frame = frame.select(
        "row",
        "tracking_number",
        "weight",
        fulfillment_id=pl.format("F{}", pl.col("row").cast(pl.Utf8).str.zfill(8)),
        order_id=pl.format("O{}", (pl.col("row") // 2).cast(pl.Utf8).str.zfill(7)),
        status=pl.when(pl.col("status_draw") < 0.8)
        .then(pl.lit("Delivered"))
        .otherwise(pl.lit("In Transit")),
        shipping_carrier=carrier_name.str.to_uppercase(),
        carrier=carrier_name,
        shipping_method=service,
        service=service,
        tracking_url=carrier_name.replace_strict(_URLS) + pl.col("tracking_number"),
        shipping_net_charge=money_from_cents(pl.col("cents")),
        shipping_charge_model=pl.lit("cost_plus"),
        pickup_date=start + pl.duration(seconds=pl.col("pickup")),
        delivery_date=start + pl.duration(seconds=pl.col("delivered")),
        created_at=start + pl.duration(seconds=pl.col("created")),
        updated_at=start + pl.duration(seconds=pl.col("delivered")),
    )
    # plant each problem on its own random rows: problem k on rows whose slot is k
    problems = [
        "missing_tracking",
        "bad_check_digit",
        "float_artifact",
        "duplicate_tracking",
        "wrong_url_host",
        "delivery_before_pickup",
        "future_date",
        "zero_charge",
        "charge_outlier",
        "negative_weight",
        "heavy_weight",
        "unknown_service",
    ]
    per = max(1, int(rows * BAD_SHARE))
    slot = np.full(rows, -1, dtype=np.int64)
    slot[rng.permutation(rows)[: per * len(problems)]] = np.repeat(np.arange(len(problems)), per)
    frame = frame.with_columns(slot=pl.Series(slot))

    def at(name: str) -> pl.Expr:
        return pl.col("slot") == problems.index(name)

    tn = pl.col("tracking_number")
    frame = frame.with_columns(
        tracking_number=pl.when(at("missing_tracking"))
        .then(None)
        .when(at("bad_check_digit"))
        .then(tn.str.slice(0, tn.str.len_chars() - 1) + "X")
        .when(at("float_artifact"))
        .then(pl.lit("7.9464E+11"))
        .when(at("duplicate_tracking"))
        .then(tn.shift(1))
        .otherwise(tn),
        tracking_url=pl.when(at("wrong_url_host"))
        .then(pl.lit("https://track.example.com/p/") + tn)
        .otherwise(pl.col("tracking_url")),
        delivery_date=pl.when(at("delivery_before_pickup"))
        .then(pl.col("pickup_date") - pl.duration(days=3))
        .otherwise(pl.col("delivery_date")),
        updated_at=pl.when(at("future_date"))
        .then(pl.lit(datetime(2031, 1, 1, tzinfo=UTC)))
        .otherwise(pl.col("updated_at")),
        shipping_net_charge=pl.when(at("zero_charge"))
        .then(pl.lit(0).cast(MONEY))
        .when(at("charge_outlier"))
        .then(pl.col("shipping_net_charge") * 20)
        .otherwise(pl.col("shipping_net_charge")),
        weight=pl.when(at("negative_weight"))
        .then(-pl.col("weight"))
        .when(at("heavy_weight"))
        .then(pl.lit(900.0))
        .otherwise(pl.col("weight")),
        service=pl.when(at("unknown_service")).then(None).otherwise(pl.col("service")),
    ).with_columns(tracking_key=tracking_key(pl.col("tracking_number")))
    return conform(frame, FULFILLMENT_SCHEMA), dict.fromkeys(problems, per)


def polars_only(derived: pl.DataFrame) -> int:
    """The suite's rules as Polars masks, counted: the no-GX baseline."""
    from okc_recon.checks import FULFILLMENT_CHECKS, CheckLimits

    limits = CheckLimits()
    masks = []
    for check in FULFILLMENT_CHECKS:
        col = pl.col(check.column)
        kw = check.expectation_kwargs(limits)
        if check.expectation == "ExpectColumnValuesToNotBeNull":
            bad = col.is_null()
        elif check.expectation == "ExpectColumnValuesToBeUnique":
            bad = col.is_duplicated() & col.is_not_null()
        elif check.expectation == "ExpectColumnValuesToBeInSet":
            bad = ~col.is_in(kw["value_set"]) & col.is_not_null()
        else:
            bad = pl.lit(False)
            if "min_value" in kw:
                low = kw["min_value"]
                bad = bad | (col <= low if kw.get("strict_min") else col < low)
            if "max_value" in kw:
                bad = bad | (col > kw["max_value"])
        if check.when:
            bad = bad & pl.col(check.when)
        masks.append(bad.fill_null(False).sum().alias(check.name))
    return int(sum(derived.select(masks).row(0)))


def main(rows: int = ROWS) -> list[Figure]:
    from okc_recon.checks import check_fulfillments

    print(f"building {rows:,} synthetic fulfillments …", flush=True)
    started = time.perf_counter()
    frame, planted = build_frame(rows)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    warm, _ = build_frame(2_000)
    check_fulfillments(warm, as_of=AS_OF, weight_unit="lb")
    warmup = time.perf_counter() - started
    print(f"GX import + context + warm-up run: {warmup:.1f} s (once per process)", flush=True)

    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    report = check_fulfillments(frame, as_of=AS_OF, weight_unit="lb")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    t = report.timings
    found = report.failures.group_by("expectation").len().sort("expectation")

    from okc_recon.checks import CheckLimits
    from okc_recon.checks._derive import derive_fulfillments

    started = time.perf_counter()
    derived = derive_fulfillments(frame, as_of=AS_OF, limits=CheckLimits(), weight_unit="lb")
    baseline_failures = polars_only(derived)
    baseline = time.perf_counter() - started

    print(
        f"planted {sum(planted.values()):,} problems "
        f"({len(planted)} kinds × {rows * BAD_SHARE:,.0f} rows)"
    )
    with pl.Config(tbl_rows=30):
        print(found)
    print(report.describe())
    gx_failures = int(report.expectations["unexpected_count"].sum())
    print(f"failing (row, check) pairs: GX {gx_failures:,}, Polars-only {baseline_failures:,}")
    return [
        Figure(
            "checks",
            f"fulfillment suite, {rows:,} rows",
            seconds,
            "s",
            f"<= {TARGET_SECONDS:.0f} s",
            seconds <= TARGET_SECONDS,
        ),
        Figure("checks", "throughput", rows / seconds, "rows/s"),
        # wall time counts other processes' load on a shared machine; CPU time does not
        # (it sums both cores when Polars runs in parallel)
        Figure("checks", "CPU time of the run", cpu, "s"),
        Figure("checks", f"load average ({os.cpu_count()} cores)", load, ""),
        Figure("checks", "share: Polars derivation", 100 * t["fulfillments.derive"] / seconds, "%"),
        Figure(
            "checks",
            "share: pandas conversion (+ text codes)",
            100 * t["fulfillments.to_pandas"] / seconds,
            "%",
        ),
        Figure("checks", "share: GX validation", 100 * t["fulfillments.gx"] / seconds, "%"),
        Figure("checks", "share: report frames", 100 * t["fulfillments.report"] / seconds, "%"),
        Figure("checks", "GX import + warm-up (once)", warmup, "s"),
        Figure("checks", "baseline: Polars-only rules", baseline, "s"),
        Figure("checks", "ratio vs Polars-only", seconds / baseline, "x"),
        Figure("checks", "peak RSS", peak_rss_bytes() / 2**30, "GiB"),
        Figure(
            "checks",
            "GX and Polars agree",
            float(gx_failures == baseline_failures),
            "",
            "1 = same failures",
            gx_failures == baseline_failures,
        ),
    ]


if __name__ == "__main__":
    print_table(main(int(sys.argv[1]) if len(sys.argv) > 1 else ROWS))
