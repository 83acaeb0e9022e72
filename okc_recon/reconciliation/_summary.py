"""The summary frames: totals by carrier, and by carrier and issue code, each with an ``all`` row.

Definitions (the workbook's live formulas recompute them from the other sheets):

- ``shipments``, ``okc_charges``, ``carrier_billed``, ``variance``: over the shipments of the
  run, i.e. every ``current`` shipment and every ``prior`` shipment a line of this run bills
  (``line_count > 0``); ``variance`` sums the non-null ``variance`` values.
- ``unmatched_carrier_amount``: carrier-side ``unmatched`` amounts except invoice-level
  charges, which are ``invoice_level_charges``; both by the line's carrier.
- ``exceptions``, ``amount_at_stake``, ``refund_candidate_amount``: over ``exceptions``.
"""

from __future__ import annotations

import polars as pl

from okc_recon.money import MONEY
from okc_recon.reconciliation.rules import ISSUE_CODES, Rules
from okc_recon.schema import CARRIERS

__all__ = ["ISSUE_SUMMARY_SCHEMA", "SUMMARY_SCHEMA", "issue_summary", "summarize"]

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "carrier": pl.Utf8(),
    "shipments": pl.Int64(),
    "okc_charges": MONEY,
    "carrier_billed": MONEY,
    "variance": MONEY,
    "unmatched_carrier_amount": MONEY,
    "invoice_level_charges": MONEY,
    "exceptions": pl.Int64(),
    "amount_at_stake": MONEY,
    "refund_candidate_amount": MONEY,
}

ISSUE_SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "carrier": pl.Utf8(),
    "issue_code": pl.Utf8(),
    "severity": pl.Utf8(),
    "exceptions": pl.Int64(),
    "amount_at_stake": MONEY,
    "refund_candidate_amount": MONEY,
}

_ALL = "all"
_CARRIER_ORDER = {name: index for index, name in enumerate((*CARRIERS, "unknown", _ALL))}


def _carrier() -> pl.Expr:
    return pl.col("carrier").fill_null("unknown")


def _money_sum(name: str, condition: pl.Expr | None = None) -> pl.Expr:
    column = pl.col(name) if condition is None else pl.col(name).filter(condition)
    return column.sum().cast(MONEY)


def _with_all(frame: pl.DataFrame, keys: list[str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    value_columns = [c for c in schema if c not in keys and c != "carrier"]
    group = [k for k in keys if k != "carrier"]
    totals = (
        frame.group_by(group).agg(pl.col(value_columns).sum())
        if group
        else frame.select(pl.col(value_columns).sum())
    )
    total = totals.with_columns(carrier=pl.lit(_ALL))
    return pl.concat(
        [frame.select(list(schema)), total.select(list(schema))], how="vertical_relaxed"
    )


def summarize(
    shipments: pl.DataFrame, exceptions: pl.DataFrame, unmatched: pl.DataFrame
) -> pl.DataFrame:
    """One row per carrier plus ``all`` (see the module docstring for each figure)."""
    in_run = (pl.col("period") == "current") | (pl.col("line_count") > 0)
    ships = (
        shipments.lazy()
        .filter(in_run)
        .group_by(carrier=_carrier())
        .agg(
            shipments=pl.len().cast(pl.Int64),
            okc_charges=_money_sum("okc_charge"),
            carrier_billed=_money_sum("carrier_total"),
            variance=_money_sum("variance"),
        )
    )
    carrier_side = pl.col("side") == "carrier"
    invoice_level = pl.col("reason") == "invoice-level charge"
    lines = (
        unmatched.lazy()
        .filter(carrier_side)
        .group_by(carrier=_carrier())
        .agg(
            unmatched_carrier_amount=_money_sum("amount", ~invoice_level),
            invoice_level_charges=_money_sum("amount", invoice_level),
        )
    )
    issues = (
        exceptions.lazy()
        .group_by(carrier=_carrier())
        .agg(
            exceptions=pl.len().cast(pl.Int64),
            amount_at_stake=_money_sum("amount_at_stake"),
            refund_candidate_amount=_money_sum("amount_at_stake", pl.col("refund_candidate")),
        )
    )
    carriers = pl.concat(
        [f.select("carrier") for f in (ships, lines, issues)], how="vertical"
    ).unique()
    frame = (
        carriers.join(ships, on="carrier", how="left")
        .join(lines, on="carrier", how="left")
        .join(issues, on="carrier", how="left")
        .with_columns(
            pl.col("shipments", "exceptions").fill_null(0),
            pl.col(
                "okc_charges",
                "carrier_billed",
                "variance",
                "unmatched_carrier_amount",
                "invoice_level_charges",
                "amount_at_stake",
                "refund_candidate_amount",
            )
            .cast(MONEY)
            .fill_null(0),
        )
        .sort(pl.col("carrier").replace_strict(_CARRIER_ORDER, default=len(_CARRIER_ORDER)))
        .collect()
    )
    return _with_all(frame, ["carrier"], SUMMARY_SCHEMA).select(
        [pl.col(name).cast(dtype) for name, dtype in SUMMARY_SCHEMA.items()]
    )


def issue_summary(exceptions: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """One row per carrier and issue code present, plus ``all`` per issue code."""
    order = {code: index for index, code in enumerate(ISSUE_CODES)}
    frame = (
        exceptions.lazy()
        .group_by(carrier=_carrier(), issue_code=pl.col("issue_code"))
        .agg(
            exceptions=pl.len().cast(pl.Int64),
            amount_at_stake=_money_sum("amount_at_stake"),
            refund_candidate_amount=_money_sum("amount_at_stake", pl.col("refund_candidate")),
        )
        .with_columns(
            severity=pl.col("issue_code").replace_strict(
                dict(rules.severities), return_dtype=pl.Utf8
            )
        )
        .collect()
    )
    combined = _with_all(frame, ["carrier", "issue_code", "severity"], ISSUE_SUMMARY_SCHEMA)
    return combined.sort(
        pl.col("carrier").replace_strict(_CARRIER_ORDER, default=len(_CARRIER_ORDER)),
        pl.col("issue_code").replace_strict(order, default=len(order)),
    ).select([pl.col(name).cast(dtype) for name, dtype in ISSUE_SUMMARY_SCHEMA.items()])
