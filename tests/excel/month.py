"""A synthetic reconciliation month with the frames and columns of docs/reconciliation.md.

Built with vectorised Polars/NumPy so the benchmark can make a 100,000-shipment month in a
second. Until ``okc_recon.reconciliation`` lands the workbook tests run on these frames; the
summary here is computed independently of the workbook code, from the documented definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from okc_recon.money import MONEY, money_from_cents
from okc_recon.schema import CHARGE_TYPES, INVOICE_LINE_SCHEMA, conform

CARRIER_CHOICES = ("fedex", "ups", "usps", "dhl")
ISSUES = (
    ("CHARGE_VARIANCE", "medium", True),
    ("DUPLICATE_BILLING", "high", True),
    ("SURCHARGE", "low", False),
    ("ADDRESS_CORRECTION", "medium", False),
    ("LATE_DELIVERY", "high", True),
    ("ADJUSTMENT", "low", False),
)


@dataclass(frozen=True)
class Month:
    """Stands in for ``okc_recon.reconciliation.Reconciliation`` (same attribute names)."""

    shipments: pl.DataFrame
    exceptions: pl.DataFrame
    invoice_lines: pl.DataFrame
    unmatched: pl.DataFrame
    cannot_reconcile: pl.DataFrame
    summary: pl.DataFrame
    issue_summary: pl.DataFrame
    period: str | None = "2024-01"
    as_of: date = date(2024, 3, 16)
    weight_unit: str | None = "lb"
    weight_unit_source: str = "set by the user"


def _money(cents: np.ndarray | pl.Series) -> pl.Series:
    """Exact money from integer cents."""
    return pl.select(money_from_cents(pl.lit(pl.Series(cents).cast(pl.Int64)))).to_series()


def _tracking(carrier: pl.Series, seq: pl.Series) -> pl.Series:
    frame = pl.DataFrame({"carrier": carrier, "seq": seq})
    return frame.select(
        pl.when(pl.col("carrier") == "ups")
        .then(pl.format("1Z999AA1{}", pl.col("seq").cast(pl.Utf8).str.zfill(10)))
        .when(pl.col("carrier") == "usps")
        .then(pl.format("9400{}", pl.col("seq").cast(pl.Utf8).str.zfill(18)))
        .when(pl.col("carrier") == "dhl")
        .then(pl.col("seq").cast(pl.Utf8).str.zfill(10))
        # FedEx: 12 digits, leading zeros on purpose (they must survive as text)
        .otherwise(pl.col("seq").cast(pl.Utf8).str.zfill(12))
    ).to_series()


def synthetic_month(n: int, *, lines_per_shipment: int = 3, seed: int = 0) -> Month:
    """``n`` shipments, ``n × lines_per_shipment`` invoice lines, a tenth of them with issues."""
    rng = np.random.default_rng(seed)
    carrier = pl.Series("carrier", np.array(CARRIER_CHOICES)[rng.integers(0, 4, n)])
    seq = pl.Series(np.arange(1, n + 1) * 7 + 3)
    tracking = _tracking(carrier, seq)
    okc_cents = rng.integers(500, 5_000, n)
    ship_day = rng.integers(0, 31, n)
    period = np.where(rng.random(n) < 0.05, "prior", "current")
    base = pl.DataFrame(
        {
            "tracking_key": tracking,
            "carrier": carrier,
            "okc_cents": okc_cents,
            "day": ship_day,
            "period": period,
        }
    ).with_columns(
        ship_date=pl.date(2024, 1, 1)
        + pl.duration(days=pl.col("day"))
        - pl.when(pl.col("period") == "prior")
        .then(pl.duration(days=31))
        .otherwise(pl.duration(days=0)),
        fulfillment_id=pl.format("f_{}", pl.int_range(pl.len()).cast(pl.Utf8).str.zfill(7)),
        order_id=pl.format("00{}", (pl.int_range(pl.len()) // 2 + 100).cast(pl.Utf8)),
    )

    # Invoice lines: transportation, fuel, and a third line per shipment.
    k = lines_per_shipment
    lines = base.select(
        "tracking_key", "carrier", "okc_cents", "ship_date", "fulfillment_id", "period"
    ).select(pl.all().repeat_by(k).explode())
    m = lines.height
    types = np.array(["transportation", "fuel", "residential", "delivery_area", "adjustment"])
    which = np.tile(np.arange(k), n)
    charge_type = np.where(
        which == 0, "transportation", np.where(which == 1, "fuel", types[2 + rng.integers(0, 3, m)])
    )
    line_cents = np.where(
        which == 0,
        lines["okc_cents"].to_numpy() + rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 150, -90], m),
        rng.integers(20, 400, m),
    )
    invoice_no = pl.Series(np.array(["0012345", "0012346", "0012350"])[rng.integers(0, 3, m)])
    lines = lines.with_columns(
        account_number=pl.lit("000A12345"),
        invoice_number=invoice_no,
        invoice_date=pl.date(2024, 2, 5),
        tracking_number=pl.col("tracking_key"),
        alt_tracking_key=pl.lit(None, pl.Utf8),
        tracking_corrupted=pl.lit(False),
        delivery_date=pl.col("ship_date") + pl.duration(days=3),
        service=pl.format("{}_ground", pl.col("carrier")),
        service_description=pl.lit("Ground"),
        charge_category=pl.lit("shipment"),
        charge_type=pl.Series(charge_type),
        charge_code=pl.lit(None, pl.Utf8),
        charge_description=pl.Series(charge_type).str.to_titlecase(),
        amount=_money(line_cents),
        currency=pl.lit("USD"),
        billed_weight=pl.Series(rng.integers(1, 30, m)).cast(pl.Float64),
        entered_weight=pl.Series(rng.integers(1, 30, m) / 2),
        weight_unit=pl.lit("lb"),
        rated_on_dim=pl.lit(False),
        source_file=pl.format("{}_2024-02.csv", pl.col("carrier")),
        source_line=pl.int_range(2, m + 2),
    )
    invoice_lines = conform(lines, INVOICE_LINE_SCHEMA).with_columns(
        shipment_key=lines["tracking_key"],
        match_via=pl.lit("tracking_key"),
        assigned=pl.lit("shipment"),
        duplicate=pl.lit(False),
        period=lines["period"],
    )

    per_type = invoice_lines.group_by("tracking_key").agg(
        *(
            pl.col("amount").filter(pl.col("charge_type") == t).sum().alias(f"charge_{t}")
            for t in CHARGE_TYPES
        ),
        carrier_total=pl.col("amount").sum(),
        line_count=pl.len().cast(pl.Int64),
        invoice_count=pl.col("invoice_number").n_unique().cast(pl.Int64),
        invoice_numbers=pl.col("invoice_number").unique().sort().str.join(", "),
    )
    shipments = (
        base.join(per_type, on="tracking_key", how="left", maintain_order="left")
        .with_columns(
            tracking_number=pl.col("tracking_key"),
            carrier_billed=pl.col("carrier"),
            service=pl.format("{}_ground", pl.col("carrier")),
            service_billed=pl.format("{}_ground", pl.col("carrier")),
            status=pl.lit("shipped"),
            delivery_date=pl.col("ship_date") + pl.duration(days=3),
            okc_charge=_money(base["okc_cents"]),
            okc_weight_lb=pl.Series(rng.integers(1, 40, n) / 4),
            entered_weight_lb=pl.lit(None, pl.Float64),
            billed_weight_lb=pl.Series(rng.integers(1, 30, n)).cast(pl.Float64),
            rated_on_dim=pl.lit(False),
            match_via=pl.lit("tracking_key"),
        )
        .with_columns(expected_charge=pl.col("okc_charge"))
        .with_columns(variance=pl.col("carrier_total") - pl.col("expected_charge"))
        .with_columns(unexplained_variance=pl.col("variance"))
    )

    # Exceptions: about a tenth of the shipments, one or two issues each.
    pick = rng.random(n) < 0.1
    chosen = shipments.filter(pl.Series(pick))
    issue_idx = rng.integers(0, len(ISSUES), chosen.height)
    exceptions = (
        chosen.select(
            "tracking_number",
            "tracking_key",
            "carrier",
            "order_id",
            "fulfillment_id",
            "period",
            "ship_date",
            "delivery_date",
            service=pl.col("service"),
        )
        .with_columns(
            issue_code=pl.Series(np.array([i[0] for i in ISSUES])[issue_idx]),
            severity=pl.Series(np.array([i[1] for i in ISSUES])[issue_idx]),
            amount_at_stake=_money(rng.integers(-500, 4_000, chosen.height)),
            invoice_number=pl.lit("0012345"),
            invoice_date=pl.date(2024, 2, 5),
            account_number=pl.lit("000A12345"),
            expected_delivery=pl.col("ship_date") + pl.duration(days=2),
            claim_deadline=pl.date(2024, 3, 1),
            days_left_to_file=pl.lit(14, pl.Int64),
            detail=pl.format("planted {} for {}", pl.lit("issue"), pl.col("tracking_key")),
        )
        .with_columns(
            refund_candidate=pl.Series(np.array([i[2] for i in ISSUES])[issue_idx])
            & (pl.col("amount_at_stake") > 0),
        )
    )
    exceptions = exceptions.select(
        "tracking_number",
        "tracking_key",
        "carrier",
        "issue_code",
        "severity",
        "amount_at_stake",
        "refund_candidate",
        "order_id",
        "fulfillment_id",
        "invoice_number",
        "invoice_date",
        "account_number",
        "service",
        "ship_date",
        "expected_delivery",
        "delivery_date",
        "claim_deadline",
        "days_left_to_file",
        "period",
        "detail",
    ).sort("amount_at_stake", descending=True, maintain_order=True)
    issues = exceptions.group_by("tracking_key").agg(
        issues=pl.col("issue_code").str.join(", "), amount_at_stake=pl.col("amount_at_stake").sum()
    )
    shipments = shipments.join(issues, on="tracking_key", how="left", maintain_order="left")
    shipments = shipments.select(
        "tracking_key",
        "tracking_number",
        "fulfillment_id",
        "order_id",
        "carrier",
        "carrier_billed",
        "service",
        "service_billed",
        "status",
        "period",
        "ship_date",
        "delivery_date",
        "okc_charge",
        "expected_charge",
        "carrier_total",
        *(f"charge_{t}" for t in CHARGE_TYPES),
        "variance",
        "unexplained_variance",
        "okc_weight_lb",
        "entered_weight_lb",
        "billed_weight_lb",
        "rated_on_dim",
        "invoice_count",
        "invoice_numbers",
        "line_count",
        "match_via",
        "issues",
        "amount_at_stake",
    )

    n_un = max(n // 100, 2)
    unmatched = pl.DataFrame(
        {
            "side": ["carrier"] * n_un,
            "tracking_number": [f"1Z999AA2{i:010d}" for i in range(n_un - 1)] + [None],
            "tracking_key": [f"1Z999AA2{i:010d}" for i in range(n_un - 1)] + [None],
            "carrier": ["ups"] * n_un,
            "fulfillment_id": [None] * n_un,
            "order_id": [None] * n_un,
            "invoice_number": ["0012345"] * n_un,
            "source_file": ["ups_2024-02.csv"] * n_un,
            "source_line": list(range(10_000, 10_000 + n_un)),
            "amount": [f"{12 + i % 7}.{i % 100:02d}" for i in range(n_un - 1)] + ["5.00"],
            "reason": ["not in OKC"] * (n_un - 1) + ["invoice-level charge"],
        },
        schema_overrides={"fulfillment_id": pl.Utf8, "order_id": pl.Utf8},
    ).with_columns(pl.col("amount").cast(MONEY))
    cannot = pl.DataFrame(
        {
            "fulfillment_id": ["f_x1", "f_x2"],
            "order_id": ["0099", "0100"],
            "tracking_number": [None, "7.9464E+11"],
            "reason": ["no tracking number", "tracking number corrupted"],
        },
        schema_overrides={"tracking_number": pl.Utf8},
    )
    return Month(
        shipments=shipments,
        exceptions=exceptions,
        invoice_lines=invoice_lines,
        unmatched=unmatched,
        cannot_reconcile=cannot,
        summary=reference_summary(shipments, exceptions, unmatched),
        issue_summary=reference_issue_summary(exceptions),
    )


def reference_summary(
    shipments: pl.DataFrame, exceptions: pl.DataFrame, unmatched: pl.DataFrame
) -> pl.DataFrame:
    """The summary as docs/reconciliation.md and okc_recon.reconciliation define it."""
    in_run = (pl.col("period") == "current") | (pl.col("line_count") > 0)
    carrier = pl.col("carrier").fill_null("unknown")
    ships = (
        shipments.filter(in_run)
        .group_by(carrier)
        .agg(
            shipments=pl.len().cast(pl.Int64),
            okc_charges=pl.col("okc_charge").sum(),
            carrier_billed=pl.col("carrier_total").sum(),
            variance=pl.col("variance").sum(),
        )
    )
    level = pl.col("reason") == "invoice-level charge"
    lines = (
        unmatched.filter(pl.col("side") == "carrier")
        .group_by(carrier)
        .agg(
            unmatched_carrier_amount=pl.col("amount").filter(~level).sum(),
            invoice_level_charges=pl.col("amount").filter(level).sum(),
        )
    )
    issues = exceptions.group_by(carrier).agg(
        exceptions=pl.len().cast(pl.Int64),
        amount_at_stake=pl.col("amount_at_stake").sum(),
        refund_candidate_amount=pl.col("amount_at_stake").filter("refund_candidate").sum(),
    )
    keys = pl.concat([f.select("carrier") for f in (ships, lines, issues)]).unique().sort("carrier")
    frame = (
        keys.join(ships, on="carrier", how="left")
        .join(lines, on="carrier", how="left")
        .join(issues, on="carrier", how="left")
        .fill_null(0)
    )
    total = frame.drop("carrier").sum().with_columns(carrier=pl.lit("all"))
    return pl.concat([frame, total.select(frame.columns)])


def reference_issue_summary(exceptions: pl.DataFrame) -> pl.DataFrame:
    """By carrier and issue code, plus an ``all`` carrier per issue code."""
    agg = {
        "exceptions": pl.len().cast(pl.Int64),
        "amount_at_stake": pl.col("amount_at_stake").sum(),
        "refund_candidate_amount": pl.col("amount_at_stake").filter("refund_candidate").sum(),
    }
    by = exceptions.group_by("carrier", "issue_code").agg(**agg)
    alls = exceptions.group_by("issue_code").agg(**agg).with_columns(carrier=pl.lit("all"))
    return pl.concat([by, alls.select(by.columns)]).sort("carrier", "issue_code")
