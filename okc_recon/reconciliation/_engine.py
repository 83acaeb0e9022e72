"""``reconcile()``: fulfillments and invoice lines in, a :class:`Reconciliation` out."""

from __future__ import annotations

import calendar
import logging
import re
import time
from collections.abc import Mapping
from datetime import date, timedelta

import polars as pl

from okc_recon.errors import ConfigError
from okc_recon.money import MONEY
from okc_recon.reconciliation._issues import detect_issues
from okc_recon.reconciliation._match import (
    Window,
    aggregate_shipments,
    assemble_shipments,
    classify_fulfillments,
    invoices_table,
    line_period,
    line_work,
    match_lines,
    money,
    scatter,
    unmatched_reasons,
)
from okc_recon.reconciliation._result import Reconciliation
from okc_recon.reconciliation._summary import issue_summary, summarize
from okc_recon.reconciliation.rules import ISSUE_CODES, Rules
from okc_recon.schema import CHARGE_TYPES, FULFILLMENT_SCHEMA, INVOICE_LINE_SCHEMA, conform
from okc_recon.weights import WeightUnitInference, infer_weight_unit

__all__ = [
    "CANNOT_RECONCILE_SCHEMA",
    "SHIPMENT_SCHEMA",
    "UNMATCHED_SCHEMA",
    "reconcile",
]

logger = logging.getLogger("okc_recon")

#: The columns of ``Reconciliation.shipments``.
SHIPMENT_SCHEMA: dict[str, pl.DataType] = {
    "tracking_key": pl.Utf8(),
    "tracking_number": pl.Utf8(),
    "fulfillment_id": pl.Utf8(),
    "order_id": pl.Utf8(),
    "carrier": pl.Utf8(),
    "carrier_billed": pl.Utf8(),
    "service": pl.Utf8(),
    "service_billed": pl.Utf8(),
    "status": pl.Utf8(),
    "period": pl.Utf8(),
    "ship_date": pl.Date(),
    "delivery_date": pl.Date(),
    "okc_charge": MONEY,
    "expected_charge": MONEY,
    "carrier_total": MONEY,
    **{f"charge_{t}": MONEY for t in CHARGE_TYPES},
    "variance": MONEY,
    "unexplained_variance": MONEY,
    "okc_weight_lb": pl.Float64(),
    "entered_weight_lb": pl.Float64(),
    "billed_weight_lb": pl.Float64(),
    "rated_on_dim": pl.Boolean(),
    "invoice_count": pl.Int64(),
    "invoice_numbers": pl.Utf8(),
    "line_count": pl.Int64(),
    "match_via": pl.Utf8(),
    "issues": pl.Utf8(),
    "amount_at_stake": MONEY,
}

#: The columns of ``Reconciliation.unmatched`` (both sides).
UNMATCHED_SCHEMA: dict[str, pl.DataType] = {
    "side": pl.Utf8(),
    "tracking_number": pl.Utf8(),
    "tracking_key": pl.Utf8(),
    "carrier": pl.Utf8(),
    "fulfillment_id": pl.Utf8(),
    "order_id": pl.Utf8(),
    "invoice_number": pl.Utf8(),
    "source_file": pl.Utf8(),
    "source_line": pl.Int64(),
    "amount": MONEY,
    "reason": pl.Utf8(),
}

#: The columns of ``Reconciliation.cannot_reconcile``.
CANNOT_RECONCILE_SCHEMA: dict[str, pl.DataType] = {
    "fulfillment_id": pl.Utf8(),
    "order_id": pl.Utf8(),
    "tracking_number": pl.Utf8(),
    "reason": pl.Utf8(),
}

#: Columns ``invoice_lines`` gets on top of ``schema.INVOICE_LINE_SCHEMA``.
LINE_EXTRA_SCHEMA: dict[str, pl.DataType] = {
    "shipment_key": pl.Utf8(),
    "match_via": pl.Utf8(),
    "assigned": pl.Utf8(),
    "duplicate": pl.Boolean(),
    "period": pl.Utf8(),
}

# The fulfillment columns a shipment carries on (the others stay in the caller's frame).
_BASE_COLUMNS = (
    "_f_row",
    "fulfillment_id",
    "order_id",
    "status",
    "carrier",
    "shipping_method",
    "tracking_number",
    "tracking_key",
    "shipping_net_charge",
    "shipping_charge_model",
    "weight",
    "_pickup",
    "_okc_delivery",
    "_period",
    "_canceled",
    "_service",
)

# The line columns the unmatched lines carry (their reasons, NOT_IN_OKC, the unmatched frame).
_UNMATCHED_LINE_COLUMNS = (
    "carrier",
    "invoice_number",
    "tracking_number",
    "tracking_key",
    "tracking_corrupted",
    "ship_date",
    "delivery_date",
    "service",
    "charge_category",
    "amount",
    "source_file",
    "source_line",
)

_REQUIRED = {
    "fulfillments": ("fulfillment_id", "tracking_key"),
    "invoice_lines": ("tracking_key", "amount"),
}


def _validated(frame: pl.DataFrame, schema: Mapping[str, pl.DataType], name: str) -> pl.DataFrame:
    if not isinstance(frame, pl.DataFrame):
        raise ConfigError(f"{name} must be a polars DataFrame, got {type(frame).__name__}")
    missing = [c for c in _REQUIRED[name] if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{name} has no column(s) {', '.join(missing)}; build it with the okc-recon "
            f"readers or schema.conform(frame, schema.{name.upper()[:-1]}_SCHEMA)"
        )
    try:
        return conform(frame, schema)
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(f"{name} does not fit its schema: {exc}") from exc


def _window(period: str | None) -> Window:
    if period is None:
        return Window()
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(period).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ConfigError(f"period must be YYYY-MM, got {period!r}")
    year, month = int(match.group(1)), int(match.group(2))
    start = date(year, month, 1)
    end = date(year, month, calendar.monthrange(year, month)[1])
    prev_start = (start - timedelta(days=1)).replace(day=1)
    return Window(label=f"{year:04d}-{month:02d}", start=start, end=end, prev_start=prev_start)


def _as_of(as_of: date | str | None, window: Window, rules: Rules) -> date:
    if isinstance(as_of, str):
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            raise ConfigError(f"as_of must be YYYY-MM-DD, got {as_of!r}") from None
    if as_of is not None:
        return as_of
    today = date.today()
    if window.end is None:
        return today
    return min(today, window.end + timedelta(days=rules.invoice_grace_days))


_INFERENCE_SAMPLE = 100_000


def _weight_unit(
    base: pl.DataFrame,
    totals: pl.DataFrame,
    rules: Rules,
    inference: WeightUnitInference | None,
) -> tuple[str | None, str, WeightUnitInference | None]:
    """The unit of OKC's ``weight``: the rules', else the one inferred from matched shipments.

    Inference compares each shipment's OKC weight with its entered weight (its packages'
    sum, in pounds) through :func:`okc_recon.weights.infer_weight_unit`, on at most
    ``_INFERENCE_SAMPLE`` shipments taken evenly (plenty of evidence, a bounded cost).
    """
    if rules.weight_unit != "auto":
        return rules.weight_unit, f"set to {rules.weight_unit} in the rules", None
    if inference is None:
        # both frames are laid out by _sid; the shipments some line bills
        pairs = pl.concat(
            [
                base.select("_sid", "tracking_key", "weight"),
                totals.select("line_count", "entered_weight_lb", "_billed_actual_lb"),
            ],
            how="horizontal",
        ).filter(pl.col("line_count").is_not_null())
        step = max(1, pairs.height // _INFERENCE_SAMPLE)
        pairs = pairs.filter(pl.col("_sid") % step == 0)
        inference = infer_weight_unit(
            pairs.select("tracking_key", "weight"),
            pairs.select(
                "tracking_key",
                entered_weight="entered_weight_lb",
                billed_weight="_billed_actual_lb",
                weight_unit=pl.lit("lb"),
                rated_on_dim=pl.lit(False),
            ),
        )
    if inference.unit is None:
        logger.warning("%s; weight comparisons are skipped", inference.describe())
    return inference.unit, inference.describe(), inference


def reconcile(
    fulfillments: pl.DataFrame,
    invoice_lines: pl.DataFrame,
    *,
    rules: Rules | None = None,
    period: str | None = None,
    as_of: date | str | None = None,
    weight_inference: WeightUnitInference | None = None,
) -> Reconciliation:
    """Match OKC fulfillments to carrier invoice lines and say what is wrong, per shipment.

    ``fulfillments`` has ``schema.FULFILLMENT_SCHEMA`` (a monthly run passes the month and
    the month before); ``invoice_lines`` has ``schema.INVOICE_LINE_SCHEMA`` (every invoice
    dated from the month's first day to ``rules.invoice_grace_days`` after its end).
    ``period`` (``"YYYY-MM"``) splits current, prior and later shipments; ``as_of`` (default:
    the earlier of today and the period's end plus the invoice grace days) dates the unbilled
    and claim-window checks. ``weight_inference`` reuses an earlier
    :func:`~okc_recon.weights.infer_weight_unit` result when ``rules.weight_unit`` is ``auto``.

    The rules are in ``docs/reconciliation.md``. Example::

        from okc_recon import read_fulfillments, read_invoices, reconcile
        recon = reconcile(read_fulfillments("okc.json"), read_invoices("invoices/").lines,
                          period="2025-10")
        recon.exceptions.filter(pl.col("refund_candidate"))
    """
    rules = rules if rules is not None else Rules()
    if not isinstance(rules, Rules):
        raise ConfigError(f"rules must be a Rules object, got {type(rules).__name__}")
    f = _validated(fulfillments, FULFILLMENT_SCHEMA, "fulfillments")
    lines = _validated(invoice_lines, INVOICE_LINE_SCHEMA, "invoice_lines")
    window = _window(period)
    as_of_date = _as_of(as_of, window, rules)
    logger.info(
        "reconciling %d fulfillments against %d invoice lines (period %s, as of %s)",
        f.height,
        lines.height,
        window.label or "all",
        as_of_date,
    )

    # Intermediate frames are dropped as soon as they are used: at a million shipments each
    # is hundreds of megabytes, and the peak is what counts.
    clock = _Clock()
    classified = classify_fulfillments(f, rules, window)
    cannot = (
        classified.lazy()
        .filter(pl.col("_reason").is_not_null())
        .select(
            [
                pl.col(c if c != "reason" else "_reason").cast(t).alias(c)
                for c, t in CANNOT_RECONCILE_SCHEMA.items()
            ]
        )
        .collect(engine="in-memory")
    )
    after_keys = (
        classified.lazy()
        .filter((pl.col("_period") == "after") & pl.col("tracking_key").is_not_null())
        .select(pl.col("tracking_key").unique())
        .collect(engine="in-memory")
        .to_series()
    )
    # Shipments get an integer id (_sid): their row, in the fulfillments' order. Every step
    # after the tracking-number join groups, gathers and scatters on it.
    base = (
        classified.lazy()
        .filter(pl.col("_reason").is_null())
        .select(_BASE_COLUMNS)
        .collect(engine="in-memory")
        .rechunk()
        .with_row_index("_sid")
    )
    del classified
    clock.lap("fulfillments classified")
    work, codes = line_work(lines)
    clock.lap("lines encoded")
    invoices, inv_rank = invoices_table(lines, work)
    clock.lap("invoices ranked")
    matched = match_lines(lines, work.with_columns(inv_rank), base, window)
    del work, inv_rank
    clock.lap("lines matched")
    totals, duplicate = aggregate_shipments(lines, matched, invoices, codes, base.height, rules)
    clock.lap("shipments totalled")
    sid = matched.get_column("_sid")
    via = pl.col("_via")
    extra = matched.select(
        shipment_key=base.get_column("tracking_key").gather(sid),
        match_via=pl.when(via == 1)
        .then(pl.lit("tracking_key"))
        .when(via == 2)
        .then(pl.lit("alt_tracking_key")),
        assigned=pl.when(pl.col("_sid").is_not_null())
        .then(pl.lit("shipment"))
        .otherwise(pl.lit("unmatched")),
        duplicate=duplicate,
        period=pl.coalesce(base.get_column("_period").gather(sid), line_period(window)),
    ).select([pl.col(c).cast(t) for c, t in LINE_EXTRA_SCHEMA.items()])
    result_lines = pl.concat([lines, extra], how="horizontal")
    del extra, duplicate
    # The lines no shipment claims (few), with the text their reasons and issues read.
    alone = (
        matched.lazy()
        .filter(pl.col("_sid").is_null())
        .select("_line", "_cents", "_inv_rank", period=line_period(window))
        .collect(engine="in-memory")
    )
    unmatched_lines = unmatched_reasons(
        pl.concat(
            [alone, lines.select(_UNMATCHED_LINE_COLUMNS)[alone.get_column("_line")]],
            how="horizontal",
        ).lazy(),
        after_keys,
        window,
    ).collect(engine="in-memory")
    del matched, alone
    clock.lap("lines finished")
    unit, unit_source, inference = _weight_unit(base, totals, rules, weight_inference)
    ship = assemble_shipments(base, totals, rules, unit)
    del base, totals
    clock.lap("shipments assembled")

    found = detect_issues(
        ship,
        unmatched_lines.lazy(),
        invoices,
        rules=rules,
        as_of=as_of_date,
        weight_known=unit is not None,
    )
    exceptions = found.drop("_sid")
    unmatched = _unmatched(ship, unmatched_lines, rules, as_of_date)
    clock.lap("issues detected")
    shipments = _shipments(ship, found)
    del ship
    clock.lap("frames finished")
    return Reconciliation(
        shipments=shipments,
        exceptions=exceptions,
        invoice_lines=result_lines,
        unmatched=unmatched,
        cannot_reconcile=cannot,
        summary=summarize(shipments, exceptions, unmatched),
        issue_summary=issue_summary(exceptions, rules),
        rules=rules,
        period=window.label,
        as_of=as_of_date,
        weight_unit=unit,
        weight_unit_source=unit_source,
        weight_inference=inference,
    )


class _Clock:
    """Logs how long each step took, wall and CPU (``okc_recon`` logger, DEBUG)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.cpu = time.process_time()

    def lap(self, step: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        logger.debug(
            "reconcile: %s in %.2f s, %.2f s CPU (%.2f s so far)",
            step,
            now - self.last,
            cpu - self.cpu,
            now - self.started,
        )
        self.last, self.cpu = now, cpu


def _shipments(ship: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    order = {code: index for index, code in enumerate(ISSUE_CODES)}
    per_shipment = (
        found.lazy()
        .filter(pl.col("_sid").is_not_null())
        .sort(pl.col("issue_code").replace_strict(order, return_dtype=pl.Int32))
        .group_by("_sid")
        .agg(
            issues=pl.col("issue_code").unique(maintain_order=True).str.join(", "),
            amount_at_stake=pl.col("amount_at_stake").sum(),
        )
        .collect(engine="in-memory")
    )
    sids = per_shipment.get_column("_sid")
    money_columns = {
        "okc_charge": "_okc_cents",
        "expected_charge": "_expected",
        "carrier_total": "carrier_total",
        "variance": "_variance",
        "unexplained_variance": "_unexplained",
        **{f"charge_{t}": f"charge_{t}" for t in CHARGE_TYPES},
    }
    zero = pl.lit(0).cast(MONEY)
    return (
        ship.lazy()
        .with_columns(
            # (a charge type no line has is zero throughout)
            *(
                money(pl.col(src)).alias(dst) if src in ship.columns else zero.alias(dst)
                for dst, src in money_columns.items()
            ),
            # ship's rows are its _sid
            issues=scatter(ship.height, sids, per_shipment.get_column("issues")),
            amount_at_stake=scatter(
                ship.height, sids, per_shipment.get_column("amount_at_stake")
            ).fill_null(0),
        )
        .select([pl.col(c).cast(t) for c, t in SHIPMENT_SCHEMA.items()])
        .collect(engine="in-memory")
    )


def _unmatched(
    ship: pl.DataFrame, unmatched_lines: pl.DataFrame, rules: Rules, as_of: date
) -> pl.DataFrame:
    carrier_side = (
        unmatched_lines.lazy()
        .sort("_line")
        .select(
            side=pl.lit("carrier"),
            tracking_number="tracking_number",
            tracking_key="tracking_key",
            carrier="carrier",
            fulfillment_id=pl.lit(None, dtype=pl.Utf8),
            order_id=pl.lit(None, dtype=pl.Utf8),
            invoice_number="invoice_number",
            source_file="source_file",
            source_line="source_line",
            amount="amount",
            reason="_reason",
        )
    )
    days_since = (pl.lit(as_of) - pl.col("_pickup")).dt.total_days()
    okc_side = (
        ship.lazy()
        .filter((pl.col("line_count") == 0) & (pl.col("period") == "current"))
        .select(
            side=pl.lit("okc"),
            tracking_number="tracking_number",
            tracking_key="tracking_key",
            carrier="carrier",
            fulfillment_id="fulfillment_id",
            order_id="order_id",
            invoice_number=pl.lit(None, dtype=pl.Utf8),
            source_file=pl.lit(None, dtype=pl.Utf8),
            source_line=pl.lit(None, dtype=pl.Int64),
            amount=money(pl.col("_okc_cents")),
            reason=pl.when(pl.col("_canceled"))
            .then(pl.lit("canceled, not billed"))
            .when(pl.col("_pickup").is_null())
            .then(pl.lit("no pickup date, not billed"))
            .when(days_since < rules.unbilled_grace_days)
            .then(pl.lit("not billed yet (within the grace days)"))
            .otherwise(pl.lit("not billed")),
        )
    )
    return pl.concat(
        [
            frame.select([pl.col(c).cast(t) for c, t in UNMATCHED_SCHEMA.items()])
            for frame in (carrier_side, okc_side)
        ]
    ).collect(engine="in-memory")
