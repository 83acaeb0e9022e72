"""Matching (rule book, "Matching" and "Shipment totals").

Which fulfillments are shipments of the run and which cannot be reconciled; which invoice line
bills which shipment and why the others match nothing; the per-line flags the issues build on
(duplicate copies, which issue claims a line's money); and the per-shipment aggregates.

Money is handled as whole cents (``Int64``) inside the engine, so sums and comparisons are
exact and fast, and turned back into :data:`okc_recon.money.MONEY` at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl

from okc_recon.carriers.services import normalize_service
from okc_recon.money import MONEY
from okc_recon.reconciliation.rules import Rules
from okc_recon.schema import CHARGE_TYPES
from okc_recon.weights import to_pounds

__all__ = [
    "CURRENT",
    "NEXT",
    "PRIOR",
    "Window",
    "aggregate_shipments",
    "assemble_shipments",
    "cents",
    "classify_fulfillments",
    "div_half_up",
    "invoice_id",
    "invoices_table",
    "match_lines",
    "money",
    "unmatched_reasons",
]

CURRENT, PRIOR, NEXT = "current", "prior", "next"
_AFTER = "after"  # a fulfillment picked up after the period: not a shipment of this run

# What claims a line's money (the order is the precedence: a line is claimed once).
CLAIM_DUPLICATE = "DUPLICATE_BILLING"
CLAIM_ADDRESS = "ADDRESS_CORRECTION"
CLAIM_ADJUSTMENT = "ADJUSTMENT"
CLAIM_RETURN = "RETURN"  # a return label: not OKC's outbound charge, and no issue
CLAIM_SURCHARGE = "SURCHARGE"


@dataclass(frozen=True)
class Window:
    """The run's period: first and last day, and the first day of the month before.

    All ``None`` when no period was given: then every fulfillment is a current shipment.
    """

    label: str | None = None
    start: date | None = None
    end: date | None = None
    prev_start: date | None = None


def cents(amount: pl.Expr) -> pl.Expr:
    """A MONEY expression as whole cents (exact)."""
    return (amount * 100).cast(pl.Int64)


def money(cents_expr: pl.Expr) -> pl.Expr:
    """Whole cents back to :data:`~okc_recon.money.MONEY`, exactly.

    Integer cents cast to a 2-place decimal are whole units; dividing by 100 is exact (the
    result has two places), and several times faster than going through ``Decimal(38, 0)``.
    """
    return cents_expr.cast(MONEY) / 100


def div_half_up(value: pl.Expr, numerator: int, denominator: int) -> pl.Expr:
    """``value × numerator / denominator`` on integers, rounded half away from zero."""
    magnitude = (value.abs() * (2 * numerator) + denominator) // (2 * denominator)
    return pl.when(value < 0).then(-magnitude).otherwise(magnitude)


def markup_ratio(markup: Decimal) -> tuple[int, int]:
    """``1 / (1 + markup)`` as an exact fraction ``(numerator, denominator)``.

    ``Rules`` allows at most six decimal places, so both stay small enough for ``Int64``.
    """
    top, bottom = markup.as_integer_ratio()
    return bottom, bottom + top


def _date_of(expr: pl.Expr) -> pl.Expr:
    return expr.dt.date()


def classify_fulfillments(fulfillments: pl.LazyFrame, rules: Rules, window: Window) -> pl.LazyFrame:
    """Every fulfillment with ``_reason`` (null for a shipment of the run) and helper columns.

    Adds ``_f_row`` (input order), ``_period`` (current, prior or after), ``_pickup`` and
    ``_okc_delivery`` (dates, UTC), ``_canceled``, ``_service`` (with the rules' service map).
    Rows come back in no particular order; sort by ``_f_row`` for the input's.
    """
    from okc_recon.carriers import tracking

    pickup = _date_of(pl.col("pickup_date"))
    ref = pl.coalesce(pickup, _date_of(pl.col("created_at")))
    if window.start is None or window.end is None:
        period: pl.Expr = pl.lit(CURRENT)
    else:
        period = (
            pl.when(ref < window.start)
            .then(pl.lit(PRIOR))
            .when(ref > window.end)
            .then(pl.lit(_AFTER))
            .otherwise(pl.lit(CURRENT))
        )
    status = pl.col("status")
    service = pl.col("service")
    if rules.service_map is not None:
        service = pl.coalesce(
            normalize_service(pl.col("carrier"), pl.col("shipping_method"), rules.service_map),
            service,
        )
    frame = fulfillments.with_row_index("_f_row").with_columns(
        _pickup=pickup,
        _okc_delivery=_date_of(pl.col("delivery_date")),
        _period=period,
        _canceled=status.str.contains(rules.canceled_statuses).fill_null(False),
        _service=service,
    )
    # Without a tracking key (few rows): why. The raw number is looked at only here.
    raw = pl.col("tracking_number").str.strip_chars()
    has_raw = raw.is_not_null() & (raw != "")
    unkeyed = frame.filter(pl.col("tracking_key").is_null()).with_columns(
        _reason=pl.when(has_raw & tracking.is_float_artifact(raw).fill_null(False))
        .then(pl.lit("tracking number corrupted"))
        .when(has_raw)
        .then(pl.lit("tracking number unusable"))
        .when(pl.col("_canceled"))
        .then(pl.lit("canceled before shipping"))
        .when(status.str.contains(rules.pre_shipment_statuses).fill_null(False))
        .then(pl.lit("not shipped yet"))
        .otherwise(pl.lit("no tracking number"))
    )
    keyed = frame.filter(pl.col("tracking_key").is_not_null())
    after = pl.col("_period") == _AFTER
    after_reason = (
        pl.when(pl.col("_pickup").is_not_null())
        .then(pl.lit("picked up after the period"))
        .otherwise(pl.lit("created after the period"))
    )
    # Rule 2: among the run's fulfillments sharing a tracking key (few), the earliest created
    # is the shipment's; the order is total (created_at, then id, then input row).
    in_run = pl.when(~after).then(pl.col("tracking_key"))
    keyed = keyed.with_columns(_shared=~after & in_run.is_duplicated())
    order = [pl.col("created_at"), pl.col("fulfillment_id"), pl.col("_f_row")]
    shared = (
        keyed.filter(pl.col("_shared"))
        .with_columns(
            _primary_row=pl.col("_f_row")
            .sort_by(order, nulls_last=True)
            .first()
            .over("tracking_key"),
            _primary_id=pl.col("fulfillment_id")
            .sort_by(order, nulls_last=True)
            .first()
            .over("tracking_key"),
        )
        .with_columns(
            _reason=pl.when(pl.col("_f_row") != pl.col("_primary_row"))
            .then(
                pl.format(
                    "shares tracking number with fulfillment {}",
                    pl.col("_primary_id").fill_null("(no id)"),
                )
            )
            .otherwise(pl.lit(None, dtype=pl.Utf8))
        )
        .drop("_primary_row", "_primary_id", "_shared")
    )
    single = (
        keyed.filter(~pl.col("_shared"))
        .with_columns(_reason=pl.when(after).then(after_reason).otherwise(pl.lit(None, pl.Utf8)))
        .drop("_shared")
    )
    return pl.concat([single, shared, unkeyed], how="vertical")


def invoice_id() -> pl.Expr:
    # Postage-tool exports have no invoice number: their file stands for the invoice.
    return pl.concat_str(
        [
            pl.col("carrier").fill_null(""),
            pl.lit("|"),
            pl.coalesce(
                pl.col("invoice_number"),
                pl.lit("file:") + pl.col("source_file").fill_null(""),
            ),
        ]
    )


def invoices_table(lines: pl.DataFrame, inv_id: pl.Series) -> pl.DataFrame:
    """One row per invoice (``_inv_id``) with ``_inv_rank``: 0 for the earliest invoice."""
    return (
        lines.lazy()
        .select("invoice_number", "invoice_date", "account_number")
        .with_columns(_inv_id=inv_id)
        .group_by("_inv_id")
        .agg(
            pl.col("invoice_number").first(),
            pl.col("invoice_date").min(),
            pl.col("account_number").drop_nulls().first(),
        )
        .sort(["invoice_date", "_inv_id"], nulls_last=True)
        .with_row_index("_inv_rank")
        .with_columns(pl.col("_inv_rank").cast(pl.Int64))
        .collect()
    )


#: The line columns matching and the issues read (the rest of a line is never copied).
_LINE_COLUMNS = (
    "carrier",
    "invoice_number",
    "tracking_number",
    "tracking_key",
    "alt_tracking_key",
    "tracking_corrupted",
    "ship_date",
    "delivery_date",
    "delivery_time",
    "service",
    "charge_category",
    "charge_type",
    "charge_description",
    "amount",
    "billed_weight",
    "entered_weight",
    "weight_unit",
    "rated_on_dim",
    "source_file",
    "source_line",
)
# High bit of a package id: an alternate-key package (its own number hashed), never a _sid.
_ALT_PACKAGE = 1 << 63


def _scatter(
    length: int, indices: pl.Series, values: pl.Series, fill: bool | None = None
) -> pl.Series:
    """A series of ``length`` holding ``values`` at ``indices`` and ``fill`` elsewhere."""
    full = pl.Series(values.name, dtype=values.dtype).extend_constant(fill, length)
    return full.scatter(indices, values) if indices.len() else full


def match_lines(
    lines: pl.DataFrame,
    inv_id: pl.Series,
    base: pl.DataFrame,
    invoices: pl.DataFrame,
    rules: Rules,
    window: Window,
) -> pl.DataFrame:
    """Every invoice line, in input order, with its shipment and the flags the issues use.

    ``inv_id`` is each line's invoice id (:func:`invoice_id`). ``base`` holds the
    shipments: ``_sid`` (their row number), ``tracking_key``, ``_period``. Returns the line
    columns issues read plus ``_line``, ``_sid`` (null when the line bills no shipment),
    ``match_via``, ``period``, ``duplicate``, ``_claim``, ``_cents``, ``_inv_rank``, ``_pkg``
    (an integer package id) and weights in pounds. Tracking numbers are hashed once (the
    alternate key only for lines their own number did not match); the rest works on
    integers, and the rare cases (alternate keys, several transportation lines of a package
    on one invoice) on their own small subsets.
    """
    height = lines.height
    frame = lines.select(_LINE_COLUMNS).with_row_index("_line")
    inv_rank = inv_id.replace_strict(
        invoices.get_column("_inv_id"), invoices.get_column("_inv_rank"), default=None
    ).alias("_inv_rank")
    shipment_keys = base.select("tracking_key", "_sid")
    sid1 = (
        frame.select("tracking_key")
        .join(shipment_keys, on="tracking_key", how="left", maintain_order="left")
        .get_column("_sid")
        .alias("_sid1")
    )
    # Only lines their own number did not match look at the alternate key (few).
    by_alt = frame.select("_line", "alt_tracking_key").filter(
        sid1.is_null() & frame.get_column("alt_tracking_key").is_not_null()
    )
    by_alt = by_alt.join(
        shipment_keys.rename({"tracking_key": "alt_tracking_key"}), on="alt_tracking_key"
    )
    sid2 = _scatter(height, by_alt.get_column("_line"), by_alt.get_column("_sid").alias("_sid2"))
    sid = sid1.fill_null(sid2).alias("_sid")
    period = base.get_column("_period").gather(sid).alias("_p")
    frame = frame.with_columns(
        inv_rank,
        sid1,
        sid2,
        sid,
        period,
        # one unit lookup for both weights (to_pounds would look it up per column)
        _lb_per_unit=to_pounds(pl.lit(1.0), pl.col("weight_unit")),
    )

    hit1 = pl.col("_sid1").is_not_null()
    hit2 = pl.col("_sid2").is_not_null()
    ship_date = pl.col("ship_date")
    if window.start is None or window.end is None:
        line_period: pl.Expr = pl.lit(CURRENT)
    else:
        line_period = (
            pl.when(ship_date < window.start)
            .then(pl.lit(PRIOR))
            .when(ship_date > window.end)
            .then(pl.lit(NEXT))
            .otherwise(pl.lit(CURRENT))
        )
    frame = frame.with_columns(
        match_via=pl.when(hit1)
        .then(pl.lit("tracking_key"))
        .when(hit2)
        .then(pl.lit("alt_tracking_key"))
        .otherwise(pl.lit(None, dtype=pl.Utf8)),
        period=pl.coalesce(pl.col("_p"), line_period),
        _cents=cents(pl.col("amount")),
        _ship=(pl.col("charge_category") == "shipment").fill_null(False),
        _billed_lb=pl.col("billed_weight") * pl.col("_lb_per_unit"),
        _entered_lb=pl.col("entered_weight") * pl.col("_lb_per_unit"),
        _dim=pl.col("rated_on_dim").fill_null(False),
        # A package: the shipment's own when the line's number is the shipment's; another
        # package of it (multi-piece) when it came through the alternate key.
        _pkg=pl.when(hit1)
        .then(pl.col("_sid1").cast(pl.UInt64))
        .when(hit2 & pl.col("tracking_key").is_not_null())
        .then(pl.col("tracking_key").hash() | _ALT_PACKAGE)
        .when(hit2)
        .then(pl.col("_sid2").cast(pl.UInt64)),
    ).drop("_sid1", "_sid2", "_p", "_lb_per_unit")

    # Duplicate billing. (a) a package's shipment-category charges on more than one invoice:
    # every invoice after its earliest is a copy. (b) one invoice (one file of it) billing the
    # same transportation line twice: every copy after the first.
    shipped_pkg = pl.when(pl.col("_ship")).then(pl.col("_pkg"))
    transport = pl.col("_ship") & (pl.col("charge_type") == "transportation")
    transport_pkg = pl.when(transport).then(pl.col("_pkg"))
    frame = frame.with_columns(
        _later_invoice=(pl.col("_inv_rank") != pl.col("_inv_rank").min().over(shipped_pkg)),
        _several=transport
        & pl.col("_pkg").is_not_null()
        & (pl.len().over([transport_pkg, pl.col("_inv_rank")]) > 1),
    )
    candidates = frame.filter(pl.col("_several")).select(
        "_line", "_pkg", "_inv_rank", "source_file", "charge_description", "_cents"
    )
    copies = candidates.filter(
        pl.col("_line")
        != pl.col("_line")
        .min()
        .over(["_pkg", "_inv_rank", "source_file", "charge_description", "_cents"])
    ).get_column("_line")
    copy_on_invoice = _scatter(
        height, copies, pl.Series("_copy", [True] * copies.len(), dtype=pl.Boolean), fill=False
    )
    duplicate = (
        pl.col("_pkg").is_not_null()
        & pl.col("_ship")
        & (pl.col("_later_invoice").fill_null(False) | pl.col("_copy"))
    )
    frame = (
        frame.with_columns(copy_on_invoice)
        .with_columns(duplicate=duplicate.fill_null(False))
        .drop("_later_invoice", "_several", "_copy")
    )
    charge_type = pl.col("charge_type")
    category = pl.col("charge_category")
    claim = (
        pl.when(pl.col("duplicate"))
        .then(pl.lit(CLAIM_DUPLICATE))
        .when(charge_type == "address_correction")
        .then(pl.lit(CLAIM_ADDRESS))
        .when(category == "adjustment")
        .then(pl.lit(CLAIM_ADJUSTMENT))
        .when(category == "return")
        .then(pl.lit(CLAIM_RETURN))
        .when(charge_type.is_in(sorted(rules.surcharge_types)))
        .then(pl.lit(CLAIM_SURCHARGE))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    )
    return frame.with_columns(_claim=claim)


def unmatched_reasons(
    unmatched: pl.LazyFrame, after_keys: pl.Series, window: Window
) -> pl.LazyFrame:
    """The lines no shipment claims (few), with why (rule book, "Matching", rule 4)."""
    ship_date = pl.col("ship_date")
    no_key = pl.col("tracking_key").is_null()
    after = pl.col("tracking_key").is_in(after_keys.implode()).fill_null(False)
    before: pl.Expr = pl.lit(False)
    if window.end is not None:
        after = after | (ship_date > window.end).fill_null(False)
    if window.prev_start is not None:
        before = (ship_date < window.prev_start).fill_null(False)
    return unmatched.with_columns(
        _reason=pl.when(no_key & (pl.col("charge_category") == "invoice"))
        .then(pl.lit("invoice-level charge"))
        .when(pl.col("tracking_corrupted").fill_null(False))
        .then(pl.lit("tracking number corrupted"))
        .when(no_key)
        .then(pl.lit("no tracking number"))
        .when(after)
        .then(pl.lit("shipped after the period"))
        .when(before)
        .then(pl.lit("shipped before the months pulled"))
        .when(pl.col("charge_category") == "return")
        .then(pl.lit("return not in OKC"))
        .otherwise(pl.lit("not in OKC"))
    )


# Aggregations below use only masked columns and plain reductions (sum, min, max, any,
# n_unique): Polars runs those on its fast group-by path, where ``filter`` or ``sort_by``
# inside ``agg`` would fall back to evaluating every group on its own.


def _first_rank(condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.col("_inv_rank")).min()


def _sum_cents(condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.col("_cents")).otherwise(0).sum()


def _max_where(column: str, condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.col(column)).max()


_POD_SCALE = 100_000_000_000_000  # > nanoseconds in a day


def _codes(column: pl.Series) -> tuple[pl.Series, dict[str, int]]:
    """Small integer codes for a low-cardinality text column, and the values they stand for."""
    values = column.drop_nulls().unique().sort()
    return values, {value: index for index, value in enumerate(values.to_list())}


def aggregate_shipments(
    matched: pl.DataFrame, invoices: pl.DataFrame, rules: Rules
) -> pl.DataFrame:
    """Per ``_sid`` of the lines that bill a shipment: totals by charge type, claimed money,
    references and weights.

    Text columns are turned into small integer codes first (charge type, carrier, service),
    so the one pass over every line works on integers; the claimed lines (duplicates,
    corrections, adjustments, flagged surcharges: few) are summed on their own.
    """
    charge_codes = {t: i for i, t in enumerate(CHARGE_TYPES)}
    carriers, carrier_codes = _codes(matched.get_column("carrier"))
    services, service_codes = _codes(matched.get_column("service"))
    assigned_lazy = matched.lazy().filter(pl.col("_sid").is_not_null())
    frame = assigned_lazy.with_columns(
        _type=pl.col("charge_type").replace_strict(charge_codes, default=-1, return_dtype=pl.Int8),
        _carrier=pl.col("carrier").replace_strict(
            carrier_codes, default=None, return_dtype=pl.Int32
        ),
        _service=pl.col("service").replace_strict(
            service_codes, default=None, return_dtype=pl.Int32
        ),
        _not_return=pl.col("charge_category").fill_null("") != "return",
        # The latest POD date with its time, as one sortable integer (time + 1, 0 if unknown).
        _pod_key=pl.col("delivery_date").cast(pl.Int64) * _POD_SCALE
        + (pl.col("delivery_time").cast(pl.Int64) + 1).fill_null(0),
    )
    kind = pl.col("_type")
    ship = pl.col("_ship")
    transportation = kind == charge_codes["transportation"]
    not_return = pl.col("_not_return")
    main = frame.group_by("_sid").agg(
        carrier_total=pl.col("_cents").sum(),
        **{f"charge_{t}": _sum_cents(kind == i) for t, i in charge_codes.items()},
        _base=_sum_cents(pl.col("_claim").is_null()),
        _has_ship=ship.any(),
        line_count=pl.len().cast(pl.Int64),
        _first_rank=pl.col("_inv_rank").min(),
        _last_rank=pl.col("_inv_rank").max(),
        _carrier_ship=_max_where("_carrier", ship),
        _carrier_any=pl.col("_carrier").max(),
        _service_transport=_max_where("_service", ship & transportation),
        _service_ship=_max_where("_service", ship),
        _service_any=pl.col("_service").max(),
        _ship_date_first=pl.when(ship).then(pl.col("ship_date")).min(),
        _ship_date_any=pl.col("ship_date").min(),
        _pod_key=pl.col("_pod_key").max(),
        _refund=(kind == charge_codes["refund"]).any(),
        _transport=_sum_cents(ship & transportation & ~pl.col("duplicate")),
        _dim_cents=_sum_cents((kind == charge_codes["dimensional"]) & ~pl.col("duplicate")),
        rated_on_dim=pl.col("_dim").any(),
        _dim_over_entered=(pl.col("_dim") & (pl.col("_billed_lb") > pl.col("_entered_lb"))).any(),
        _dim_billed_no_entered=_max_where(
            "_billed_lb", pl.col("_dim") & pl.col("_entered_lb").is_null()
        ),
        _via_key=(pl.col("match_via") == "tracking_key").any(),
        _via_alt=(pl.col("match_via") == "alt_tracking_key").any(),
        # Weights of a one-package shipment; several packages are summed below.
        _pkg_first=pl.when(not_return).then(pl.col("_pkg")).min(),
        _pkg_last=pl.when(not_return).then(pl.col("_pkg")).max(),
        _entered_1=_max_where("_entered_lb", not_return),
        _billed_1=_max_where("_billed_lb", not_return),
        _billed_actual_1=_max_where("_billed_lb", not_return & ~pl.col("_dim")),
    )
    claim = pl.col("_claim")
    surcharges = sorted(rules.surcharge_types)
    claimed = (
        frame.filter(claim.is_not_null())
        .group_by("_sid")
        .agg(
            _dup=_sum_cents(claim == CLAIM_DUPLICATE),
            _dup_n=(claim == CLAIM_DUPLICATE).sum(),
            _dup_rank=_first_rank(claim == CLAIM_DUPLICATE),
            _addr=_sum_cents(claim == CLAIM_ADDRESS),
            _addr_rank=_first_rank(claim == CLAIM_ADDRESS),
            _adj=_sum_cents(claim == CLAIM_ADJUSTMENT),
            _adj_n=(claim == CLAIM_ADJUSTMENT).sum(),
            _adj_rank=_first_rank(claim == CLAIM_ADJUSTMENT),
            **{
                f"_sur_{t}": _sum_cents((claim == CLAIM_SURCHARGE) & (kind == charge_codes[t]))
                for t in surcharges
            },
            **{
                f"_sur_rank_{t}": _first_rank(
                    (claim == CLAIM_SURCHARGE) & (kind == charge_codes[t])
                )
                for t in surcharges
            },
        )
    )
    totals = (
        main.join(claimed, on="_sid", how="left")
        .with_columns(
            carrier_billed=pl.coalesce("_carrier_ship", "_carrier_any"),
            service_billed=pl.coalesce("_service_transport", "_service_ship", "_service_any"),
            _ship_date_billed=pl.coalesce("_ship_date_first", "_ship_date_any"),
            _pod=(pl.col("_pod_key") // _POD_SCALE).cast(pl.Date),
            _pod_time=pl.when(pl.col("_pod_key") % _POD_SCALE > 0)
            .then(((pl.col("_pod_key") % _POD_SCALE) - 1).cast(pl.Time))
            .otherwise(pl.lit(None, dtype=pl.Time)),
            _multi_package=(pl.col("_pkg_first") != pl.col("_pkg_last")).fill_null(False),
            _several_invoices=pl.col("_first_rank") != pl.col("_last_rank"),
        )
        .collect(engine="streaming")
    )
    totals = totals.with_columns(
        carriers.gather(totals.get_column("carrier_billed")).alias("carrier_billed"),
        services.gather(totals.get_column("service_billed")).alias("service_billed"),
    )
    invoices_lazy = invoices.lazy()
    # Multi-piece shipments (few): per package, then summed, since each package is weighed
    # and rounded on its own. Returns are other parcels and do not count.
    multi = totals.lazy().filter(pl.col("_multi_package")).select("_sid")
    packages = (
        assigned_lazy.join(multi, on="_sid", how="semi")
        .filter(pl.col("charge_category").fill_null("") != "return")
        .group_by("_sid", "_pkg")
        .agg(
            _e=pl.col("_entered_lb").max(),
            _b=pl.col("_billed_lb").max(),
            _ba=_max_where("_billed_lb", ~pl.col("_dim")),
        )
        .group_by("_sid")
        .agg(
            _entered_n=pl.when(pl.col("_e").count() > 0).then(pl.col("_e").sum()),
            _billed_n=pl.when(pl.col("_b").count() > 0).then(pl.col("_b").sum()),
            _billed_actual_n=pl.when(pl.col("_ba").count() > 0).then(pl.col("_ba").sum()),
            _actual_packages_n=pl.col("_ba").count().cast(pl.Int64),
        )
    )
    # Invoice numbers, in invoice order: one lookup for the common one-invoice shipment.
    numbers = invoices_lazy.select("_inv_rank", _number=pl.col("invoice_number"))
    several = totals.lazy().filter(pl.col("_several_invoices")).select("_sid")
    listed = (
        assigned_lazy.join(several, on="_sid", how="semi")
        .select("_sid", "_inv_rank")
        .unique()
        .join(numbers, on="_inv_rank", how="left")
        .group_by("_sid")
        .agg(
            _invoices_n=pl.len().cast(pl.Int64),
            _numbers=pl.col("_number").sort_by("_inv_rank").drop_nulls(),
        )
        .with_columns(_numbers=pl.col("_numbers").list.join(", "))
    )
    return (
        totals.lazy()
        .join(packages, on="_sid", how="left")
        .join(listed, on="_sid", how="left")
        .join(numbers, left_on="_first_rank", right_on="_inv_rank", how="left")
        .with_columns(
            entered_weight_lb=pl.when(pl.col("_multi_package"))
            .then(pl.col("_entered_n"))
            .otherwise(pl.col("_entered_1")),
            billed_weight_lb=pl.when(pl.col("_multi_package"))
            .then(pl.col("_billed_n"))
            .otherwise(pl.col("_billed_1")),
            _billed_actual_lb=pl.when(pl.col("_multi_package"))
            .then(pl.col("_billed_actual_n"))
            .otherwise(pl.col("_billed_actual_1")),
            _actual_packages=pl.when(pl.col("_multi_package"))
            .then(pl.col("_actual_packages_n"))
            .otherwise(pl.col("_billed_actual_1").is_not_null().cast(pl.Int64)),
            invoice_numbers=pl.coalesce("_numbers", "_number"),
            invoice_count=pl.coalesce("_invoices_n", pl.lit(1, dtype=pl.Int64)),
        )
        .collect(engine="in-memory")
    )


def _charge_model(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().str.replace_all(r"[^a-z]+", "_").str.strip_chars("_")


def assemble_shipments(
    base: pl.LazyFrame, totals: pl.LazyFrame, rules: Rules, weight_unit: str | None
) -> pl.LazyFrame:
    """One row per shipment: the fulfillment, its billed totals, expected charge, variances.

    ``base`` carries ``_sid``. Keeps the helper columns (``_…``) the issues need; money stays
    in cents here.
    """
    numerator, denominator = markup_ratio(rules.markup)
    flat = (_charge_model(pl.col("shipping_charge_model")) == "flat_rate").fill_null(False)
    okc_cents = cents(pl.col("shipping_net_charge"))
    derive = okc_cents.is_not_null() & (~flat | pl.lit(rules.compare_flat_rate))
    surcharge_columns = [f"_sur_{t}" for t in sorted(rules.surcharge_types)]
    zero = [
        "carrier_total",
        *(f"charge_{t}" for t in CHARGE_TYPES),
        "_base",
        "_dup",
        "_dup_n",
        "_addr",
        "_adj",
        "_adj_n",
        *surcharge_columns,
        "line_count",
        "invoice_count",
        "_transport",
        "_dim_cents",
    ]
    false = ["_has_ship", "rated_on_dim", "_refund", "_dim_over_entered", "_via_key", "_via_alt"]
    okc_weight: pl.Expr = pl.lit(None, dtype=pl.Float64)
    if weight_unit is not None:
        okc_weight = (
            pl.when(pl.col("weight") > 0).then(to_pounds(pl.col("weight"), weight_unit)).round(6)
        )
    return (
        base.join(totals, on="_sid", how="left", maintain_order="left")
        .with_columns(
            *(pl.col(c).fill_null(0) for c in zero),
            *(pl.col(c).fill_null(False) for c in false),
            _okc_cents=okc_cents,
            _expected=pl.when(derive).then(div_half_up(okc_cents, numerator, denominator)),
            _okc_carrier=pl.col("carrier"),
        )
        .with_columns(
            _variance=pl.col("carrier_total") - pl.col("_expected"),
            _unexplained=pl.col("_base") - pl.col("_expected"),
            _billed_canceled=pl.col("_canceled")
            & (pl.col("line_count") > 0)
            & (pl.col("carrier_total") > 0),
            carrier=pl.coalesce(pl.col("carrier"), pl.col("carrier_billed")),
            service=pl.col("_service"),
            period=pl.col("_period"),
            ship_date=pl.coalesce(pl.col("_ship_date_billed"), pl.col("_pickup")),
            delivery_date=pl.coalesce(pl.col("_pod"), pl.col("_okc_delivery")),
            okc_weight_lb=okc_weight,
            match_via=pl.when(pl.col("_via_key") & pl.col("_via_alt"))
            .then(pl.lit("both"))
            .when(pl.col("_via_key"))
            .then(pl.lit("tracking_key"))
            .when(pl.col("_via_alt"))
            .then(pl.lit("alt_tracking_key"))
            .otherwise(pl.lit(None, dtype=pl.Utf8)),
        )
    )
