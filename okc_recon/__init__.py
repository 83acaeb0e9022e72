"""okc-recon: reconcile OK Capsule fulfillments against carrier invoices.

The public names below are imported on first use, so ``import okc_recon`` stays fast and
Great Expectations, openpyxl and DuckDB load only when a check, workbook or cache needs them.

    >>> from okc_recon import Settings, pull_fulfillments, read_invoices, reconcile
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from okc_recon._version import __version__
from okc_recon.errors import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    ConfigError,
    ExportError,
    InvoiceFormatError,
    NotFoundError,
    OkcReconError,
    PullError,
    RateLimitError,
    ResponseShapeError,
    ServerError,
    StoreError,
)

if TYPE_CHECKING:
    from okc_recon.api import OKCClient, PullResult, pull_fulfillments
    from okc_recon.carriers.invoices import InvoiceSet, read_invoices
    from okc_recon.checks import CheckLimits, CheckReport, check_fulfillments, check_invoices
    from okc_recon.config import Secret, Settings
    from okc_recon.excel import write_workbook
    from okc_recon.export import export_excel, filter_fulfillments
    from okc_recon.fulfillments import read_fulfillments, write_fulfillments
    from okc_recon.monthly import MonthlyRun, run_month
    from okc_recon.reconciliation import Reconciliation, Rules, reconcile
    from okc_recon.runinfo import InputFile, RunInfo
    from okc_recon.store import Snapshot, Store

# public name -> module that defines it (imported lazily by __getattr__)
_LAZY: dict[str, str] = {
    "OKCClient": "okc_recon.api",
    "PullResult": "okc_recon.api",
    "pull_fulfillments": "okc_recon.api",
    "read_fulfillments": "okc_recon.fulfillments",
    "write_fulfillments": "okc_recon.fulfillments",
    "Secret": "okc_recon.config",
    "Settings": "okc_recon.config",
    "InputFile": "okc_recon.runinfo",
    "RunInfo": "okc_recon.runinfo",
    "write_workbook": "okc_recon.excel",
    "Reconciliation": "okc_recon.reconciliation",
    "Rules": "okc_recon.reconciliation",
    "reconcile": "okc_recon.reconciliation",
    "InvoiceSet": "okc_recon.carriers.invoices",
    "read_invoices": "okc_recon.carriers.invoices",
    "CheckLimits": "okc_recon.checks",
    "CheckReport": "okc_recon.checks",
    "check_fulfillments": "okc_recon.checks",
    "check_invoices": "okc_recon.checks",
    "MonthlyRun": "okc_recon.monthly",
    "run_month": "okc_recon.monthly",
    "export_excel": "okc_recon.export",
    "filter_fulfillments": "okc_recon.export",
    "Snapshot": "okc_recon.store",
    "Store": "okc_recon.store",
}

# sorted; tests check it is, and that every lazy name is listed
__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AuthenticationError",
    "CheckLimits",
    "CheckReport",
    "ConfigError",
    "ExportError",
    "InputFile",
    "InvoiceFormatError",
    "InvoiceSet",
    "MonthlyRun",
    "NotFoundError",
    "OKCClient",
    "OkcReconError",
    "PullError",
    "PullResult",
    "RateLimitError",
    "Reconciliation",
    "ResponseShapeError",
    "Rules",
    "RunInfo",
    "Secret",
    "ServerError",
    "Settings",
    "Snapshot",
    "Store",
    "StoreError",
    "__version__",
    "check_fulfillments",
    "check_invoices",
    "export_excel",
    "filter_fulfillments",
    "pull_fulfillments",
    "read_fulfillments",
    "read_invoices",
    "reconcile",
    "run_month",
    "write_fulfillments",
    "write_workbook",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'okc_recon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
