"""``check_fulfillments`` and ``check_invoices``: derive in Polars, validate with GX, report."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from datetime import time as clock
from types import MappingProxyType
from typing import Any

import polars as pl

from okc_recon.checks._checks import Check, CheckLimits, Severity, resolve_checks
from okc_recon.checks._derive import (
    derive_fulfillments,
    derive_invoice_lines,
    evidence,
    evidence_sources,
    with_tracking_keys,
)
from okc_recon.checks._report import EXPECTATIONS_SCHEMA, FAILURES_SCHEMA, CheckReport
from okc_recon.errors import ConfigError
from okc_recon.schema import FULFILLMENT_SCHEMA, INVOICE_LINE_SCHEMA, WEIGHT_UNITS, conform
from okc_recon.weights import WeightUnitInference, infer_weight_unit

__all__ = ["check_fulfillments", "check_invoices", "resolve_as_of", "resolve_weight_unit"]

log = logging.getLogger("okc_recon")

AsOf = date | datetime | str | None


def resolve_as_of(as_of: AsOf) -> datetime:
    """``as_of`` as a UTC datetime: now when ``None``; the end of the day for a date (or a
    ``YYYY-MM-DD`` string); naive datetimes are taken as UTC."""
    if as_of is None:
        return datetime.now(UTC)
    if isinstance(as_of, str):
        try:
            parsed: date | datetime = (
                date.fromisoformat(as_of) if len(as_of) == 10 else datetime.fromisoformat(as_of)
            )
        except ValueError:
            raise ConfigError(
                f"as_of must be a date (YYYY-MM-DD) or an ISO datetime, got {as_of!r}"
            ) from None
        return resolve_as_of(parsed)
    if isinstance(as_of, datetime):
        return as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    return datetime.combine(as_of, clock.max, tzinfo=UTC)


def resolve_weight_unit(
    fulfillments: pl.DataFrame,
    weight_unit: str,
    invoice_lines: pl.DataFrame | None,
) -> tuple[str | None, WeightUnitInference | None, list[str]]:
    """``(unit, inference, warnings)`` for a weight-unit setting (SPEC §5).

    A unit given by name is used as is. ``auto`` infers it from ``invoice_lines`` matched
    by tracking key (:func:`okc_recon.weights.infer_weight_unit`); when that cannot decide,
    or there are no invoice lines, the unit is ``None`` and a warning says the weight
    magnitude checks are skipped.
    """
    if weight_unit in WEIGHT_UNITS:
        return weight_unit, None, []
    if weight_unit != "auto":
        raise ConfigError(
            f"weight_unit must be one of {', '.join((*WEIGHT_UNITS, 'auto'))}, got {weight_unit!r}"
        )
    if invoice_lines is None:
        return (
            None,
            None,
            [
                "weight unit unknown: 'auto' needs invoice lines to infer it from (pass "
                "invoice_lines=, or weight_unit='lb'/'oz'/'kg'/'g'); weight magnitude checks "
                "were skipped"
            ],
        )
    inference = infer_weight_unit(fulfillments, conform(invoice_lines, INVOICE_LINE_SCHEMA))
    if inference.unit is None:
        return None, inference, [f"{inference.describe()}; weight magnitude checks were skipped"]
    log.info("%s", inference.describe())
    return inference.unit, inference, []


def _expectation_rows(
    suite: str, checks: Sequence[Check], outcomes: Mapping[str, Mapping[str, Any]], skipped: str
) -> pl.DataFrame:
    rows = []
    for check in checks:
        outcome = outcomes.get(check.name)
        if outcome is None:
            success, status, note = None, "skipped", skipped
            counts: tuple[Any, Any, Any] = (None, None, None)
        else:
            success = outcome["success"]
            status = (
                "error" if outcome["exception"] else ("passed" if outcome["success"] else "failed")
            )
            note = outcome["exception"]
            counts = (
                outcome["element_count"],
                outcome["unexpected_count"],
                outcome["unexpected_percent"],
            )
        rows.append(
            {
                "suite": suite,
                "expectation": check.name,
                "column": check.column,
                "description": check.description,
                "severity": check.severity,
                "success": success,
                "element_count": counts[0],
                "unexpected_count": counts[1],
                "unexpected_percent": counts[2],
                "mostly": check.mostly,
                "status": status,
                "expectation_type": check.expectation,
                "note": note,
            }
        )
    return pl.DataFrame(rows, schema=dict(EXPECTATIONS_SCHEMA))


def _failure_rows(
    suite: str,
    checks: Sequence[Check],
    outcomes: Mapping[str, Mapping[str, Any]],
    derived: pl.DataFrame,
) -> pl.DataFrame:
    parts = [pl.DataFrame(schema=dict(FAILURES_SCHEMA))]
    for check in checks:
        rows = (outcomes.get(check.name) or {}).get("rows") or []
        if not rows:
            continue
        shown = list(dict.fromkeys(check.evidence or (check.column,)))
        # gather the failing rows first: formatting text is per row, failures are few
        picked = derived.select(["row", "record_id", *evidence_sources(shown)]).gather(
            pl.Series(rows, dtype=pl.Int64)
        )
        parts.append(
            picked.with_columns(value=evidence(picked, shown))
            .select(
                suite=pl.lit(suite),
                record_id="record_id",
                expectation=pl.lit(check.name),
                column=pl.lit(check.column),
                value="value",
                severity=pl.lit(check.severity),
                row="row",
            )
            .cast(dict(FAILURES_SCHEMA))  # type: ignore[arg-type]
        )
    # the charge rows of one invoice line (a FedEx line yields several) fail alike: one row
    return pl.concat(parts, how="vertical").unique(
        [c for c in FAILURES_SCHEMA if c != "row"], keep="first", maintain_order=True
    )


def _text_codes(derived: pl.DataFrame, name: str, *, exact: bool) -> pl.Expr:
    """Integer codes for a text column: null where the text is null, and (``exact``) equal
    exactly where the text is equal. A 52-bit hash keeps the codes exact in pandas' float64
    (nullable integers become floats); when equality matters, the codes are checked to be
    one-to-one with the text, and dense ranks (a sort, slower) replace them if not."""
    col = pl.col(name)
    hashed = pl.when(col.is_not_null()).then((col.hash() % 2**52).cast(pl.Int64))
    if exact:
        distinct = derived.select(hashed.n_unique().alias("codes"), col.n_unique().alias("text"))
        if distinct["codes"].item() != distinct["text"].item():
            return col.rank("dense").cast(pl.Int64).alias(name)
    return hashed.alias(name)


def gx_frame(derived: pl.DataFrame, checks: Sequence[Check]) -> pl.DataFrame:
    """The columns ``checks`` validate (and their row conditions), as GX will read them.

    GX fingerprints every batch by hashing each of its columns, and pandas hashes a million
    strings in about a second; row conditions copy every column too. So text reaches GX in
    cheap forms that keep what its checks test: a column checked against a set of values
    becomes a categorical of its few values, and any other text column (ids and tracking
    numbers checked for presence or uniqueness) becomes integer codes, equal exactly where
    the text is equal, null where it is null. Failures are reported from the Polars frame,
    with the real text.
    """
    in_set = {c.column for c in checks if c.expectation == "ExpectColumnValuesToBeInSet"}
    unique = {c.column for c in checks if c.expectation == "ExpectColumnValuesToBeUnique"}
    columns = list(dict.fromkeys([c.column for c in checks] + [c.when for c in checks if c.when]))
    exprs = []
    for name in columns:
        if derived.schema[name] != pl.Utf8:
            exprs.append(pl.col(name))
        elif name in in_set:
            values = derived[name].drop_nulls().unique().sort().to_list()
            exprs.append(pl.col(name).cast(pl.Enum(values)))
        else:
            exprs.append(_text_codes(derived, name, exact=name in unique))
    return derived.select(exprs)


def _run(
    suite: str,
    derived: pl.DataFrame,
    checks: Sequence[Check],
    limits: CheckLimits,
    *,
    skipped_note: str,
    timings: dict[str, float],
) -> tuple[pl.DataFrame, pl.DataFrame, Any]:
    from okc_recon.checks import _gx

    active = [c for c in checks if not c.needs_weight_unit or skipped_note == ""]
    started = time.perf_counter()
    frame = _gx.to_pandas(gx_frame(derived, active))
    timings[f"{suite}.to_pandas"] = time.perf_counter() - started
    started = time.perf_counter()
    run, outcomes = _gx.run_suite(suite, active, limits, frame)
    timings[f"{suite}.gx"] = time.perf_counter() - started
    started = time.perf_counter()
    expectations = _expectation_rows(suite, checks, outcomes, skipped_note)
    failures = _failure_rows(suite, active, outcomes, derived)
    timings[f"{suite}.report"] = time.perf_counter() - started
    for row in expectations.filter(pl.col("status") == "error").iter_rows(named=True):
        log.error("check %s.%s could not be evaluated: %s", suite, row["expectation"], row["note"])
    return expectations, failures, run


def check_fulfillments(
    fulfillments: pl.DataFrame,
    *,
    as_of: AsOf = None,
    thresholds: Mapping[str, float] | float | None = None,
    severities: Mapping[str, Severity] | None = None,
    limits: CheckLimits | None = None,
    weight_unit: str = "auto",
    invoice_lines: pl.DataFrame | None = None,
) -> CheckReport:
    """Run the fulfillments suite (SPEC §5) on a fulfillments frame.

    ``as_of``: dates after it are "in the future" (default: now; a date means its end).
    ``thresholds``: ``mostly`` per check name (or one number for all), the share of rows
    that must pass. ``severities``: ``error``/``warning``/``info`` per check name.
    ``limits``: the numbers the checks use (:class:`CheckLimits`). ``weight_unit``: ``lb``,
    ``oz``, ``kg``, ``g`` or ``auto`` (inferred from ``invoice_lines``; when it cannot be,
    the weight magnitude checks are skipped with a warning). Check names:
    ``okc_recon.checks.FULFILLMENT_CHECKS``.

    >>> report = check_fulfillments(frame, as_of="2025-10-31", weight_unit="lb")  # doctest: +SKIP
    >>> report.failures  # doctest: +SKIP
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    limits = limits or CheckLimits()
    checks = resolve_checks("fulfillments", thresholds=thresholds, severities=severities)
    as_of_dt = resolve_as_of(as_of)
    frame = with_tracking_keys(conform(fulfillments, FULFILLMENT_SCHEMA))
    unit, inference, warnings = resolve_weight_unit(frame, weight_unit, invoice_lines)
    derived = derive_fulfillments(frame, as_of=as_of_dt, limits=limits, weight_unit=unit)
    timings["fulfillments.derive"] = time.perf_counter() - started
    skipped_note = "" if unit is not None else "weight unit unknown"
    expectations, failures, run = _run(
        "fulfillments", derived, checks, limits, skipped_note=skipped_note, timings=timings
    )
    for warning in warnings:
        log.warning("%s", warning)
    return CheckReport(
        expectations=expectations,
        failures=failures,
        rows=MappingProxyType({"fulfillments": frame.height}),
        as_of=as_of_dt,
        weight_unit=unit,
        weight_inference=inference,
        warnings=tuple(warnings),
        timings=MappingProxyType(timings),
        runs=(run,),
    )


def check_invoices(
    invoice_lines: pl.DataFrame,
    *,
    as_of: AsOf = None,
    thresholds: Mapping[str, float] | float | None = None,
    severities: Mapping[str, Severity] | None = None,
    limits: CheckLimits | None = None,
) -> CheckReport:
    """Run the invoice-lines suite (SPEC §5) on an invoice-lines frame (``read_invoices(…).lines``).

    Failing lines are named ``file:line``. Options as for :func:`check_fulfillments`; check
    names: ``okc_recon.checks.INVOICE_CHECKS``. Invoice weights carry their own unit, so no
    weight-unit setting is needed.

    >>> report = check_invoices(read_invoices("invoices/2025-10").lines)  # doctest: +SKIP
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    limits = limits or CheckLimits()
    checks = resolve_checks("invoice_lines", thresholds=thresholds, severities=severities)
    as_of_dt = resolve_as_of(as_of)
    frame = conform(invoice_lines, INVOICE_LINE_SCHEMA)
    # invoice dates are calendar dates: "after as_of" means after as_of's (UTC) date
    derived = derive_invoice_lines(frame, as_of=as_of_dt.date())
    timings["invoice_lines.derive"] = time.perf_counter() - started
    expectations, failures, run = _run(
        "invoice_lines", derived, checks, limits, skipped_note="", timings=timings
    )
    return CheckReport(
        expectations=expectations,
        failures=failures,
        rows=MappingProxyType({"invoice_lines": frame.height}),
        as_of=as_of_dt,
        timings=MappingProxyType(timings),
        runs=(run,),
    )
