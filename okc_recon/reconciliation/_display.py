"""The notebook view of a reconciliation: a compact HTML summary (``_repr_html_``).

Period, totals by carrier, issues by code with the money at stake, and where the frames are.
Every value is escaped: carrier and issue texts come from files and the API.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from okc_recon.reconciliation._result import Reconciliation

__all__ = ["render_html"]

_STYLE = (
    "<style>.okc-recon table{border-collapse:collapse;margin:4px 0 10px}"
    ".okc-recon th,.okc-recon td{padding:2px 8px;text-align:right}"
    ".okc-recon th:first-child,.okc-recon td:first-child{text-align:left}"
    ".okc-recon .high{color:#b00020}.okc-recon .medium{color:#8a5a00}</style>"
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return escape(str(value))


def _table(frame: pl.DataFrame, columns: dict[str, str], *, css: str | None = None) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for label in columns.values())
    rows = []
    for record in frame.select(list(columns)).to_dicts():  # a few rows: carriers, issue codes
        klass = f' class="{escape(str(record.get(css)))}"' if css else ""
        cells = "".join(f"<td>{_cell(record[c])}</td>" for c in columns)
        rows.append(f"<tr{klass}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(recon: Reconciliation) -> str:
    """The HTML a notebook shows for ``recon``."""
    period = escape(recon.period or "all dates")
    unit = escape(recon.weight_unit or "unknown (weight checks skipped)")
    totals = _table(
        recon.summary,
        {
            "carrier": "carrier",
            "shipments": "shipments",
            "okc_charges": "OKC charges",
            "carrier_billed": "carrier billed",
            "variance": "variance",
            "unmatched_carrier_amount": "unmatched billed",
            "exceptions": "exceptions",
            "amount_at_stake": "at stake",
            "refund_candidate_amount": "refund candidates",
        },
    )
    by_code = recon.issue_summary.filter(pl.col("carrier") == "all")
    issues = (
        _table(
            by_code,
            {
                "issue_code": "issue",
                "severity": "severity",
                "exceptions": "exceptions",
                "amount_at_stake": "at stake",
                "refund_candidate_amount": "refund candidates",
            },
            css="severity",
        )
        if by_code.height
        else "<p>No exceptions.</p>"
    )
    frames = ", ".join(
        f"<code>.{name}</code> ({getattr(recon, name).height:,})"
        for name in ("shipments", "exceptions", "invoice_lines", "unmatched", "cannot_reconcile")
    )
    return (
        f'{_STYLE}<div class="okc-recon"><h4>Reconciliation {period}</h4>'
        f"<p>as of {escape(recon.as_of.isoformat())} · weight unit {unit}</p>"
        f"<b>Totals by carrier</b>{totals}<b>Issues by code</b>{issues}"
        f"<p>Frames: {frames}; <code>.summary</code>, <code>.issue_summary</code>.</p></div>"
    )
