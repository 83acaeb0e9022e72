"""The result of a reconciliation: frozen frames, the rules and dates they came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from okc_recon.reconciliation._display import render_html
from okc_recon.reconciliation.rules import Rules
from okc_recon.weights import WeightUnitInference

__all__ = ["Reconciliation"]


@dataclass(frozen=True, eq=False)
class Reconciliation:
    """What :func:`okc_recon.reconciliation` found (columns: ``docs/reconciliation.md``).

    Frames: ``shipments`` (one row per shipment), ``exceptions`` (one row per shipment ×
    issue, largest money at stake first), ``invoice_lines`` (every input line with its
    shipment), ``unmatched`` (both sides), ``cannot_reconcile`` (fulfillments with a reason),
    ``summary`` (by carrier, plus ``all``) and ``issue_summary`` (by carrier and issue code).
    Run record: ``rules``, ``period`` (``"YYYY-MM"`` or ``None``), ``as_of``,
    ``weight_unit`` (``None`` when unknown: weight checks were skipped), ``weight_unit_source``
    (how it was decided) and ``weight_inference`` (the evidence, when inferred).

    In a notebook, the object displays a compact summary; the frames are one attribute away::

        recon = reconcile(fulfillments, invoices.lines, period="2025-10")
        recon                    # totals by carrier, issues by code, money at stake
        recon.exceptions         # the dispute list
    """

    shipments: pl.DataFrame
    exceptions: pl.DataFrame
    invoice_lines: pl.DataFrame
    unmatched: pl.DataFrame
    cannot_reconcile: pl.DataFrame
    summary: pl.DataFrame
    issue_summary: pl.DataFrame
    rules: Rules
    period: str | None
    as_of: date
    weight_unit: str | None
    weight_unit_source: str
    weight_inference: WeightUnitInference | None = None

    @property
    def has_exceptions(self) -> bool:
        """True when at least one exception was raised."""
        return self.exceptions.height > 0

    def __repr__(self) -> str:
        return (
            f"Reconciliation(period={self.period!r}, as_of={self.as_of.isoformat()}, "
            f"shipments={self.shipments.height}, exceptions={self.exceptions.height}, "
            f"unmatched={self.unmatched.height}, cannot_reconcile={self.cannot_reconcile.height}, "
            f"weight_unit={self.weight_unit!r})"
        )

    def _repr_html_(self) -> str:
        return render_html(self)
