"""Matching (rule book, "Matching" and "Shipment totals").

Which fulfillments are shipments of the run and which cannot be reconciled; which invoice line
bills which shipment and why the others match nothing; the per-line flags the issues build on
(duplicate copies, which issue claims a line's money); and the per-shipment aggregates.

How it stays fast (1,000,000 shipments, 3,000,000 lines on two cores):

- Text is looked at once. Every invoice line becomes a narrow row of integers (``line_work``):
  its tracking key and invoice as 64-bit hashes, its charge type, carrier and service as small
  codes, money as whole cents. Hash joins are verified by comparing the text of the pairs they
  produce, so a hash collision can never match a line to the wrong shipment.
- Shipments are numbered ``_sid`` = their row in ``base``; per-shipment frames are laid out by
  that number (a gather, not a join).
- Work that concerns few rows runs on those rows only: the alternate key (lines their own key
  did not match), duplicate billing (shipments whose shipment-category lines span invoices or
  that have several transportation lines), multi-piece weights, invoice-number lists.
- Frames built from columns of different chunk layouts are slow in Polars (every operation
  re-aligns them), so the work frames are rechunked once when they are made.

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
from okc_recon.weights import POUNDS_PER, to_pounds

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
    "invoices_table",
    "line_period",
    "line_work",
    "match_lines",
    "money",
    "scatter",
    "unmatched_reasons",
]

CURRENT, PRIOR, NEXT = "current", "prior", "next"
_AFTER = "after"  # a fulfillment picked up after the period: not a shipment of this run

# What claims a line's money (the order is the precedence: a line is claimed once), as the
# small integer codes of ``_claim`` (null: nothing claims it).
CLAIM_DUPLICATE = 1  # DUPLICATE_BILLING
CLAIM_ADDRESS = 2  # ADDRESS_CORRECTION
CLAIM_ADJUSTMENT = 3  # ADJUSTMENT
CLAIM_RETURN = 4  # a return label: not OKC's outbound charge, and no issue
CLAIM_SURCHARGE = 5  # SURCHARGE

#: ``charge_type`` as a small code (``-1`` for a type outside ``schema.CHARGE_TYPES``).
TYPE_CODES = {t: i for i, t in enumerate(CHARGE_TYPES)}

# ``match_via`` codes of a line (``_via``).
_VIA_KEY, _VIA_ALT = 1, 2


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
    """A :data:`~okc_recon.money.MONEY` expression as whole cents (exact).

    A 2-place decimal is stored as its number of hundredths: that integer is the cents.
    """
    return amount.to_physical().cast(pl.Int64)


def money(cents_expr: pl.Expr) -> pl.Expr:
    """Whole cents back to :data:`~okc_recon.money.MONEY`, exactly.

    Cents as a 0-place decimal times ``0.01`` is a 2-place decimal with the same integer:
    no rounding, and several times faster than scaling up and dividing by 100.
    """
    # (from text: a Decimal literal would import NumPy, a quarter second on first use)
    hundredth = pl.lit("0.01").cast(pl.Decimal(38, 2))
    return (cents_expr.cast(pl.Decimal(38, 0)) * hundredth).cast(MONEY)


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


def scatter(
    length: int, indices: pl.Series, values: pl.Series, fill: bool | None = None
) -> pl.Series:
    """A series of ``length`` holding ``values`` at ``indices`` and ``fill`` elsewhere."""
    full = pl.Series(values.name, dtype=values.dtype).extend_constant(fill, length)
    return full.scatter(indices, values) if indices.len() else full


def _flags(length: int, indices: pl.Series) -> pl.Series:
    """A boolean series of ``length``: true at ``indices``."""
    return scatter(length, indices, pl.repeat(True, indices.len(), eager=True), fill=False)


def _key_hash(key: pl.Expr) -> pl.Expr:
    """A text key's 64-bit hash (null for a null key). Matches are verified on the text."""
    return pl.when(key.is_not_null()).then(key.hash())


def _date_of(expr: pl.Expr) -> pl.Expr:
    return expr.dt.date()


def classify_fulfillments(fulfillments: pl.DataFrame, rules: Rules, window: Window) -> pl.DataFrame:
    """Every fulfillment, in input order, with ``_reason`` (null for a shipment of the run).

    Adds ``_f_row`` (input order), ``_period`` (current, prior or after), ``_pickup`` and
    ``_okc_delivery`` (dates, UTC), ``_canceled``, ``_service`` (with the rules' service map).
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
    key = pl.col("tracking_key")
    after = pl.col("_period") == _AFTER
    frame = (
        fulfillments.lazy()
        .with_row_index("_f_row")
        .with_columns(
            _pickup=pickup,
            _okc_delivery=_date_of(pl.col("delivery_date")),
            _period=period,
            _canceled=status.str.contains(rules.canceled_statuses).fill_null(False),
            _service=service,
        )
        # Rule 2 candidates: fulfillments of the run whose key's hash is not unique (a
        # superset of those sharing the key itself, which is decided on the text below).
        .with_columns(_maybe_shared=_key_hash(pl.when(~after).then(key)).is_duplicated())
        .with_columns(_maybe_shared=pl.col("_maybe_shared") & key.is_not_null() & ~after)
        .collect(engine="in-memory")
    )
    # Rule 2: among the run's fulfillments sharing a tracking key (few), the earliest created
    # is the shipment's; the order is total (created_at, then id, then input row).
    order = [pl.col("created_at"), pl.col("fulfillment_id"), pl.col("_f_row")]
    shared = (
        frame.lazy()
        .filter(pl.col("_maybe_shared"))
        .select("_f_row", "tracking_key", "created_at", "fulfillment_id")
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
        .filter(pl.col("_f_row") != pl.col("_primary_row"))
        .select(
            "_f_row",
            _shared_reason=pl.format(
                "shares tracking number with fulfillment {}",
                pl.col("_primary_id").fill_null("(no id)"),
            ),
        )
        .collect(engine="in-memory")
    )
    shared_reason = scatter(
        frame.height, shared.get_column("_f_row"), shared.get_column("_shared_reason")
    )
    # Without a tracking key (few rows): why. The raw number is looked at only there.
    raw = pl.col("tracking_number").str.strip_chars()
    has_raw = raw.is_not_null() & (raw != "")
    unkeyed = frame.filter(key.is_null()).select(
        "_f_row",
        _reason=pl.when(has_raw & tracking.is_float_artifact(raw).fill_null(False))
        .then(pl.lit("tracking number corrupted"))
        .when(has_raw)
        .then(pl.lit("tracking number unusable"))
        .when(pl.col("_canceled"))
        .then(pl.lit("canceled before shipping"))
        .when(status.str.contains(rules.pre_shipment_statuses).fill_null(False))
        .then(pl.lit("not shipped yet"))
        .otherwise(pl.lit("no tracking number")),
    )
    unkeyed_reason = scatter(
        frame.height, unkeyed.get_column("_f_row"), unkeyed.get_column("_reason")
    )
    after_reason = (
        pl.when(pl.col("_pickup").is_not_null())
        .then(pl.lit("picked up after the period"))
        .otherwise(pl.lit("created after the period"))
    )
    return frame.with_columns(
        _reason=pl.when(key.is_null())
        .then(unkeyed_reason)
        .when(after)
        .then(after_reason)
        .otherwise(shared_reason)
    ).drop("_maybe_shared")


def _invoice_hash() -> pl.Expr:
    # An invoice is its carrier and number; a postage-tool export without numbers: its file.
    number = pl.col("invoice_number")
    return pl.struct(
        pl.col("carrier").fill_null(""),
        number,
        pl.when(number.is_null()).then(pl.col("source_file").fill_null("")),
    ).hash()


def _invoice_id() -> pl.Expr:
    # The invoice as text (orders invoices of the same date).
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


def _codes(column: pl.Series) -> tuple[pl.Series, pl.Expr]:
    """Small integer codes for a low-cardinality text column (an expression over it), and the
    values they stand for (code ``i`` is ``values[i]``; null stays null)."""
    values = column.drop_nulls().unique().sort()
    code = pl.col(column.name).cast(pl.Enum(values)).to_physical().cast(pl.Int32)
    return values, code


@dataclass(frozen=True)
class Codes:
    """What the integer codes of ``line_work`` stand for."""

    carriers: pl.Series
    services: pl.Series


_POD_SCALE = 100_000_000_000_000  # > nanoseconds in a day


def line_work(lines: pl.DataFrame) -> tuple[pl.DataFrame, Codes]:
    """Every invoice line as a narrow row of numbers (one pass over the text), in input order.

    ``_line`` (row), ``_kh`` (tracking key hash), ``_alt`` (has an alternate key), ``_inv_h``
    (invoice hash), ``_type`` (charge type code), ``_ship`` / ``_return`` / ``_adjust``
    (charge category), ``_cents``, weights in pounds, ``_dim``, ``ship_date``, ``_pod_key``
    (POD date and time as one sortable integer), ``_carrier`` and ``_service`` codes.
    """
    carriers, carrier_code = _codes(lines.get_column("carrier"))
    services, service_code = _codes(lines.get_column("service"))
    category = pl.col("charge_category")
    # one unit lookup for both weights (as to_pounds, null for a null or unknown unit)
    unit = pl.col("weight_unit")
    per_unit: pl.Expr = pl.lit(None, dtype=pl.Float64)
    for name, factor in POUNDS_PER.items():
        per_unit = pl.when(unit == name).then(factor).otherwise(per_unit)
    charge_type = pl.col("charge_type").cast(pl.Enum(CHARGE_TYPES), strict=False)
    work = (
        lines.lazy()
        .select(
            _kh=_key_hash(pl.col("tracking_key")),
            _alt=pl.col("alt_tracking_key").is_not_null(),
            _inv_h=_invoice_hash(),
            # (-1: a type outside schema.CHARGE_TYPES, or none)
            _type=charge_type.to_physical().cast(pl.Int8).fill_null(-1),
            _ship=(category == "shipment").fill_null(False),
            _return=(category == "return").fill_null(False),
            _adjust=(category == "adjustment").fill_null(False),
            _cents=cents(pl.col("amount")),
            _billed_lb=pl.col("billed_weight") * per_unit,
            _entered_lb=pl.col("entered_weight") * per_unit,
            _dim=pl.col("rated_on_dim").fill_null(False),
            ship_date=pl.col("ship_date"),
            # the latest POD date with its time, as one integer (time + 1, 0 if unknown)
            _pod_key=pl.col("delivery_date").cast(pl.Int64) * _POD_SCALE
            + (pl.col("delivery_time").cast(pl.Int64) + 1).fill_null(0),
            _carrier=carrier_code,
            _service=service_code,
        )
        .collect(engine="in-memory")
        .rechunk()
        .with_row_index("_line")
    )
    return work, Codes(carriers=carriers, services=services)


def invoices_table(lines: pl.DataFrame, work: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """One row per invoice, in invoice order (``_inv_rank`` 0: the earliest), and each line's
    rank.

    Invoices are grouped by their hash; a group whose lines do not all name the same invoice
    (a hash collision: never seen, but possible) makes the grouping fall back to the text.
    """
    number = pl.col("invoice_number")
    file_if_no_number = pl.when(number.is_null()).then(pl.col("source_file").fill_null(""))

    def same(expr: pl.Expr) -> pl.Expr:
        nulls = expr.null_count()
        return ((nulls == 0) | (nulls == pl.len())) & (expr.min() == expr.max()).fill_null(True)

    account = pl.col("account_number")
    grouped = (
        lines.lazy()
        .with_row_index("_line")
        .group_by(_inv_h=_invoice_hash())
        .agg(
            # every line of a group names the same invoice (checked by _same), so any line's
            # carrier, number and file are the invoice's
            pl.col("invoice_number").min(),
            pl.col("invoice_date").min(),
            pl.col("carrier").fill_null("").min(),
            pl.col("source_file").min(),
            _account_line=pl.when(account.is_not_null()).then(pl.col("_line")).min(),
            _same=same(pl.col("carrier").fill_null("")) & same(number) & same(file_if_no_number),
        )
        .collect(engine="streaming")
    )
    if grouped.get_column("_same").all():
        # the first account number given on the invoice's lines
        table = grouped.with_columns(
            _inv_id=_invoice_id(),
            account_number=lines.get_column("account_number").gather(
                grouped.get_column("_account_line")
            ),
        ).drop("_same", "_account_line")
        key = work.get_column("_inv_h")
    else:  # a 64-bit hash collision between two invoices: group on the text
        ids = lines.select(_invoice_id()).to_series()
        table = (
            lines.lazy()
            .select("invoice_number", "invoice_date", "account_number", _inv_id=ids)
            .group_by("_inv_id")
            .agg(
                pl.col("invoice_number").first(),
                pl.col("invoice_date").min(),
                pl.col("account_number").drop_nulls().first(),
            )
            .with_columns(_inv_h=pl.col("_inv_id"))
            .collect(engine="in-memory")
        )
        key = ids
    table = (
        table.sort(["invoice_date", "_inv_id"], nulls_last=True)
        .with_row_index("_inv_rank")
        .with_columns(pl.col("_inv_rank").cast(pl.Int64))
    )
    ranks = key.replace_strict(
        table.get_column("_inv_h"), table.get_column("_inv_rank"), return_dtype=pl.Int64
    ).alias("_inv_rank")
    return table.select(
        "_inv_rank", "_inv_id", "invoice_number", "invoice_date", "account_number"
    ), ranks


def _verified_pairs(
    pairs: pl.DataFrame, line_keys: pl.Series, shipment_keys: pl.Series
) -> pl.DataFrame:
    """``pairs`` (``_line``, ``_sid``) whose line key equals the shipment key (hash joins)."""
    same = line_keys.gather(pairs.get_column("_line")) == shipment_keys.gather(
        pairs.get_column("_sid")
    )
    return pairs.filter(same)


def match_lines(
    lines: pl.DataFrame, work: pl.DataFrame, base: pl.DataFrame, window: Window
) -> pl.DataFrame:
    """``work`` with each line's shipment: ``_sid`` (null when the line bills none) and
    ``_via`` (1 own key, 2 alternate key).

    ``base`` holds the shipments: ``_sid`` (their row number), ``tracking_key``. A line is
    matched by its own key through a hash join verified on the text; lines their own number
    did not match (few) then try the alternate key.
    """
    height = work.height
    shipment_keys = base.get_column("tracking_key")
    by_key = (
        work.lazy()
        .select("_line", "_kh")
        .filter(pl.col("_kh").is_not_null())
        .join(
            base.lazy().select("_sid", _kh=_key_hash(pl.col("tracking_key"))),
            on="_kh",
            how="inner",
        )
        .select("_line", "_sid")
        .collect(engine="streaming")
    )
    # (one chunk: the pairs gather the line keys in no particular order)
    by_key = _verified_pairs(by_key, lines.get_column("tracking_key").rechunk(), shipment_keys)
    sid1 = scatter(height, by_key.get_column("_line"), by_key.get_column("_sid"))
    # Only lines their own number did not match look at the alternate key (few).
    unmatched_alt = work.filter(sid1.is_null() & work.get_column("_alt")).get_column("_line")
    by_alt = (
        pl.DataFrame(
            {
                "_line": unmatched_alt,
                "tracking_key": lines.get_column("alt_tracking_key").gather(unmatched_alt),
            }
        )
        .join(base.select("tracking_key", "_sid"), on="tracking_key", how="inner")
        .select("_line", "_sid")
    )
    sid2 = scatter(height, by_alt.get_column("_line"), by_alt.get_column("_sid"))
    return work.with_columns(
        _sid=sid1.fill_null(sid2),
        _via=pl.when(sid1.is_not_null())
        .then(pl.lit(_VIA_KEY, dtype=pl.Int8))
        .when(sid2.is_not_null())
        .then(pl.lit(_VIA_ALT, dtype=pl.Int8)),
    )


def line_period(window: Window) -> pl.Expr:
    """The period a line's ``ship_date`` falls in (that of a line no shipment claims)."""
    ship_date = pl.col("ship_date")
    if window.start is None or window.end is None:
        return pl.lit(CURRENT)
    return (
        pl.when(ship_date < window.start)
        .then(pl.lit(PRIOR))
        .when(ship_date > window.end)
        .then(pl.lit(NEXT))
        .otherwise(pl.lit(CURRENT))
    )


def _package() -> pl.Expr:
    """A matched line's package as an integer: the shipment's own when the line's number is
    the shipment's; another package of it (multi-piece) when it came through the alternate
    key with a number of its own. Only the few lines of the steps that need it get one."""
    sid = pl.col("_sid").cast(pl.UInt64)
    return (
        pl.when(pl.col("_via") == _VIA_KEY)
        .then(sid)
        .when((pl.col("_via") == _VIA_ALT) & pl.col("_kh").is_not_null())
        .then(pl.col("_kh") | _ALT_PACKAGE)
        .otherwise(sid)
        .alias("_pkg")
    )


# High bit of a package id: an alternate-key package (its own number hashed), never a _sid.
_ALT_PACKAGE = 1 << 63
# Above any code or day number (see _per_shipment).
_LIFT = 1 << 24


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


# Aggregations below use only masked columns and plain reductions (sum, min, max, any): the
# streaming engine runs those in one pass, where ``filter`` or ``sort_by`` inside ``agg``
# would evaluate every group on its own.


def _first_rank(condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.col("_inv_rank")).min()


def _sum_cents(condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.col("_cents")).otherwise(0).sum()


def _max_where(column: str, condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(pl.col(column)).max()


def _claim(duplicate: pl.Expr, rules: Rules) -> pl.Expr:
    """Which issue claims a line's money (``CLAIM_…``), the first that applies."""
    kind = pl.col("_type")
    surcharges = [TYPE_CODES[t] for t in sorted(rules.surcharge_types)]
    return (
        pl.when(duplicate)
        .then(pl.lit(CLAIM_DUPLICATE, dtype=pl.Int8))
        .when(kind == TYPE_CODES["address_correction"])
        .then(pl.lit(CLAIM_ADDRESS, dtype=pl.Int8))
        .when(pl.col("_adjust"))
        .then(pl.lit(CLAIM_ADJUSTMENT, dtype=pl.Int8))
        .when(pl.col("_return"))
        .then(pl.lit(CLAIM_RETURN, dtype=pl.Int8))
        .when(kind.is_in(surcharges))
        .then(pl.lit(CLAIM_SURCHARGE, dtype=pl.Int8))
    )


def _per_shipment(
    lines: pl.LazyFrame, rules: Rules, types: list[int]
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Per-``_sid`` aggregates of assigned lines carrying ``duplicate`` and ``_claim``.

    One row per shipment with the totals every shipment needs (``types``: the charge type
    codes present; the others are zero); and frames with a row only for the shipments that
    have lines of a rare kind (claimed money; dimensional, refund and alternate-key lines),
    aggregated on those lines alone. A shipment without such lines has the aggregates' empty
    values there (0, false, null).
    """
    kind = pl.col("_type")
    ship = pl.col("_ship")
    transportation = kind == TYPE_CODES["transportation"]
    not_return = ~pl.col("_return")
    claim = pl.col("_claim")
    duplicate = pl.col("duplicate")
    rank = pl.col("_inv_rank")
    # "The first that applies" choices (the billing carrier: a shipment-category line's, else
    # any line's) are one max or min over an encoded value: the preferred lines' codes are
    # lifted above the others', so a single reduction picks among them first.
    carrier = pl.when(ship).then(pl.col("_carrier") + _LIFT).otherwise(pl.col("_carrier"))
    service = (
        pl.when(ship & transportation)
        .then(pl.col("_service") + 2 * _LIFT)
        .when(ship)
        .then(pl.col("_service") + _LIFT)
        .otherwise(pl.col("_service"))
    )
    day = pl.col("ship_date").cast(pl.Int32)
    ship_day = pl.when(ship).then(day).otherwise(day + _LIFT)
    main = (
        lines.group_by("_sid")
        .agg(
            carrier_total=pl.col("_cents").sum(),
            **{f"charge_{t}": _sum_cents(kind == i) for t, i in TYPE_CODES.items() if i in types},
            _base=_sum_cents(claim.is_null()),
            _has_ship=ship.any(),
            line_count=pl.len().cast(pl.Int64),
            _first_rank=rank.min(),
            _last_rank=rank.max(),
            _carrier_billed=carrier.max(),
            _service_billed=service.max(),
            _ship_day=ship_day.min(),
            _pod_key=pl.col("_pod_key").max(),
            _transport=_sum_cents(ship & transportation & ~duplicate),
            # Weights of a one-package shipment; several packages are summed later.
            _entered_1=_max_where("_entered_lb", not_return),
            _billed_1=_max_where("_billed_lb", not_return),
            _billed_actual_1=_max_where("_billed_lb", not_return & ~pl.col("_dim")),
            _transport_lines=(ship & transportation).sum(),
        )
        .with_columns(
            # Whether the shipment may hold duplicate copies (its exact check runs on few):
            # lines on several invoices or several transportation lines (alternate-key
            # packages are the third reason, from the rare lines below).
            _dup_candidate=(pl.col("_first_rank") != pl.col("_last_rank"))
            | (pl.col("_transport_lines") > 1),
            _several_invoices=pl.col("_first_rank") != pl.col("_last_rank"),
            _carrier_billed=pl.col("_carrier_billed") % _LIFT,
            _service_billed=pl.col("_service_billed") % _LIFT,
            _ship_date_billed=pl.when(pl.col("_ship_day") >= _LIFT // 2)
            .then(pl.col("_ship_day") - _LIFT)
            .otherwise(pl.col("_ship_day"))
            .cast(pl.Date),
        )
        .drop("_last_rank", "_transport_lines", "_ship_day")
        .collect(engine="streaming")
    )
    surcharge = claim == CLAIM_SURCHARGE
    claimed = (
        lines.filter(claim.is_not_null())
        .group_by("_sid")
        .agg(
            _dup=_sum_cents(claim == CLAIM_DUPLICATE),
            _dup_n=(claim == CLAIM_DUPLICATE).sum().cast(pl.Int64),
            _dup_rank=_first_rank(claim == CLAIM_DUPLICATE),
            _addr=_sum_cents(claim == CLAIM_ADDRESS),
            _addr_rank=_first_rank(claim == CLAIM_ADDRESS),
            _adj=_sum_cents(claim == CLAIM_ADJUSTMENT),
            _adj_n=(claim == CLAIM_ADJUSTMENT).sum().cast(pl.Int64),
            _adj_rank=_first_rank(claim == CLAIM_ADJUSTMENT),
            **{
                f"_sur_{t}": _sum_cents(surcharge & (kind == TYPE_CODES[t]))
                for t in sorted(rules.surcharge_types)
            },
            **{
                f"_sur_rank_{t}": _first_rank(surcharge & (kind == TYPE_CODES[t]))
                for t in sorted(rules.surcharge_types)
            },
        )
        .collect(engine="streaming")
    )
    refund = kind == TYPE_CODES["refund"]
    dimensional = kind == TYPE_CODES["dimensional"]
    via_alt = pl.col("_via") == _VIA_ALT
    rare = (
        lines.filter(refund | dimensional | pl.col("_dim") | via_alt)
        .group_by("_sid")
        .agg(
            _refund=refund.any(),
            _dim_cents=_sum_cents(dimensional & ~duplicate),
            rated_on_dim=pl.col("_dim").any(),
            _dim_over_entered=(
                pl.col("_dim") & (pl.col("_billed_lb") > pl.col("_entered_lb"))
            ).any(),
            _dim_billed_no_entered=_max_where(
                "_billed_lb", pl.col("_dim") & pl.col("_entered_lb").is_null()
            ),
            _via_alt=via_alt.any(),
            _alt_lines=via_alt.sum().cast(pl.Int64),
            # a package of its own (multi-piece): its id is shared by every shipment it bills
            _alt_package=(via_alt & pl.col("_kh").is_not_null()).any(),
        )
        .collect(engine="streaming")
    )
    return main, [claimed, rare]


def _duplicates(lines: pl.DataFrame) -> pl.Series:
    """Which of ``lines`` (every line of some shipments) are duplicate copies.

    (a) a package's shipment-category charges on more than one invoice: every invoice after
    its earliest is a copy. (b) one invoice (one file of it) billing the same transportation
    line twice: every copy after the first.
    """
    ship = pl.col("_ship")
    shipped_pkg = pl.when(ship).then(pl.col("_pkg"))
    transport = ship & (pl.col("_type") == TYPE_CODES["transportation"])
    transport_pkg = pl.when(transport).then(pl.col("_pkg"))
    # (b)'s candidates: a package's transportation lines on an invoice that has several
    several = (
        transport
        & pl.col("_pkg").is_not_null()
        & (pl.len().over([transport_pkg, pl.col("_inv_rank")]) > 1)
    )
    same_line = ["_pkg", "_inv_rank", "source_file", "charge_description", "_cents"]
    first_of_same = pl.when(pl.col("_several")).then(pl.col("_line")).min().over(same_line)
    return (
        lines.with_columns(_several=several)
        .select(
            (
                pl.col("_pkg").is_not_null()
                & ship
                & (
                    (pl.col("_inv_rank") != pl.col("_inv_rank").min().over(shipped_pkg)).fill_null(
                        False
                    )
                    | (pl.col("_several") & (pl.col("_line") != first_of_same))
                )
            )
            .fill_null(False)
            .alias("duplicate")
        )
        .to_series()
    )


def aggregate_shipments(
    lines: pl.DataFrame,
    matched: pl.DataFrame,
    invoices: pl.DataFrame,
    codes: Codes,
    shipments: int,
    rules: Rules,
) -> tuple[pl.DataFrame, pl.Series]:
    """Per shipment (``shipments`` rows, in ``_sid`` order): totals by charge type, claimed
    money, references and weights; and each line's ``duplicate`` flag.

    One streaming pass over every assigned line assumes no duplicates; the shipments that may
    hold some (their shipment-category lines span invoices, several transportation lines, or
    an alternate-key package) are then checked exactly and totalled again, on their lines only.
    """
    height = matched.height
    types = matched.get_column("_type").unique().to_list()
    assigned = matched.lazy().filter(pl.col("_sid").is_not_null())
    main, sparse = _per_shipment(
        assigned.with_columns(duplicate=pl.lit(False), _claim=_claim(pl.lit(False), rules)),
        rules,
        types,
    )
    # Laid out by _sid: row i is shipment i (null for a shipment no line bills).
    rows = scatter(
        shipments, main.get_column("_sid"), pl.int_range(main.height, dtype=pl.UInt32, eager=True)
    )
    candidates = pl.concat(
        [
            main.select(pl.col("_sid").filter(pl.col("_dup_candidate"))).to_series(),
            sparse[1].select(pl.col("_sid").filter(pl.col("_alt_package"))).to_series(),
        ]
    ).unique()
    duplicate = pl.repeat(False, height, eager=True).alias("duplicate")
    if candidates.len():
        in_candidate = _flags(shipments, candidates)
        index = in_candidate.gather(matched.get_column("_sid")).fill_null(False).arg_true()
        subset = matched[index]
        subset = subset.with_columns(
            _package(),
            lines.get_column("source_file").gather(index),
            lines.get_column("charge_description").gather(index),
        )
        subset = subset.with_columns(_duplicates(subset))
        duplicate = scatter(height, index, subset.get_column("duplicate"), fill=False).alias(
            "duplicate"
        )
        main_again, sparse_again = _per_shipment(
            subset.lazy().with_columns(_claim=_claim(pl.col("duplicate"), rules)), rules, types
        )
        rows = rows.scatter(
            main_again.get_column("_sid"),
            pl.int_range(main.height, main.height + main_again.height, dtype=pl.UInt32, eager=True),
        )
        main = pl.concat([main, main_again.select(main.columns)], rechunk=False)
        sparse = [
            pl.concat(
                [
                    first.filter(~in_candidate.gather(first.get_column("_sid"))),
                    again.select(first.columns),
                ]
            )
            for first, again in zip(sparse, sparse_again, strict=True)
        ]
    totals = main[rows].drop("_sid", "_dup_candidate")

    def spread(frame: pl.DataFrame, column: str) -> pl.Series:
        return scatter(shipments, frame.get_column("_sid"), frame.get_column(column))

    totals = totals.with_columns(
        *(spread(frame, c) for frame in sparse for c in frame.columns if c != "_sid"),
        carrier_billed=codes.carriers.gather(totals.get_column("_carrier_billed")),
        service_billed=codes.services.gather(totals.get_column("_service_billed")),
        _pod=(pl.col("_pod_key") // _POD_SCALE).cast(pl.Date),
        _pod_time=pl.when(pl.col("_pod_key") % _POD_SCALE > 0)
        .then(((pl.col("_pod_key") % _POD_SCALE) - 1).cast(pl.Time))
        .otherwise(pl.lit(None, dtype=pl.Time)),
        _sid=pl.int_range(shipments, dtype=pl.UInt32),
    ).drop("_carrier_billed", "_service_billed", "_pod_key")
    totals = totals.with_columns(
        _via_key=pl.col("line_count") > pl.col("_alt_lines").fill_null(0)
    ).drop("_alt_lines")
    line_sid = matched.get_column("_sid")
    # Multi-piece shipments (few: only an alternate-key package makes a second one): per
    # package, then summed, since each package is weighed and rounded on its own. Returns
    # are other parcels and do not count.
    alt = totals.select(pl.col("_sid").filter(pl.col("_alt_package"))).to_series()
    packages = (
        matched.lazy()
        .filter(_flags(shipments, alt).gather(line_sid).fill_null(False) & ~pl.col("_return"))
        .group_by("_sid", _package())
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
            _packages_n=pl.len(),
        )
        .collect(engine="in-memory")
    )
    # Invoice numbers, in invoice order: one lookup for the common one-invoice shipment.
    several = totals.select(pl.col("_sid").filter(pl.col("_several_invoices"))).to_series()
    numbers = invoices.get_column("invoice_number")
    listed = (
        matched.lazy()
        .filter(_flags(shipments, several).gather(line_sid).fill_null(False))
        .select("_sid", "_inv_rank")
        .unique()
        .group_by("_sid")
        .agg(
            _invoices_n=pl.len().cast(pl.Int64),
            _numbers=pl.col("_inv_rank").sort(),
        )
        .collect(engine="in-memory")
    )

    joined = (
        listed.lazy()
        .explode("_numbers")
        .join(
            invoices.lazy().select(_numbers="_inv_rank", _number="invoice_number"),
            on="_numbers",
            how="left",
            maintain_order="left",
        )
        .group_by("_sid", maintain_order=True)
        .agg(pl.col("_number").drop_nulls().str.join(", "))
        .collect(engine="in-memory")
    )
    first_number = numbers.gather(totals.get_column("_first_rank"))
    multi_package = (spread(packages, "_packages_n") > 1).fill_null(False)
    billed = pl.col("line_count").is_not_null()
    return totals.with_columns(
        entered_weight_lb=pl.when(multi_package)
        .then(spread(packages, "_entered_n"))
        .otherwise(pl.col("_entered_1")),
        billed_weight_lb=pl.when(multi_package)
        .then(spread(packages, "_billed_n"))
        .otherwise(pl.col("_billed_1")),
        _billed_actual_lb=pl.when(multi_package)
        .then(spread(packages, "_billed_actual_n"))
        .otherwise(pl.col("_billed_actual_1")),
        _actual_packages=pl.when(multi_package)
        .then(spread(packages, "_actual_packages_n"))
        .when(billed)
        .then(pl.col("_billed_actual_1").is_not_null().cast(pl.Int64)),
        invoice_numbers=pl.coalesce(spread(joined, "_number"), first_number),
        invoice_count=pl.when(billed).then(
            pl.coalesce(spread(listed, "_invoices_n"), pl.lit(1, dtype=pl.Int64))
        ),
    ).drop("_alt_package"), duplicate


def _charge_model(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().str.replace_all(r"[^a-z]+", "_").str.strip_chars("_")


def assemble_shipments(
    base: pl.DataFrame, totals: pl.DataFrame, rules: Rules, weight_unit: str | None
) -> pl.DataFrame:
    """One row per shipment: the fulfillment, its billed totals, expected charge, variances.

    ``base`` and ``totals`` are both laid out by ``_sid``. Keeps the helper columns (``_…``)
    the issues need; money stays in cents here.
    """
    numerator, denominator = markup_ratio(rules.markup)
    # the charge model's text is normalised once per distinct value (there are few)
    models = base.get_column("shipping_charge_model").drop_nulls().unique()
    flat_models = models.filter(
        models.to_frame().select(_charge_model(pl.col(models.name)) == "flat_rate").to_series()
    )
    flat = pl.col("shipping_charge_model").is_in(flat_models.implode()).fill_null(False)
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
    frame = pl.concat([base, totals.drop("_sid")], how="horizontal")
    return (
        frame.lazy()
        .with_columns(
            # (a charge type no line has is not aggregated, nor made a column of zeros)
            *(pl.col(c).fill_null(0) for c in zero if c in frame.columns),
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
        .collect(engine="in-memory")
    )
