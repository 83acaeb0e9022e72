"""``write_workbook``: a Reconciliation (and its check report) as the analyst's workbook."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from okc_recon.errors import ExportError
from okc_recon.excel._layout import EXCEL_MAX_ROWS, Block, SheetPart, add_sheet, paginate
from okc_recon.excel._package import Archive, SheetBody
from okc_recon.excel._styles import Styles
from okc_recon.excel._summary import SummaryInputs, add_summary
from okc_recon.excel._tables import TableData, scrub_text
from okc_recon.runinfo import InputFile, RunInfo
from okc_recon.schema import INVOICE_FILE_SCHEMA, REJECTED_LINE_SCHEMA

__all__ = [
    "CHECK_EXPECTATION_SCHEMA",
    "CHECK_FAILURE_SCHEMA",
    "EXCEPTION_COLUMNS",
    "SHEETS",
    "write_workbook",
]

logger = logging.getLogger("okc_recon")

#: The sheets, in order (SPEC §7). Past Excel's row limit a sheet continues on "Name (2)".
SHEETS = (
    "Summary",
    "Exceptions",
    "Shipments",
    "Invoice lines",
    "Unmatched",
    "Data quality",
    "Rejected lines",
    "Run info",
)

#: The Exceptions sheet starts with these (SPEC §7, what a claim needs); other columns follow.
EXCEPTION_COLUMNS = (
    "tracking_number",
    "carrier",
    "issue_code",
    "severity",
    "amount_at_stake",
    "order_id",
    "fulfillment_id",
    "invoice_number",
    "detail",
)

#: ``CheckReport.expectations`` and ``.failures`` columns (used when no report is given).
CHECK_EXPECTATION_SCHEMA: Mapping[str, pl.DataType] = {
    "suite": pl.Utf8(),
    "expectation": pl.Utf8(),
    "column": pl.Utf8(),
    "description": pl.Utf8(),
    "severity": pl.Utf8(),
    "success": pl.Boolean(),
    "element_count": pl.Int64(),
    "unexpected_count": pl.Int64(),
    "unexpected_percent": pl.Float64(),
    "mostly": pl.Float64(),
}
CHECK_FAILURE_SCHEMA: Mapping[str, pl.DataType] = {
    "suite": pl.Utf8(),
    "record_id": pl.Utf8(),
    "expectation": pl.Utf8(),
    "column": pl.Utf8(),
    "value": pl.Utf8(),
    "severity": pl.Utf8(),
}
_CANNOT_RECONCILE_SCHEMA: Mapping[str, pl.DataType] = {
    "fulfillment_id": pl.Utf8(),
    "order_id": pl.Utf8(),
    "tracking_number": pl.Utf8(),
    "reason": pl.Utf8(),
}


class ReconciliationLike(Protocol):
    """What the workbook reads from a ``Reconciliation`` (see docs/reconciliation.md)."""

    @property
    def shipments(self) -> pl.DataFrame: ...
    @property
    def exceptions(self) -> pl.DataFrame: ...
    @property
    def invoice_lines(self) -> pl.DataFrame: ...
    @property
    def unmatched(self) -> pl.DataFrame: ...
    @property
    def summary(self) -> pl.DataFrame: ...


class CheckReportLike(Protocol):
    """What the workbook reads from a ``CheckReport``."""

    @property
    def expectations(self) -> pl.DataFrame: ...
    @property
    def failures(self) -> pl.DataFrame: ...


def write_workbook(
    recon: ReconciliationLike,
    path: str | Path,
    *,
    checks: CheckReportLike | None = None,
    rejected: pl.DataFrame | None = None,
    invoice_files: pl.DataFrame | None = None,
    run_info: RunInfo | None = None,
    max_rows: int = EXCEL_MAX_ROWS,
) -> Path:
    """Write the reconciliation workbook to ``path`` (``.xlsx``) and return the path.

    Sheets, in order: Summary (totals by carrier and by issue as live formulas, and a chart),
    Exceptions (sorted by money at stake), Shipments, Invoice lines, Unmatched (both ways,
    and the fulfillments that cannot be reconciled), Data quality (``checks``), Rejected
    lines (``rejected``, ``schema.REJECTED_LINE_SCHEMA``, then the lines read per file from
    ``invoice_files``, ``schema.INVOICE_FILE_SCHEMA``: lines in = parsed + rejected) and Run
    info (``run_info``; the invoice files are its input files when it lists none).
    Every data sheet is an Excel table; a sheet longer than ``max_rows`` rows continues on
    ``Name (2)``. The same inputs give the same file: its timestamps come from
    ``run_info.run_at`` (or the reconciliation's as-of date).

        >>> write_workbook(recon, "out/2024-01.xlsx", checks=report, run_info=info)
        PosixPath('out/2024-01.xlsx')
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ExportError(f"the workbook path must end in .xlsx, got {str(path)!r}")
    period = _attr(recon, "period")
    as_of = _as_date(_attr(recon, "as_of"))
    info = run_info or RunInfo.create(
        run_at=datetime.combine(as_of or date(2000, 1, 1), time(), tzinfo=UTC),
        period=period,
        as_of=as_of,
    )
    if info.weight_unit is None and not info.weight_unit_evidence:
        unit, evidence = _weight(recon)
        info = info.replace(weight_unit=unit, weight_unit_evidence=evidence)

    if invoice_files is not None and not info.input_files:
        info = info.replace(input_files=InputFile.from_invoice_files(invoice_files))
    blocks = _blocks(recon, checks=checks, rejected=rejected, files=invoice_files, info=info)
    parts = {sheet: paginate(sheet, blocks[sheet], max_rows=max_rows) for sheet in SHEETS[1:]}

    wb = Workbook(write_only=True)
    wb.properties.creator = "okc-recon"
    wb.properties.lastModifiedBy = "okc-recon"
    wb.properties.title = f"OKC carrier reconciliation {period or ''}".strip()
    stamp = info.run_at.astimezone(UTC).replace(tzinfo=None)
    wb.properties.created = stamp
    wb.properties.modified = stamp

    summary_ws = wb.create_sheet("Summary")
    assert isinstance(summary_ws, WriteOnlyWorksheet)
    styles = Styles.register(summary_ws)
    bodies: dict[str, SheetBody] = {}
    tables: dict[str, list[str]] = {}
    frames: dict[str, pl.DataFrame] = {}
    sheet_parts: list[SheetPart] = [p for sheet in SHEETS[1:] for p in parts[sheet]]
    for index, part in enumerate(sheet_parts, 2):
        _, body = add_sheet(wb, part, styles)
        bodies[f"xl/worksheets/sheet{index}.xml"] = body
        for placement in part.placements:
            key = placement.block.key
            tables.setdefault(key, []).append(placement.table_name)
            frames[key] = placement.block.data.frame

    weight = info.weight_unit or "unknown"
    if info.weight_unit_evidence:
        weight = f"{weight} ({info.weight_unit_evidence})"
    summary_body, _ = add_summary(
        summary_ws,
        SummaryInputs(
            frames=frames,
            tables=tables,
            period=period,
            as_of=as_of,
            weight_unit=scrub_text(weight),
            generated=f"okc-recon {info.tool_version}, {info.run_at:%Y-%m-%d %H:%M:%S} UTC",
            summary=_attr(recon, "summary"),
            issue_summary=_attr(recon, "issue_summary"),
        ),
        styles,
    )
    bodies["xl/worksheets/sheet1.xml"] = summary_body
    _save(wb, path, stamp, bodies)
    logger.info("wrote workbook %s (%d sheets)", path, len(wb.worksheets))
    return path


def _save(wb: Workbook, path: Path, stamp: datetime, bodies: dict[str, SheetBody]) -> None:
    """Write to a temporary file beside ``path``, then move it into place (never half a file)."""
    temp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(handle)
        ExcelWriter(wb, Archive(temp, timestamp=stamp, bodies=bodies)).save()
        os.replace(temp, path)
    except OSError as exc:
        raise ExportError(f"could not write the workbook {str(path)!r}: {exc}") from exc
    finally:
        if temp is not None and os.path.exists(temp):
            os.remove(temp)


def _attr(obj: object, name: str) -> Any:
    return getattr(obj, name, None)


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _weight(recon: object) -> tuple[str | None, str]:
    """The weight unit a ``Reconciliation`` used, and how it was decided."""
    unit = _attr(recon, "weight_unit")
    unit = unit if isinstance(unit, str) else None
    inference = _attr(recon, "weight_inference")
    describe = getattr(inference, "describe", None)
    if callable(describe):
        return unit, str(describe())
    source = _attr(recon, "weight_unit_source")
    return unit, str(source) if source else ""


def _exceptions(frame: pl.DataFrame) -> pl.DataFrame:
    """Exceptions with the SPEC §7 columns first, largest money at stake first."""
    first = [c for c in EXCEPTION_COLUMNS if c in frame.columns]
    frame = frame.select([*first, *(c for c in frame.columns if c not in first)])
    if "amount_at_stake" in frame.columns:
        # stable: ties keep the reconciliation's own (deterministic) order
        frame = frame.sort("amount_at_stake", descending=True, nulls_last=True, maintain_order=True)
    return frame


def _frame(value: object, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    if isinstance(value, pl.DataFrame):
        return value
    return pl.DataFrame(schema=dict(schema))


def _blocks(
    recon: ReconciliationLike,
    *,
    checks: CheckReportLike | None,
    rejected: pl.DataFrame | None,
    files: pl.DataFrame | None,
    info: RunInfo,
) -> dict[str, list[Block]]:
    shipments = TableData.of(recon.shipments, links=True)
    # the claim columns stay first (SPEC §7); the tracking link follows them
    exceptions = TableData.of(_exceptions(recon.exceptions), links=True, url_after="detail")
    invoice_lines = TableData.of(recon.invoice_lines)
    unmatched = TableData.of(recon.unmatched, links=True)
    cannot = TableData.of(_frame(_attr(recon, "cannot_reconcile"), _CANNOT_RECONCILE_SCHEMA))
    expectations = _frame(getattr(checks, "expectations", None), CHECK_EXPECTATION_SCHEMA)
    failures = _frame(getattr(checks, "failures", None), CHECK_FAILURE_SCHEMA)
    rejected_frame = _frame(rejected, REJECTED_LINE_SCHEMA)

    written = {
        "exceptions": exceptions.height,
        "shipments": shipments.height,
        "invoice lines": invoice_lines.height,
        "unmatched": unmatched.height,
        "cannot reconcile": cannot.height,
        "check failures": failures.height,
        "rejected lines": rejected_frame.height,
    }
    return {
        "Exceptions": [Block("exceptions", "tblExceptions", exceptions)],
        "Shipments": [Block("shipments", "tblShipments", shipments)],
        "Invoice lines": [Block("invoice_lines", "tblInvoiceLines", invoice_lines)],
        "Unmatched": [
            Block("unmatched", "tblUnmatched", unmatched),
            Block("cannot_reconcile", "tblCannotReconcile", cannot, "Cannot reconcile"),
        ],
        "Data quality": [
            Block("expectations", "tblExpectations", TableData.of(expectations)),
            Block("failures", "tblCheckFailures", TableData.of(failures), "Failing records"),
        ],
        "Rejected lines": [
            Block("rejected", "tblRejectedLines", TableData.of(rejected_frame)),
            Block(
                "invoice_files",
                "tblInvoiceFiles",
                TableData.of(_frame(files, INVOICE_FILE_SCHEMA)),
                "Lines read per file",
            ),
        ],
        "Run info": _run_info_blocks(info, written),
    }


def _run_info_blocks(info: RunInfo, written: Mapping[str, int]) -> list[Block]:
    items = pl.DataFrame(
        [(k, scrub_text(v)) for k, v in info.items()],
        schema={"item": pl.Utf8, "value": pl.Utf8},
        orient="row",
    )
    files = pl.DataFrame(
        [(f.path, f.kind, f.format, f.sha256, f.size_bytes, f.rows) for f in info.input_files],
        schema={
            "path": pl.Utf8,
            "kind": pl.Utf8,
            "format": pl.Utf8,
            "sha256": pl.Utf8,
            "size_bytes": pl.Int64,
            "rows": pl.Int64,
        },
        orient="row",
    )
    counts = [("in", k, v) for k, v in info.rows_in.items()]
    counts += [("out", k, v) for k, v in info.rows_out.items()]
    counts += [("written", k, v) for k, v in written.items()]
    rows = pl.DataFrame(
        counts, schema={"direction": pl.Utf8, "table": pl.Utf8, "rows": pl.Int64}, orient="row"
    )
    settings = pl.DataFrame(
        [(k, scrub_text(v)) for k, v in sorted(info.settings.items())],
        schema={"setting": pl.Utf8, "value": pl.Utf8},
        orient="row",
    )
    return [
        Block("run", "tblRunInfo", TableData.of(items)),
        Block("input_files", "tblInputFiles", TableData.of(files), "Input files"),
        Block("row_counts", "tblRowCounts", TableData.of(rows), "Row counts"),
        Block("settings", "tblSettings", TableData.of(settings), "Settings used"),
    ]
