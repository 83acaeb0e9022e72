"""The one place okc-recon talks to Great Expectations.

GX is imported here, lazily, the first time a suite runs (it takes seconds to import, so
``import okc_recon`` and ``okc-recon --help`` never pay for it). One ephemeral data context
is created per process and shared: it holds a pandas data source with one dataframe asset
per suite, and nothing is written to disk unless Data Docs are asked for.

The frame GX validates has a default ``RangeIndex``, so each failing row comes back from GX
as its 0-based position in the frame (``unexpected_index_list``), which is how the report
joins back to the Polars frame for the record ids and the offending values. (Naming a column
with ``unexpected_index_column_names`` would make GX look every failing cell up one by one,
about 40 µs each, which is too slow on a million rows with thousands of failures.)
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from okc_recon.checks._checks import SUITES, Check, CheckLimits, Severity

__all__ = ["GX_SEVERITY", "SuiteRun", "run_suite", "suite_of", "to_pandas", "write_data_docs"]

log = logging.getLogger("okc_recon")

#: okc-recon severity -> GX FailureSeverity value
GX_SEVERITY: dict[Severity, str] = {"error": "critical", "warning": "warning", "info": "info"}

_DATASOURCE = "okc-recon"
_BATCH = "whole frame"
_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 20,
}

_lock = threading.Lock()
_state: dict[str, Any] = {}


@contextlib.contextmanager
def _quiet_gx() -> Iterator[None]:
    """GX 1.x on pandas 3 and Python 3.11 emits deprecation chatter from its own modules
    (and from the modules it imports); none of it concerns okc-recon's use, and tests turn
    warnings into errors, so warnings raised inside GX are silenced here — only here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"great_expectations(\.|$)")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


def _gx() -> Any:
    """The ``great_expectations`` module, imported on first use."""
    module = _state.get("gx")
    if module is None:
        try:
            with _quiet_gx():
                import great_expectations as module
                import great_expectations.expectations
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ImportError(
                "okc-recon's checks need great-expectations; install it with "
                "`pip install great-expectations` (it is a dependency of okc-recon)"
            ) from exc
        # GX pins this module's logger at INFO, so every context announces a temporary docs
        # folder on the analyst's terminal; its warnings and errors still come through.
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
        _state["gx"] = module
    return module


def _context() -> Any:
    """The shared ephemeral data context, created on first use."""
    with _lock:
        ctx = _state.get("context")
        if ctx is None:
            gx = _gx()
            with _quiet_gx():
                from great_expectations.data_context.types.base import ProgressBarsConfig

                ctx = gx.get_context(mode="ephemeral")
                # GX draws tqdm bars on stderr for every metric; a library must not.
                ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
                source = ctx.data_sources.add_pandas(_DATASOURCE)
                _state["batches"] = {
                    suite: source.add_dataframe_asset(suite).add_batch_definition_whole_dataframe(
                        _BATCH
                    )
                    for suite in SUITES
                }
            _state["context"] = ctx
        return ctx


def _expectation(check: Check, limits: CheckLimits) -> Any:
    gxe = _gx().expectations
    from great_expectations.expectations.row_conditions import Column

    kwargs = check.expectation_kwargs(limits)
    if check.when is not None:
        kwargs["row_condition"] = Column(check.when) == True  # noqa: E712 - GX condition DSL
    return getattr(gxe, check.expectation)(
        column=check.column,
        description=check.description,
        severity=GX_SEVERITY[check.severity],
        meta={"okc_recon_check": check.name},
        mostly=check.mostly,
        **kwargs,
    )


def suite_of(name: str, checks: Sequence[Check], limits: CheckLimits) -> Any:
    """A GX ``ExpectationSuite`` named ``name`` with one expectation per check."""
    gx = _gx()
    with _quiet_gx():
        return gx.ExpectationSuite(
            name=name, expectations=[_expectation(check, limits) for check in checks]
        )


class SuiteRun:
    """One suite's GX validation result, kept for Data Docs."""

    __slots__ = ("result", "suite")

    def __init__(self, suite: str, result: Any) -> None:
        self.suite = suite
        self.result = result

    def __repr__(self) -> str:
        return f"SuiteRun({self.suite!r}, success={self.result.success})"


def run_suite(
    name: str, checks: Sequence[Check], limits: CheckLimits, frame: Any
) -> tuple[SuiteRun, dict[str, dict[str, Any]]]:
    """Validate the pandas ``frame`` with the suite of ``checks``.

    Returns the run (for Data Docs) and, per check name, ``success``, ``element_count``,
    ``unexpected_count``, ``unexpected_percent``, ``rows`` (0-based positions of the
    failing rows) and ``exception`` (a message when GX could not evaluate the check).
    """
    _context()
    with _lock, _quiet_gx():
        # Batch.validate rather than a ValidationDefinition: a definition stores every result
        # in the context, serialising each unexpected value (seconds per million failures).
        batch = _state["batches"][name].get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite_of(name, checks, limits), result_format=_RESULT_FORMAT)
    outcomes: dict[str, dict[str, Any]] = {}
    for item in result.results:
        check_name = str((item.expectation_config.meta or {}).get("okc_recon_check"))
        raised = (item.exception_info or {}).get("raised_exception", False)
        res = item.result or {}
        outcomes[check_name] = {
            "success": bool(item.success) and not raised,
            "element_count": res.get("element_count"),
            "unexpected_count": res.get("unexpected_count"),
            "unexpected_percent": res.get("unexpected_percent"),
            "rows": res.get("unexpected_index_list") or [],  # RangeIndex: row positions
            "exception": (item.exception_info or {}).get("exception_message") if raised else None,
        }
    return SuiteRun(name, result), outcomes


def write_data_docs(runs: Sequence[SuiteRun], folder: str | Path, *, run_time: datetime) -> Path:
    """Write GX's HTML Data Docs for ``runs`` into ``folder``; returns its ``index.html``.

    A fresh ephemeral context is used so the shared one never holds a site or old results.
    """
    gx = _gx()
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    with _quiet_gx():
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        ctx = gx.get_context(mode="ephemeral")
        site = "okc-recon"
        ctx.add_data_docs_site(
            site,
            {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(folder),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        run_id = RunIdentifier(run_name="okc-recon", run_time=run_time)
        for run in runs:
            configs = [item.expectation_config for item in run.result.results]
            ctx.suites.add_or_update(
                gx.ExpectationSuite(
                    name=run.suite, expectations=[copy.copy(c.to_domain_obj()) for c in configs]
                )
            )
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=run.suite),
                run_id=run_id,
                batch_identifier=f"{_DATASOURCE}-{run.suite}",
            )
            ctx.validation_results_store.set(key, run.result)
        ctx.build_data_docs(site_names=[site])
    index = folder / "index.html"
    log.info("wrote Data Docs to %s", index)
    return index


def to_pandas(frame: pl.DataFrame) -> Any:
    """``frame`` as the pandas frame GX reads: the one Polars → pandas conversion per suite."""
    return frame.to_pandas()
