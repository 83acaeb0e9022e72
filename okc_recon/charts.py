"""Altair charts of a reconciliation, for notebooks.

    >>> from okc_recon.charts import money_at_stake_chart, transit_days_chart
    >>> money_at_stake_chart(recon)   # doctest: +SKIP
    >>> transit_days_chart(recon)     # doctest: +SKIP

Each function summarises in Polars first and hands Altair a small frame (a row per carrier
and issue, or per service and day count), so a chart stays light whatever the month's size.
Money is exact everywhere else; here it becomes a float only to be drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from okc_recon.reconciliation import Reconciliation

__all__ = [
    "money_at_stake_chart",
    "money_at_stake_frame",
    "transit_days_chart",
    "transit_days_frame",
]


def money_at_stake_frame(recon: Reconciliation) -> pl.DataFrame:
    """Money at stake and exceptions per carrier and issue code (no ``all`` rows)."""
    import polars as pl

    return (
        recon.issue_summary.filter(pl.col("carrier") != "all")
        .select(
            "carrier",
            "issue_code",
            "severity",
            "exceptions",
            amount_at_stake=pl.col("amount_at_stake").cast(pl.Float64),
            refund_candidate_amount=pl.col("refund_candidate_amount").cast(pl.Float64),
        )
        .sort("carrier", "issue_code")
    )


def money_at_stake_chart(recon: Reconciliation, *, width: int = 480, height: int = 260) -> Any:
    """Stacked bars: money at stake per carrier, one colour per issue code.

    Credits (negative amounts, e.g. later adjustments) stack below zero. Hover a segment for
    the exceptions behind it.
    """
    import altair as alt

    frame = money_at_stake_frame(recon)
    return (
        alt.Chart(frame, title=f"Money at stake by carrier and issue — {recon.period or 'all'}")
        .mark_bar()
        .encode(
            x=alt.X("carrier:N", title="carrier", sort="-y"),
            y=alt.Y("sum(amount_at_stake):Q", title="money at stake"),
            color=alt.Color("issue_code:N", title="issue"),
            tooltip=[
                alt.Tooltip("carrier:N"),
                alt.Tooltip("issue_code:N", title="issue"),
                alt.Tooltip("severity:N"),
                alt.Tooltip("exceptions:Q"),
                alt.Tooltip("amount_at_stake:Q", title="at stake", format=",.2f"),
                alt.Tooltip("refund_candidate_amount:Q", title="refund candidates", format=",.2f"),
            ],
        )
        .properties(width=width, height=height)
    )


def transit_days_frame(recon: Reconciliation) -> pl.DataFrame:
    """Shipments per service and transit days (delivery date − ship date, calendar days).

    Shipments without both dates are left out; ``service`` is the billed service when the
    carrier gave one, else OKC's.
    """
    import polars as pl

    shipments = recon.shipments
    service = pl.coalesce(pl.col("service_billed"), pl.col("service"), pl.lit("unknown"))
    days = (pl.col("delivery_date") - pl.col("ship_date")).dt.total_days()
    return (
        shipments.filter(pl.col("ship_date").is_not_null() & pl.col("delivery_date").is_not_null())
        .group_by(carrier=pl.col("carrier"), service=service, transit_days=days)
        .agg(shipments=pl.len())
        .sort("carrier", "service", "transit_days")
    )


def transit_days_chart(recon: Reconciliation, *, width: int = 420) -> Any:
    """A heat map: for each service, how many shipments took how many days to arrive."""
    import altair as alt

    frame = transit_days_frame(recon)
    base = alt.Chart(frame, title=f"Transit days by service — {recon.period or 'all'}").encode(
        x=alt.X("transit_days:O", title="transit days (calendar)"),
        y=alt.Y("service:N", title="service"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("shipments:Q", title="shipments", scale=alt.Scale(scheme="blues")),
        tooltip=["carrier:N", "service:N", "transit_days:O", "shipments:Q"],
    )
    counts = base.mark_text(fontSize=10).encode(text="shipments:Q")
    return (cells + counts).properties(width=width)
