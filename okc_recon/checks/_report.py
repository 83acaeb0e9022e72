"""``CheckReport``: what the data-quality suites found, as frames, plus how to show it."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from okc_recon.checks._checks import SEVERITIES, Severity
from okc_recon.errors import ConfigError
from okc_recon.weights import WeightUnitInference

__all__ = ["EXPECTATIONS_SCHEMA", "FAILURES_SCHEMA", "SUMMARY_SCHEMA", "CheckReport"]

#: ``CheckReport.expectations``: one row per check of every suite run.
EXPECTATIONS_SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "suite": pl.Utf8(),
        "expectation": pl.Utf8(),  # the check's name, e.g. tracking_number_valid
        "column": pl.Utf8(),  # the column GX validated
        "description": pl.Utf8(),
        "severity": pl.Utf8(),  # error, warning, info
        "success": pl.Boolean(),  # null when the check was skipped
        "element_count": pl.Int64(),  # rows the check applied to
        "unexpected_count": pl.Int64(),
        "unexpected_percent": pl.Float64(),  # of the non-null values checked
        "mostly": pl.Float64(),  # the share that had to pass
        "status": pl.Utf8(),  # passed, failed, skipped, or error (GX could not evaluate it)
        "expectation_type": pl.Utf8(),  # the GX expectation, e.g. ExpectColumnValuesToBeInSet
        "note": pl.Utf8(),  # why a check was skipped or could not be evaluated
    }
)

#: ``CheckReport.failures``: one row per failing record and check.
FAILURES_SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "suite": pl.Utf8(),
        "record_id": pl.Utf8(),  # fulfillment id, or file:line for an invoice line
        "expectation": pl.Utf8(),
        "column": pl.Utf8(),
        "value": pl.Utf8(),  # the offending values, "name=value, …"
        "severity": pl.Utf8(),
        "row": pl.Int64(),  # 0-based position of the record in the frame checked
    }
)

#: ``CheckReport.summary()``: one row per suite, then ``all``.
SUMMARY_SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "suite": pl.Utf8(),
        "rows": pl.Int64(),
        "checks": pl.Int64(),
        "passed": pl.Int64(),
        "failed": pl.Int64(),
        "skipped": pl.Int64(),
        "failed_errors": pl.Int64(),
        "failed_warnings": pl.Int64(),
        "failed_info": pl.Int64(),
        "failing_records": pl.Int64(),
    }
)

_RANK = {s: n for n, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, eq=False)  # frames have no truth value: compare the frames themselves
class CheckReport:
    """The result of :func:`~okc_recon.check_fulfillments` / :func:`~okc_recon.check_invoices`.

    - ``expectations``: one row per check (:data:`EXPECTATIONS_SCHEMA`): success, how many
      rows it applied to, how many failed and what share, its severity and ``mostly``.
    - ``failures``: one row per failing record and check (:data:`FAILURES_SCHEMA`): which
      record (fulfillment id, or ``file:line``), which check, the offending values. Every
      unexpected record is listed, also for a check whose ``mostly`` let it pass.
    - ``rows``: rows checked per suite; ``as_of``: the date "in the future" is measured
      from; ``weight_unit`` the unit weights were read in (``None``: unknown, so weight
      magnitude checks were skipped), ``weight_inference`` the evidence when it was
      inferred; ``warnings`` what the analyst should know about the run itself;
      ``timings`` seconds per phase (Polars derivation, pandas conversion, GX).

    Failed checks are results, not exceptions. In a notebook the report shows itself as a
    compact HTML summary; ``report.write_data_docs(folder)`` writes GX's Data Docs.

    >>> report = check_fulfillments(frame, as_of="2025-10-31")  # doctest: +SKIP
    >>> report.failures.filter(pl.col("severity") == "error")  # doctest: +SKIP
    """

    expectations: pl.DataFrame
    failures: pl.DataFrame
    rows: Mapping[str, int]
    as_of: datetime
    weight_unit: str | None = None
    weight_inference: WeightUnitInference | None = None
    warnings: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    runs: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    # -- verdicts ----------------------------------------------------------------------------

    @property
    def success(self) -> bool:
        """True when no check failed (skipped checks do not count)."""
        return not self.expectations.filter(pl.col("success").not_()).height

    def failed_checks(self, severity: Severity = "info") -> pl.DataFrame:
        """The rows of ``expectations`` that failed, at ``severity`` or worse."""
        return self.expectations.filter(
            pl.col("success").not_() & pl.col("severity").is_in(_at_least(severity))
        )

    def failed_over_threshold(
        self, severity: Severity = "error", *, max_unexpected_percent: float | None = None
    ) -> bool:
        """Whether checks of ``severity`` or worse failed: what makes the CLI exit with 1.

        By default a check fails by its own ``mostly``. With ``max_unexpected_percent`` a
        check counts only when more than that percentage of its rows failed (or GX could
        not evaluate it).
        """
        candidates = self.expectations.filter(pl.col("severity").is_in(_at_least(severity)))
        if max_unexpected_percent is None:
            return bool(candidates.filter(pl.col("success").not_()).height)
        over = (pl.col("unexpected_percent") > max_unexpected_percent) | (
            pl.col("status") == "error"
        )
        return bool(candidates.filter(over.fill_null(False)).height)

    # -- summaries ---------------------------------------------------------------------------

    def summary(self) -> pl.DataFrame:
        """One row per suite and a total (``all``): rows, checks passed/failed/skipped,
        failures by severity, and distinct failing records."""
        exp = self.expectations
        failed = pl.col("success").not_().fill_null(False)
        per_suite = exp.group_by("suite", maintain_order=True).agg(
            checks=pl.len(),
            passed=pl.col("success").fill_null(False).sum(),
            failed=failed.sum(),
            skipped=pl.col("success").is_null().sum(),
            failed_errors=(failed & (pl.col("severity") == "error")).sum(),
            failed_warnings=(failed & (pl.col("severity") == "warning")).sum(),
            failed_info=(failed & (pl.col("severity") == "info")).sum(),
        )
        records = self.failures.group_by("suite").agg(
            failing_records=pl.col("record_id").n_unique()
        )
        rows = pl.DataFrame(
            {"suite": list(self.rows), "rows": list(self.rows.values())},
            schema={"suite": pl.Utf8, "rows": pl.Int64},
        )
        table = (
            per_suite.join(rows, on="suite", how="left")
            .join(records, on="suite", how="left")
            .with_columns(pl.col("failing_records").fill_null(0))
        )
        total = table.select(
            suite=pl.lit("all"),
            **{c: pl.col(c).sum() for c in SUMMARY_SCHEMA if c not in ("suite",)},
        )
        return pl.concat(
            [_cast(table, SUMMARY_SCHEMA), _cast(total, SUMMARY_SCHEMA)], how="vertical"
        )

    def worst_records(self, n: int = 10) -> pl.DataFrame:
        """The ``n`` records with the most failing checks (errors first)."""
        return (
            self.failures.with_columns(
                __rank=pl.col("severity").replace_strict(_RANK, default=len(_RANK))
            )
            .group_by("suite", "record_id")
            .agg(
                failed_checks=pl.col("expectation").n_unique(),
                worst=pl.col("severity").sort_by("__rank").first(),
                checks=pl.col("expectation").unique(maintain_order=True).str.join(", "),
                __worst_rank=pl.col("__rank").min(),
            )
            .sort(["__worst_rank", "failed_checks", "record_id"], descending=[False, True, False])
            .drop("__worst_rank")
            .head(n)
        )

    def combine(self, other: CheckReport) -> CheckReport:
        """One report holding both reports' suites (as the CLI shows fulfillments and
        invoices together). ``as_of`` and the weight unit are this report's when it has one.
        """
        rows = dict(self.rows)
        for suite, count in other.rows.items():
            if suite in rows:
                raise ConfigError(f"both reports checked the {suite} suite; combine different ones")
            rows[suite] = count
        timings = dict(self.timings)
        timings.update(other.timings)
        return CheckReport(
            expectations=pl.concat([self.expectations, other.expectations], how="vertical"),
            failures=pl.concat([self.failures, other.failures], how="vertical"),
            rows=MappingProxyType(rows),
            as_of=self.as_of,
            weight_unit=self.weight_unit if self.weight_unit is not None else other.weight_unit,
            weight_inference=self.weight_inference or other.weight_inference,
            warnings=tuple(dict.fromkeys(self.warnings + other.warnings)),
            timings=MappingProxyType(timings),
            runs=self.runs + other.runs,
        )

    # -- output ------------------------------------------------------------------------------

    def write_data_docs(self, folder: str | Path) -> Path:
        """Write Great Expectations' HTML Data Docs for this run into ``folder``.

        Returns the path of ``index.html``. Failing rows appear in Data Docs by their
        0-based row position (``failures.row``); ``failures`` names the records.
        """
        if not self.runs:
            raise ConfigError("this report holds no GX results (was it built by hand?)")
        from okc_recon.checks._gx import write_data_docs

        return write_data_docs(self.runs, folder, run_time=self.as_of)

    def describe(self) -> str:
        """One line: rows, checks failed by severity, failing records."""
        parts = [f"{suite}: {count:,} rows" for suite, count in self.rows.items()]
        exp = self.expectations
        failed = exp.filter(pl.col("success").not_())
        by_sev = ", ".join(
            f"{(failed['severity'] == s).sum()} {s}"
            for s in SEVERITIES
            if (failed["severity"] == s).sum()
        )
        verdict = "all checks passed" if not failed.height else f"{failed.height} checks failed"
        if by_sev:
            verdict += f" ({by_sev})"
        skipped = exp.filter(pl.col("success").is_null()).height
        if skipped:
            verdict += f", {skipped} skipped"
        records = self.failures.select(pl.struct("suite", "record_id").n_unique()).item()
        return f"{'; '.join(parts)} — {exp.height} checks, {verdict}; {records:,} failing records"

    def __repr__(self) -> str:
        return f"CheckReport({self.describe()})"

    def _repr_html_(self) -> str:
        esc = html.escape
        out = [
            "<div class='okc-recon-check-report'>",
            f"<p><b>Data-quality checks</b> as of {esc(self.as_of.strftime('%Y-%m-%d %H:%M'))}"
            f" UTC — {esc(self.describe())}</p>",
        ]
        if self.weight_inference is not None:
            out.append(f"<p>{esc(self.weight_inference.describe())}</p>")
        elif self.weight_unit is not None:
            out.append(f"<p>weight unit: {esc(self.weight_unit)} (setting)</p>")
        if self.warnings:
            out.append("<ul>" + "".join(f"<li>⚠ {esc(w)}</li>" for w in self.warnings) + "</ul>")
        failed = self.failed_checks().sort(
            pl.col("severity").replace_strict(_RANK, default=len(_RANK)),
            pl.col("unexpected_count"),
            descending=[False, True],
        )
        if failed.height:
            out.append("<p><b>Failed checks</b></p>")
            out.append(
                _html_table(
                    failed.select(
                        "suite",
                        "expectation",
                        "severity",
                        "unexpected_count",
                        pl.col("unexpected_percent").round(2),
                        "description",
                    )
                )
            )
        worst = self.worst_records()
        if worst.height:
            out.append("<p><b>Worst records</b> (all failures: <code>report.failures</code>)</p>")
            out.append(_html_table(worst))
        out.append("</div>")
        return "\n".join(out)


def _at_least(severity: Severity) -> list[str]:
    if severity not in _RANK:
        raise ConfigError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    return [s for s in SEVERITIES if _RANK[s] <= _RANK[severity]]


def _cast(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


def _html_table(frame: pl.DataFrame) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in frame.rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
