"""Data-quality checks with Great Expectations (SPEC §5): is this data fit to reconcile?

Two suites, built in code: one for the fulfillments frame, one for the invoice-lines frame.
Every derived value a check needs (tracking-number validity, URL hosts, transit days, robust
charge z-scores, weights in pounds) is computed in Polars first; GX validates a pandas copy of
just the columns it needs, converted once per suite. This package is the only place that
imports Great Expectations, and it does so lazily, on the first check run.

    >>> from okc_recon import check_fulfillments, check_invoices
    >>> report = check_fulfillments(frame, invoice_lines=lines)  # doctest: +SKIP
    >>> report = report.combine(check_invoices(lines))  # doctest: +SKIP
    >>> report.expectations, report.failures  # doctest: +SKIP
    >>> report.write_data_docs("out/data-docs")  # doctest: +SKIP

The checks, their GX expectations, default severities and evidence columns are listed in
:data:`FULFILLMENT_CHECKS` and :data:`INVOICE_CHECKS`.
"""

from __future__ import annotations

from okc_recon.checks._checks import (
    FULFILLMENT_CHECKS,
    INVOICE_CHECKS,
    SEVERITIES,
    SUITES,
    Check,
    CheckLimits,
    Severity,
)
from okc_recon.checks._report import (
    EXPECTATIONS_SCHEMA,
    FAILURES_SCHEMA,
    SUMMARY_SCHEMA,
    CheckReport,
)
from okc_recon.checks._run import check_fulfillments, check_invoices, resolve_weight_unit

__all__ = [
    "EXPECTATIONS_SCHEMA",
    "FAILURES_SCHEMA",
    "FULFILLMENT_CHECKS",
    "INVOICE_CHECKS",
    "SEVERITIES",
    "SUITES",
    "SUMMARY_SCHEMA",
    "Check",
    "CheckLimits",
    "CheckReport",
    "Severity",
    "check_fulfillments",
    "check_invoices",
    "resolve_weight_unit",
]
