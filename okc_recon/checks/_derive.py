"""The columns the expectations validate, computed in Polars before GX sees anything.

Great Expectations reads pandas and evaluates simple column rules; everything that needs a
computation — tracking-number validity, URL hosts, transit days, robust charge z-scores,
weights in pounds — is computed here, vectorised, on the Polars frame. The result keeps the
input's rows in order (``row`` is the 0-based position), so GX's unexpected row indices
point straight back into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import polars as pl

from okc_recon.carriers.tracking import (
    detect_carrier,
    is_float_artifact,
    tracking_key,
    valid_for_carrier,
)
from okc_recon.checks._checks import CheckLimits
from okc_recon.weights import to_pounds

__all__ = [
    "LATE_EVIDENCE",
    "derive_fulfillments",
    "derive_invoice_lines",
    "evidence",
    "evidence_sources",
    "url_host",
    "with_tracking_keys",
]

# scheme (optional), user info (optional), then the host up to a port, path, query or fragment
_URL_HOST_RE = r"^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://)?(?:[^/?#@\s]*@)?([^/?#:\s]+)"
# words in OKC's fulfillment statuses that mean the parcel left the warehouse
_SHIPPED_STATUS_RE = r"(?i)ship|transit|deliver|picked up|out for"
_MICROS_PER_DAY = 86_400_000_000
_NULL_TEXT = pl.lit(None, dtype=pl.Utf8)


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.Utf8).str.strip_chars()
    return pl.when(text == "").then(_NULL_TEXT).otherwise(text)


def url_host(url: pl.Expr) -> pl.Expr:
    """The lower-case host of each URL (``https://www.fedex.com/…`` → ``www.fedex.com``)."""
    return url.cast(pl.Utf8).str.extract(_URL_HOST_RE, 1).str.to_lowercase()


def _host_matches(host: pl.Expr, carrier: pl.Expr, hosts: Mapping[str, tuple[str, ...]]) -> pl.Expr:
    """True when ``host`` is one of the carrier's domains or a subdomain of one; null when the
    host is missing or the carrier has no known domains."""
    result: pl.Expr = pl.lit(None, dtype=pl.Boolean)
    for carrier_name, domains in hosts.items():
        matches = pl.any_horizontal(
            [(host == d) | host.str.ends_with("." + d) for d in domains] or [pl.lit(False)]
        )
        result = pl.when(carrier == carrier_name).then(matches).otherwise(result)
    return pl.when(host.is_null()).then(pl.lit(None, dtype=pl.Boolean)).otherwise(result)


def _days_between(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Whole calendar days from ``earlier`` to ``later`` (dates, or UTC datetimes by date)."""
    return (later.dt.date() - earlier.dt.date()).dt.total_days()


def _band_exponent(weight: pl.Expr) -> pl.Expr:
    """The doubling band a weight falls in: ``floor(log2(weight))``; null when the weight is
    missing or not positive. Bands double so light and heavy parcels get equally fine bands,
    and so they stay meaningful when the unit is unknown."""
    return pl.when(weight > 0).then(weight.log(2).floor().cast(pl.Int32))


def _band_labels(exponents: pl.Series, unit_label: str) -> dict[int, str]:
    """``{exponent: "0.5–1 lb"}`` for the few distinct band exponents of a frame."""

    def number(value: float) -> str:
        return f"{value:g}"

    return {
        int(e): f"{number(2.0**e)}–{number(2.0 ** (e + 1))} {unit_label}"
        for e in exponents.drop_nulls().unique().to_list()
    }


def _robust_z(frame: pl.DataFrame, value: str, groups: list[str], min_size: int) -> pl.DataFrame:
    """Adds ``group_median`` and ``charge_robust_z``: the modified z-score of ``value`` within
    ``groups`` (Iglewicz–Hoaglin: 0.6745 × deviation / MAD). When half a group or more shares
    one value the MAD is 0; the mean absolute deviation (× 1.2533) stands in, and a group
    of identical values scores 0. Groups with fewer than ``min_size`` values score null."""
    x = pl.col(value)
    frame = frame.with_columns(
        group_median=x.median().over(groups), __n=x.count().over(groups)
    ).with_columns(__dev=(x - pl.col("group_median")).abs())
    frame = frame.with_columns(
        __mad=pl.col("__dev").median().over(groups), __meanad=pl.col("__dev").mean().over(groups)
    )
    deviation = x - pl.col("group_median")
    z = (
        pl.when(x.is_null() | (pl.col("__n") < min_size))
        .then(pl.lit(None, dtype=pl.Float64))
        .when(pl.col("__mad") > 0)
        .then(0.6745 * deviation / pl.col("__mad"))
        .when(pl.col("__meanad") > 0)
        .then(deviation / (1.253314 * pl.col("__meanad")))
        .otherwise(0.0)
    )
    return frame.with_columns(charge_robust_z=z).drop("__n", "__dev", "__mad", "__meanad")


def derive_fulfillments(
    frame: pl.DataFrame,
    *,
    as_of: datetime,
    limits: CheckLimits,
    weight_unit: str | None,
) -> pl.DataFrame:
    """The fulfillments frame plus every column the fulfillment checks validate.

    ``frame`` has :data:`~okc_recon.schema.FULFILLMENT_SCHEMA`; ``as_of`` is a UTC datetime;
    ``weight_unit`` is the resolved unit of ``weight`` or ``None`` when it is unknown.
    """
    status_says_shipped = pl.col("status").str.contains(_SHIPPED_STATUS_RE).fill_null(False)
    weight_lb = (
        pl.lit(None, dtype=pl.Float64)
        if weight_unit is None
        else to_pounds(pl.col("weight"), weight_unit)
    )
    after_as_of = [
        (pl.col(c) - pl.lit(as_of)).dt.total_microseconds() / _MICROS_PER_DAY
        for c in ("pickup_date", "delivery_date", "created_at", "updated_at")
    ]
    derived = with_tracking_keys(
        frame.with_columns(
            row=pl.int_range(pl.len(), dtype=pl.Int64),
            record_id=pl.coalesce(
                pl.col("fulfillment_id"),
                pl.format("(row {})", pl.int_range(1, pl.len() + 1, dtype=pl.Int64)),
            ),
            tracking_number=_blank_to_null(pl.col("tracking_number")),
            tracking_key=_blank_to_null(pl.col("tracking_key")),
            tracking_url=_blank_to_null(pl.col("tracking_url")),
        )
    ).with_columns(
        shipped=pl.col("pickup_date").is_not_null()
        | pl.col("delivery_date").is_not_null()
        | status_says_shipped,
        has_shipping_method=_blank_to_null(pl.col("shipping_method")).is_not_null(),
        tracking_corrupted=is_float_artifact(pl.col("tracking_number")),
        tracking_valid=valid_for_carrier(pl.col("tracking_key"), pl.col("carrier")),
        tracking_url_host=url_host(pl.col("tracking_url")),
        carrier_code=pl.col("carrier").fill_null("(missing)"),
        transit_days=_days_between(pl.col("delivery_date"), pl.col("pickup_date")),
        pickup_lag_days=_days_between(pl.col("pickup_date"), pl.col("created_at")),
        days_after_as_of=pl.max_horizontal(after_as_of).round(4),
        charge=pl.col("shipping_net_charge").cast(pl.Float64),
        weight_unit=pl.lit(weight_unit, dtype=pl.Utf8),
        weight_lb=weight_lb,
        band_exponent=_band_exponent(pl.col("weight") if weight_unit is None else weight_lb),
    )
    labels = _band_labels(derived["band_exponent"], "lb" if weight_unit else "(unit unknown)")
    derived = derived.with_columns(
        weight_band=pl.col("band_exponent")
        .replace_strict(labels, default=None, return_dtype=pl.Utf8)
        .fill_null("no weight"),
        tracking_url_host_ok=_host_matches(
            pl.col("tracking_url_host"), pl.col("carrier"), limits.tracking_url_hosts
        ),
        __charge_for_stats=pl.when(pl.col("charge") > 0).then(pl.col("charge")),
    )
    derived = _robust_z(
        derived,
        "__charge_for_stats",
        ["carrier", "service", "band_exponent", "shipping_charge_model"],
        limits.charge_group_min,
    )
    return derived.drop("__charge_for_stats")


def with_tracking_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``tracking_key`` filled from ``tracking_number`` where it has a number
    but no key (hand-built frames; a reader that found the number corrupted leaves both as
    they are: the key of a float artifact is null anyway). Only those rows are normalised."""
    missing = frame.select(
        pl.col("tracking_key").is_null() & pl.col("tracking_number").is_not_null()
    ).to_series()
    if not missing.any():
        return frame
    rows = missing.arg_true()
    keys = frame.select(tracking_key(pl.col("tracking_number").gather(rows))).to_series()
    return frame.with_columns(frame["tracking_key"].scatter(rows, keys))


#: evidence columns computed only for the failing rows they describe (see :func:`evidence`)
LATE_EVIDENCE = {"detected_carrier": lambda: detect_carrier(pl.col("tracking_key"))}


def derive_invoice_lines(frame: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """The invoice-lines frame plus every column the invoice checks validate.

    ``frame`` has :data:`~okc_recon.schema.INVOICE_LINE_SCHEMA`; ``as_of`` is the last date
    that is not in the future.
    """
    line_key_parts = [
        pl.col(c).cast(pl.Utf8).fill_null("")
        for c in (
            "source_file",
            "source_line",
            "charge_category",
            "charge_type",
            "charge_code",
            "charge_description",
            "amount",
        )
    ]
    after_as_of = [
        (pl.col(c) - pl.lit(as_of)).dt.total_days()
        for c in ("invoice_date", "ship_date", "delivery_date")
    ]
    row_number = pl.format("(row {})", pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    return with_tracking_keys(
        frame.with_columns(
            row=pl.int_range(pl.len(), dtype=pl.Int64),
            record_id=pl.coalesce(
                pl.format("{}:{}", pl.col("source_file"), pl.col("source_line")), row_number
            ),
            tracking_number=_blank_to_null(pl.col("tracking_number")),
            tracking_key=_blank_to_null(pl.col("tracking_key")),
        )
    ).with_columns(
        tracking_corrupted=pl.coalesce(
            pl.col("tracking_corrupted"), is_float_artifact(pl.col("tracking_number"))
        ),
        line_key=pl.concat_str(line_key_parts, separator="\x1f"),
        shipment_line=pl.col("charge_category").is_in(["shipment", "return"]).fill_null(False),
        parcel_line=(pl.col("charge_category") != "invoice").fill_null(True),
        invoiced_carrier=pl.col("carrier").is_in(["fedex", "ups", "dhl"]).fill_null(True),
        tracking_valid=valid_for_carrier(pl.col("tracking_key"), pl.col("carrier")),
        carrier_code=pl.col("carrier").fill_null("(missing)"),
        has_service_description=_blank_to_null(pl.col("service_description")).is_not_null(),
        charge_type_code=pl.col("charge_type").fill_null("(missing)"),
        invoice_lag_days=(pl.col("invoice_date") - pl.col("ship_date")).dt.total_days(),
        transit_days=(pl.col("delivery_date") - pl.col("ship_date")).dt.total_days(),
        days_after_as_of=pl.max_horizontal(after_as_of),
        amount_value=pl.col("amount").cast(pl.Float64),
        billed_weight_lb=to_pounds(pl.col("billed_weight"), pl.col("weight_unit")),
    )


def evidence(picked: pl.DataFrame, columns: Iterable[str]) -> pl.Expr:
    """``"name=value, name=value"`` for ``columns`` of the failing rows ``picked``: how a
    failure shows the values that make it one. Dates and datetimes in ISO form (UTC), money
    exact, null as ``null``. Columns in :data:`LATE_EVIDENCE` are computed here, on the
    failing rows only (detecting a tracking number's carrier costs a second per million)."""
    parts = []
    for name in columns:
        if name in LATE_EVIDENCE:
            parts.append(
                pl.concat_str([pl.lit(name + "="), LATE_EVIDENCE[name]().fill_null("null")])
            )
            continue
        col = pl.col(name)
        dtype = picked.schema[name]
        if isinstance(dtype, pl.Datetime):
            text = col.dt.to_string("%Y-%m-%dT%H:%M:%SZ")
        elif isinstance(dtype, pl.Date):
            text = col.dt.to_string("%Y-%m-%d")
        elif dtype in (pl.Float64, pl.Float32):
            text = col.round(4).cast(pl.Utf8)
        else:
            text = col.cast(pl.Utf8)
        parts.append(pl.concat_str([pl.lit(name + "="), text.fill_null("null")]))
    return pl.concat_str(parts, separator=", ")


def evidence_sources(columns: Iterable[str]) -> list[str]:
    """The frame columns :func:`evidence` reads to show ``columns``."""
    needed: list[str] = []
    for name in columns:
        needed.extend(["tracking_key"] if name in LATE_EVIDENCE else [name])
    return list(dict.fromkeys(needed))
