"""Issue detection (rule book, "Issue codes"): one exception per shipment × issue.

Each code is a filter over the shipments frame (or, for ``NOT_IN_OKC``, over the unmatched
invoice lines) producing rows of the same shape; they are stacked, joined to the shipment and
invoice they refer to, and sorted by money at stake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import polars as pl

from okc_recon.money import MONEY
from okc_recon.reconciliation._match import money
from okc_recon.reconciliation.calendar import add_business_days
from okc_recon.reconciliation.rules import ISSUE_CODES, Rules, equivalent_pairs

__all__ = ["EXCEPTION_SCHEMA", "detect_issues"]

#: The columns of ``Reconciliation.exceptions``.
EXCEPTION_SCHEMA: dict[str, pl.DataType] = {
    "tracking_number": pl.Utf8(),
    "tracking_key": pl.Utf8(),
    "carrier": pl.Utf8(),
    "issue_code": pl.Utf8(),
    "severity": pl.Utf8(),
    "amount_at_stake": MONEY,
    "refund_candidate": pl.Boolean(),
    "order_id": pl.Utf8(),
    "fulfillment_id": pl.Utf8(),
    "invoice_number": pl.Utf8(),
    "invoice_date": pl.Date(),
    "account_number": pl.Utf8(),
    "service": pl.Utf8(),
    "ship_date": pl.Date(),
    "expected_delivery": pl.Date(),
    "delivery_date": pl.Date(),
    "claim_deadline": pl.Date(),
    "days_left_to_file": pl.Int64(),
    "period": pl.Utf8(),
    "detail": pl.Utf8(),
}

# Codes whose money is a billing dispute (claim window from the invoice date).
_BILLING_DISPUTES = (
    "NOT_IN_OKC",
    "BILLED_CANCELED",
    "DUPLICATE_BILLING",
    "CHARGE_VARIANCE",
    "WEIGHT_VARIANCE",
    "DIM_WEIGHT",
    "ADDRESS_CORRECTION",
    "SURCHARGE",
    "ADJUSTMENT",
)
_ALWAYS_REFUND = ("DUPLICATE_BILLING", "BILLED_CANCELED", "NOT_IN_OKC")

# The exception rows are few and mostly text; they are built on the in-memory engine. Polars
# 2.1's streaming engine intermittently panics ("assertion failed: i < self.len()" in a string
# function) while formatting these details on some frames; the in-memory engine does not.
_ENGINE: Literal["in-memory"] = "in-memory"


def _money(cents: pl.Expr) -> pl.Expr:
    """Cents as text with two decimals (``-12.30``), built from integers."""
    value = cents.fill_null(0)
    magnitude = value.abs()
    return pl.concat_str(
        [
            pl.when(value < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            (magnitude // 100).cast(pl.Utf8),
            pl.lit("."),
            (magnitude % 100).cast(pl.Utf8).str.zfill(2),
        ]
    )


def _text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Utf8).fill_null("n/a")


def _lb(expr: pl.Expr) -> pl.Expr:
    return expr.round(2).cast(pl.Utf8).fill_null("n/a")


class _Picker:
    """Rows of the shipments frame picked by conditions, all evaluated in one pass over it.

    Each issue looks at few shipments; filtering the million-row frame once per issue would
    read its columns a dozen times, and ``detect_issues`` formats text only for picked rows.
    """

    def __init__(self, ship: pl.DataFrame, scope: pl.Expr) -> None:
        self.ship = ship
        self.scope = scope
        self.conditions: list[pl.Expr] = []
        self.columns: list[list[str]] = []

    def pick(self, condition: pl.Expr, *uses: pl.Expr | str) -> int:
        """Pick the rows where ``condition`` holds, with the columns ``uses`` read."""
        self.conditions.append(condition)
        names = {"_sid", "tracking_key"}
        for use in uses:
            names.update([use] if isinstance(use, str) else use.meta.root_names())
        self.columns.append([c for c in self.ship.columns if c in names])
        return len(self.conditions) - 1

    def frames(self) -> list[pl.DataFrame]:
        masks = (
            self.ship.lazy()
            .select(
                (self.scope & condition).fill_null(False).alias(f"m{index}")
                for index, condition in enumerate(self.conditions)
            )
            .collect(engine=_ENGINE)
        )
        # only the picked rows of the columns each issue reads (an issue may pick most rows)
        return [
            self.ship.select(columns)[mask.arg_true()]
            for mask, columns in zip(masks.iter_columns(), self.columns, strict=True)
        ]


@dataclass(frozen=True)
class _Picked:
    """An issue: the rows it picked (``index``) and how it turns them into exceptions."""

    index: int
    code: str
    then: pl.Expr | None
    amount: pl.Expr
    rank: pl.Expr
    detail: pl.Expr

    def build(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        if self.then is not None:
            frame = frame.filter(self.then)
        return frame.select(
            "_sid",
            "tracking_key",
            issue_code=pl.lit(self.code),
            _amount=self.amount.cast(pl.Int64).fill_null(0),
            _rank=self.rank.cast(pl.Int64),
            detail=self.detail,
        )


def _event(
    picker: _Picker,
    code: str,
    condition: pl.Expr,
    *,
    amount: pl.Expr,
    rank: pl.Expr,
    detail: pl.Expr,
    then: pl.Expr | None = None,
) -> _Picked:
    """The exceptions ``code`` raises on the shipments where ``condition`` (and ``then``,
    evaluated on those rows only) holds."""
    uses = [amount, rank, detail] if then is None else [amount, rank, detail, then]
    return _Picked(picker.pick(condition, *uses), code, then, amount, rank, detail)


def _tolerance_exceeded(value: pl.Expr, expected: pl.Expr, rules: Rules) -> pl.Expr:
    """``abs(value) > abs_tolerance + pct_tolerance × abs(expected)``, exactly, in cents."""
    pct_num, pct_den = rules.pct_tolerance.as_integer_ratio()
    tol_num, tol_den = (rules.abs_tolerance * 100).as_integer_ratio()
    # abs(v) > tol_num/tol_den + pct_num/pct_den × abs(e)  ⇔  (multiply by both denominators)
    return value.abs() * (tol_den * pct_den) > (
        pl.lit(tol_num * pct_den) + expected.abs() * (pct_num * tol_den)
    )


# The shipment columns _late_deliveries reads.
_LATE_COLUMNS = (
    "ship_date",
    "delivery_date",
    "_pod",
    "_pod_time",
    "_first_rank",
    "_transport",
    "carrier_billed",
    "_okc_carrier",
    "service_billed",
    "service",
)


def _late_deliveries(
    ship: pl.LazyFrame, invoices: pl.DataFrame, rules: Rules, as_of: date
) -> pl.DataFrame:
    """Guaranteed shipments delivered after their commitment, with deadline and days left.

    ``ship`` holds the shipments that can be late: not canceled-and-billed, no refund line,
    a ship and a delivery date, a service some row of the table guarantees.
    """
    commit_carrier = pl.coalesce(pl.col("carrier_billed"), pl.col("_okc_carrier"))
    commit_service = pl.coalesce(pl.col("service_billed"), pl.col("service"))
    candidates = (
        ship.select(
            "_sid",
            "tracking_key",
            "ship_date",
            "delivery_date",
            "_pod",
            "_pod_time",
            "_first_rank",
            "_transport",
            _c_carrier=commit_carrier,
            _c_service=commit_service,
        )
        .join(
            rules.commitments.frame().lazy(),
            left_on=["_c_carrier", "_c_service"],
            right_on=["carrier", "service"],
            how="inner",
        )
        .filter(
            (pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("ship_date")))
            & (pl.col("valid_to").is_null() | (pl.col("ship_date") <= pl.col("valid_to")))
        )
        .filter(pl.col("priority") == pl.col("priority").max().over("_sid"))
        .filter(pl.col("guaranteed") & pl.col("transit_business_days").is_not_null())
        .collect(engine=_ENGINE)
    )
    if candidates.is_empty():
        return candidates.select("_sid", "tracking_key").clear()
    dates = candidates["ship_date"].drop_nulls()
    years = range(dates.min().year, dates.max().year + 2)  # type: ignore[union-attr]
    expected = add_business_days(
        pl.col("ship_date"),
        pl.col("transit_business_days"),
        pl.col("_c_carrier"),
        years=years,
        extra=rules.holidays,
    )
    grace_ns = rules.late_grace_seconds * 1_000_000_000
    # The POD time is only known when the delivery date is the carrier's own POD date.
    pod_time = pl.when(pl.col("_pod") == pl.col("delivery_date")).then(pl.col("_pod_time"))
    after_time = (
        pl.col("commitment_time").is_not_null()
        & pod_time.is_not_null()
        & (pod_time.cast(pl.Int64) > pl.col("commitment_time").cast(pl.Int64) + grace_ns)
    )
    late = (pl.col("delivery_date") > pl.col("expected_delivery")) | (
        (pl.col("delivery_date") == pl.col("expected_delivery")) & after_time
    )
    invoice_dates = invoices.select("_inv_rank", _first_invoice_date=pl.col("invoice_date"))
    start = (
        pl.when(pl.col("claim_window_start") == "ship")
        .then(pl.col("ship_date"))
        .when(pl.col("claim_window_start") == "invoice")
        .then(pl.coalesce(pl.col("_first_invoice_date"), pl.col("delivery_date")))
        .otherwise(pl.max_horizontal(pl.col("expected_delivery"), pl.col("delivery_date")))
    )
    return (
        candidates.lazy()
        .with_columns(expected_delivery=expected)
        .filter(late)
        .join(invoice_dates.lazy(), left_on="_first_rank", right_on="_inv_rank", how="left")
        .with_columns(
            _pod_time_used=pod_time,
            claim_deadline=start + pl.duration(days=pl.col("claim_window_days").fill_null(0)),
        )
        .with_columns(
            claim_deadline=pl.when(pl.col("claim_window_days").is_not_null()).then(
                pl.col("claim_deadline")
            )
        )
        .with_columns(
            days_left_to_file=(pl.col("claim_deadline") - pl.lit(as_of)).dt.total_days(),
            detail=pl.format(
                "{} shipped {}, due {} by {}, delivered {}{}; guarantee refunds "
                "transportation {}; claim by {} ({} confidence)",
                _text(pl.col("_c_service")),
                _text(pl.col("ship_date")),
                _text(pl.col("expected_delivery")),
                pl.col("commitment_time").cast(pl.Utf8).fill_null("end of day"),
                _text(pl.col("delivery_date")),
                (pl.lit(" at ") + pl.col("_pod_time_used").cast(pl.Utf8)).fill_null(""),
                _money(pl.col("_transport")),
                _text(pl.col("claim_deadline")),
                _text(pl.col("confidence")),
            ),
        )
        .select(
            "_sid",
            "tracking_key",
            issue_code=pl.lit("LATE_DELIVERY"),
            _amount=pl.col("_transport").fill_null(0),
            _rank=pl.col("_first_rank"),
            detail="detail",
            expected_delivery="expected_delivery",
            claim_deadline="claim_deadline",
            days_left_to_file="days_left_to_file",
        )
        .collect(engine=_ENGINE)
    )


def _not_in_okc(unmatched_lines: pl.LazyFrame) -> pl.LazyFrame:
    return (
        unmatched_lines.filter(pl.col("_reason") == "not in OKC")
        .group_by("tracking_key")
        .agg(
            # the first line's (these lines are few: sorting each group is cheap)
            tracking_number=pl.col("tracking_number").sort_by("_line").first(),
            carrier=pl.col("carrier").sort_by("_line").first(),
            service=pl.col("service").sort_by("_line").drop_nulls().first(),
            ship_date=pl.col("ship_date").min(),
            delivery_date=pl.col("delivery_date").max(),
            period=pl.col("period").sort_by("_line").first(),
            _amount=pl.col("_cents").sum(),
            _rank=pl.col("_inv_rank").min(),
            _lines=pl.len(),
            _invoices=pl.col("invoice_number").drop_nulls().unique().sort().str.join(", "),
        )
        .filter(pl.col("_amount") > 0)
        .with_columns(
            issue_code=pl.lit("NOT_IN_OKC"),
            detail=pl.format(
                "carrier billed {} on {} line(s) (invoice {}); no pulled OKC fulfillment has "
                "this tracking number",
                _money(pl.col("_amount")),
                pl.col("_lines"),
                _text(pl.col("_invoices")),
            ),
        )
        .drop("_lines", "_invoices")
    )


def detect_issues(
    ship: pl.DataFrame,
    unmatched_lines: pl.LazyFrame,
    invoices: pl.DataFrame,
    *,
    rules: Rules,
    as_of: date,
    weight_known: bool,
) -> pl.DataFrame:
    """The exceptions frame (:data:`EXCEPTION_SCHEMA`, then ``_sid``), largest money first.

    ``ship`` is the internal shipments frame (with its ``_`` helper columns, ``_sid`` and
    ``_billed_canceled``); ``_sid`` is null for ``NOT_IN_OKC``.
    """
    from okc_recon.carriers import tracking

    # A prior-period shipment no line of this run bills is outside the run (its own month's
    # run judged it): nothing is raised for it.
    s = _Picker(ship, (pl.col("period") == "current") | (pl.col("line_count") > 0))
    live = ~pl.col("_billed_canceled")
    rank = pl.col("_first_rank")
    days_since = (pl.lit(as_of) - pl.col("_pickup")).dt.total_days()
    events: list[_Picked] = [
        _event(
            s,
            "UNBILLED",
            (pl.col("period") == "current")
            & pl.col("_pickup").is_not_null()
            & ~pl.col("_canceled")
            & (pl.col("line_count") == 0)
            & (days_since >= rules.unbilled_grace_days),
            amount=pl.col("_okc_cents"),
            rank=pl.lit(None),
            detail=pl.format(
                "picked up {}, {} days before {}; no carrier line bills it; accrue OKC charge {}",
                _text(pl.col("_pickup")),
                days_since,
                pl.lit(as_of.isoformat()),
                _money(pl.col("_okc_cents")),
            ),
        ),
        _event(
            s,
            "BILLED_CANCELED",
            pl.col("_billed_canceled"),
            amount=pl.col("carrier_total"),
            rank=rank,
            detail=pl.format(
                "OKC status {}; carrier billed {} (invoice {})",
                _text(pl.col("status")),
                _money(pl.col("carrier_total")),
                _text(pl.col("invoice_numbers")),
            ),
        ),
        _event(
            s,
            "DUPLICATE_BILLING",
            live & (pl.col("_dup") > 0),
            amount=pl.col("_dup"),
            rank=pl.col("_dup_rank"),
            detail=pl.format(
                "{} duplicate line(s) totalling {}; billed on invoices {}",
                pl.col("_dup_n"),
                _money(pl.col("_dup")),
                _text(pl.col("invoice_numbers")),
            ),
        ),
    ]
    # CHARGE_VARIANCE: both the variance and the unexplained variance beyond tolerance (when
    # OKC's charge already passes a flagged surcharge through, the variance is within it).
    expected = pl.col("_expected")
    events.append(
        _event(
            s,
            "CHARGE_VARIANCE",
            ~pl.col("_canceled")
            & expected.is_not_null()
            & pl.col("_has_ship").fill_null(False)
            & _tolerance_exceeded(pl.col("_variance"), expected, rules)
            & _tolerance_exceeded(pl.col("_unexplained"), expected, rules),
            amount=pl.col("_unexplained"),
            rank=rank,
            detail=pl.format(
                "carrier billed {} ({} after money other issues claim) against {} expected "
                "from OKC charge {}; unexplained variance {}",
                _money(pl.col("carrier_total")),
                _money(pl.col("_base")),
                _money(expected),
                _money(pl.col("_okc_cents")),
                _money(pl.col("_unexplained")),
            ),
        )
    )
    okc_lb = pl.col("okc_weight_lb")
    # WEIGHT_VARIANCE (only with a known unit). A weight correction billed as an adjustment is
    # its money; ADJUSTMENT still reports those lines, with nothing more at stake.
    weight_off: pl.Expr = pl.lit(False)
    if weight_known:
        tolerance = pl.max_horizontal(
            pl.lit(rules.weight_abs_tolerance_lb), okc_lb * rules.weight_pct_tolerance
        )
        entered_off = (pl.col("entered_weight_lb") - okc_lb).abs() > tolerance
        billed_off = pl.col("_billed_actual_lb") > (
            okc_lb.ceil() + (pl.col("_actual_packages") - 1).clip(lower_bound=0) + tolerance
        )
        weight_off = (
            live & (okc_lb > 0) & (entered_off.fill_null(False) | billed_off.fill_null(False))
        ).fill_null(False)
        events.append(
            _event(
                s,
                "WEIGHT_VARIANCE",
                weight_off,
                amount=pl.when(pl.col("_adj_n") > 0).then(pl.col("_adj")).otherwise(0),
                rank=pl.coalesce(pl.col("_adj_rank"), rank),
                detail=pl.format(
                    "OKC weight {} lb; entered {} lb; billed on actual weight {} lb; "
                    "tolerance {} lb; weight correction billed {}",
                    _lb(okc_lb),
                    _lb(pl.col("entered_weight_lb")),
                    _lb(pl.col("_billed_actual_lb")),
                    _lb(tolerance),
                    _money(pl.when(pl.col("_adj_n") > 0).then(pl.col("_adj")).otherwise(0)),
                ),
            )
        )
    dim_over_okc = (
        (pl.col("_dim_billed_no_entered") > okc_lb).fill_null(False)
        if weight_known
        else pl.lit(False)
    )
    events.append(
        _event(
            s,
            "DIM_WEIGHT",
            live & (pl.col("_dim_over_entered").fill_null(False) | dim_over_okc),
            amount=pl.col("_dim_cents"),
            rank=rank,
            detail=pl.format(
                "rated on dimensional weight: billed {} lb against actual {} lb (entered) / {} "
                "lb (OKC); dimensional charges {}",
                _lb(pl.col("billed_weight_lb")),
                _lb(pl.col("entered_weight_lb")),
                _lb(okc_lb),
                _money(pl.col("_dim_cents")),
            ),
        )
    )
    # CARRIER_MISMATCH. A billed shipment is judged by who billed it: when its own carrier
    # bills it, an unusual number format is no mismatch. A shipment no line bills yet is
    # judged by its tracking number (looked at only for those few rows).
    okc_carrier = pl.col("_okc_carrier")
    events.append(
        _event(
            s,
            "CARRIER_MISMATCH",
            okc_carrier.is_not_null()
            & pl.col("carrier_billed").is_not_null()
            & (pl.col("carrier_billed") != okc_carrier),
            amount=pl.lit(0),
            rank=rank,
            detail=pl.format("OKC carrier {}; billed by {}", _text(okc_carrier), "carrier_billed"),
        )
    )
    detected = tracking.detect_carrier(pl.col("tracking_key"))
    events.append(
        _event(
            s,
            "CARRIER_MISMATCH",
            (pl.col("line_count") == 0)
            & okc_carrier.is_not_null()
            & pl.col("tracking_key").is_not_null(),
            then=detected.is_not_null()
            & (detected != okc_carrier)
            & ~tracking.valid_for_carrier(pl.col("tracking_key"), okc_carrier).fill_null(False),
            amount=pl.lit(0),
            rank=rank,
            detail=pl.format(
                "OKC carrier {}; not billed yet; the tracking number is a {} number",
                _text(okc_carrier),
                detected.fill_null("n/a"),
            ),
        )
    )
    pair = pl.col("service") + pl.lit("|") + pl.col("service_billed")
    events.append(
        _event(
            s,
            "SERVICE_MISMATCH",
            (pl.col("carrier_billed") == okc_carrier)
            & pl.col("service").is_not_null()
            & pl.col("service_billed").is_not_null()
            & (pl.col("service") != pl.col("service_billed")),
            then=~pair.is_in(list(equivalent_pairs(rules))),
            amount=pl.lit(0),
            rank=rank,
            detail=pl.format(
                "OKC shipping method {} ({}); billed as {}",
                _text(pl.col("shipping_method")),
                _text(pl.col("service")),
                _text(pl.col("service_billed")),
            ),
        )
    )
    events.append(
        _event(
            s,
            "ADDRESS_CORRECTION",
            live & (pl.col("_addr") > 0),
            amount=pl.col("_addr"),
            rank=pl.col("_addr_rank"),
            detail=pl.format("address correction charges {}", _money(pl.col("_addr"))),
        )
    )
    for charge_type in sorted(rules.surcharge_types):
        column = pl.col(f"_sur_{charge_type}")
        events.append(
            _event(
                s,
                "SURCHARGE",
                live & (column > 0),
                amount=column,
                rank=pl.col(f"_sur_rank_{charge_type}"),
                detail=pl.format(f"{charge_type} surcharge {{}}", _money(column)),
            )
        )
    weight_claims = weight_off
    events.append(
        _event(
            s,
            "ADJUSTMENT",
            live & (pl.col("_adj_n") > 0),
            amount=pl.when(weight_claims).then(0).otherwise(pl.col("_adj")),
            rank=pl.col("_adj_rank"),
            detail=pl.format(
                "{} post-shipment adjustment line(s) totalling {}{}",
                pl.col("_adj_n"),
                _money(pl.col("_adj")),
                pl.when(weight_claims)
                .then(pl.lit(" (claimed by WEIGHT_VARIANCE)"))
                .otherwise(pl.lit("")),
            ),
        )
    )
    # Only a service with a guarantee in some row of the table can be late (most are not).
    guaranteed = (
        rules.commitments.frame()
        .filter(pl.col("guaranteed") & pl.col("transit_business_days").is_not_null())
        .get_column("service")
        .unique()
    )
    late_candidates = s.pick(
        ~pl.col("_billed_canceled")
        & ~pl.col("_refund").fill_null(False)
        & pl.col("ship_date").is_not_null()
        & pl.col("delivery_date").is_not_null()
        & pl.coalesce(pl.col("service_billed"), pl.col("service")).is_in(guaranteed.implode()),
        *_LATE_COLUMNS,
    )
    frames = s.frames()
    late = _late_deliveries(frames[late_candidates].lazy(), invoices, rules, as_of)
    stacked = pl.concat(
        [*(event.build(frames[event.index].lazy()) for event in events), late.lazy()],
        how="diagonal_relaxed",
    ).collect(engine=_ENGINE)
    # ship's rows are its _sid: the shipment columns of each exception are a gather
    info = ship.select(
        "tracking_number",
        "carrier",
        "order_id",
        "fulfillment_id",
        pl.coalesce(pl.col("service_billed"), pl.col("service")).alias("service"),
        "ship_date",
        "delivery_date",
        "period",
    )[stacked.get_column("_sid")]
    on_shipments = pl.concat([stacked, info], how="horizontal").lazy()
    everything = pl.concat(
        [on_shipments, _not_in_okc(unmatched_lines)], how="diagonal_relaxed"
    ).join(
        invoices.lazy().select("_inv_rank", "invoice_number", "invoice_date", "account_number"),
        left_on="_rank",
        right_on="_inv_rank",
        how="left",
    )
    code = pl.col("issue_code")
    dispute_deadline = pl.col("invoice_date") + pl.duration(days=rules.billing_dispute_days)
    claim_deadline = pl.coalesce(
        pl.col("claim_deadline") if "claim_deadline" in late.columns else pl.lit(None, pl.Date),
        pl.when(code.is_in(list(_BILLING_DISPUTES)) & (pl.col("_amount") != 0)).then(
            dispute_deadline
        ),
    )
    order = {c: i for i, c in enumerate(ISSUE_CODES)}
    result = (
        everything.with_columns(claim_deadline=claim_deadline)
        .with_columns(
            days_left_to_file=(pl.col("claim_deadline") - pl.lit(as_of)).dt.total_days(),
            amount_at_stake=money(pl.col("_amount")),
            severity=code.replace_strict(dict(rules.severities), return_dtype=pl.Utf8),
            _order=code.replace_strict(order, return_dtype=pl.Int32),
        )
        .with_columns(
            refund_candidate=code.is_in(list(_ALWAYS_REFUND))
            | ((code == "CHARGE_VARIANCE") & (pl.col("_amount") > 0))
            | ((code == "LATE_DELIVERY") & (pl.col("days_left_to_file") >= 0).fill_null(False))
        )
        .sort(
            ["_amount", "_order", "tracking_key", "detail"],
            descending=[True, False, False, False],
            nulls_last=True,
        )
        .collect(engine=_ENGINE)
    )
    return result.select(
        [
            (pl.col(name) if name in result.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in EXCEPTION_SCHEMA.items()
        ]
        + [pl.col("_sid")]
    )
