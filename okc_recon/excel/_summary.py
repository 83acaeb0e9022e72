"""The Summary sheet: totals by carrier and by issue as live formulas, and a chart.

Every figure is a ``SUMIFS``/``COUNTIFS`` over the tables of the other sheets (structured
references such as ``tblShipments[okc_charge]``, so an auditor can follow each one), written
with its value cached so readers that do not calculate still see it. The cached values are
computed here in Polars with Excel's semantics, and compared with ``Reconciliation.summary``:
a figure that does not reproduce it is logged and flagged on the sheet.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.chart.data_source import StrRef
from openpyxl.chart.series import SeriesLabel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from okc_recon.excel._package import SheetBody
from okc_recon.excel._styles import Styles
from okc_recon.excel._xml import col_letter, py_cell, py_row
from okc_recon.money import CENT
from okc_recon.schema import CARRIERS

__all__ = ["ISSUE_CODES", "MEASURES", "REFUND_ISSUES", "Measure", "SummaryInputs", "add_summary"]

logger = logging.getLogger("okc_recon")

#: Issue codes in the order of docs/reconciliation.md.
ISSUE_CODES = (
    "UNBILLED",
    "NOT_IN_OKC",
    "BILLED_CANCELED",
    "DUPLICATE_BILLING",
    "CHARGE_VARIANCE",
    "WEIGHT_VARIANCE",
    "DIM_WEIGHT",
    "LATE_DELIVERY",
    "CARRIER_MISMATCH",
    "SERVICE_MISMATCH",
    "ADDRESS_CORRECTION",
    "SURCHARGE",
    "ADJUSTMENT",
)
#: Issues whose exceptions can be refund candidates.
REFUND_ISSUES = (
    "DUPLICATE_BILLING",
    "BILLED_CANCELED",
    "NOT_IN_OKC",
    "LATE_DELIVERY",
    "CHARGE_VARIANCE",
)
# Values used as SUMIFS criteria must not be read as wildcards or comparisons.
_PLAIN = re.compile(r"^[A-Za-z0-9_ .]{1,60}$")


#: One SUMIFS/COUNTIFS criterion: (column, operator, value), operator one of =, <>, >.
Criterion = tuple[str, str, object]

_IN_RUN: tuple[tuple[Criterion, ...], ...] = (
    # the shipments of the run: every current one, and a prior one a line of this run bills
    (("period", "=", "current"),),
    (("period", "<>", "current"), ("line_count", ">", 0)),
)


@dataclass(frozen=True)
class Measure:
    """One figure per carrier: a count or a sum over one table, of the rows that meet any one
    of ``alternatives`` (each a set of criteria, all of which must hold; disjoint)."""

    label: str
    key: str  # its column in Reconciliation.summary / issue_summary
    table: str  # block key: shipments, exceptions, unmatched
    value: str | None  # summed column; None counts rows
    alternatives: tuple[tuple[Criterion, ...], ...] = ((),)
    count_column: str | None = None  # what an unfiltered count counts (COUNTA)

    @property
    def money(self) -> bool:
        return self.value is not None

    def columns(self) -> set[str]:
        cols = {"carrier", *(c for alt in self.alternatives for c, _, _ in alt)}
        return cols | {c for c in (self.value, self.count_column) if c}


def _refund(code: str | None = None) -> Measure:
    criteria: tuple[Criterion, ...] = (("refund_candidate", "=", True),)
    if code is None:
        return Measure(
            "Refund candidates",
            "refund_candidate_amount",
            "exceptions",
            "amount_at_stake",
            (criteria,),
        )
    return Measure(
        f"Refund: {code}",
        f"refund_{code.lower()}",
        "exceptions",
        "amount_at_stake",
        ((("issue_code", "=", code), *criteria),),
    )


_UNMATCHED: tuple[Criterion, ...] = (("side", "=", "carrier"),)
_INVOICE_LEVEL: Criterion = ("reason", "=", "invoice-level charge")

#: The columns of the by-carrier table, as defined in okc_recon.reconciliation (its summary).
MEASURES: tuple[Measure, ...] = (
    Measure("Shipments", "shipments", "shipments", None, _IN_RUN),
    Measure("OKC charges", "okc_charges", "shipments", "okc_charge", _IN_RUN),
    Measure("Carrier billed", "carrier_billed", "shipments", "carrier_total", _IN_RUN),
    Measure("Variance", "variance", "shipments", "variance", _IN_RUN),
    Measure(
        "Unmatched carrier amount",
        "unmatched_carrier_amount",
        "unmatched",
        "amount",
        ((*_UNMATCHED, ("reason", "<>", _INVOICE_LEVEL[2])),),
    ),
    Measure(
        "Invoice-level charges",
        "invoice_level_charges",
        "unmatched",
        "amount",
        ((*_UNMATCHED, _INVOICE_LEVEL),),
    ),
    Measure("Exceptions", "exceptions", "exceptions", None, count_column="issue_code"),
    Measure("Money at stake", "amount_at_stake", "exceptions", "amount_at_stake"),
    _refund(),
    *(_refund(code) for code in REFUND_ISSUES),
)
#: The blank carrier (null in the frames) is the "unknown" row, as in the reconcile summary.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class SummaryInputs:
    """What the Summary reads: the prepared frames and the names of their tables."""

    frames: Mapping[str, pl.DataFrame]  # block key -> frame as written
    tables: Mapping[str, Sequence[str]]  # block key -> table names (one per sheet part)
    period: str | None
    as_of: date | None
    weight_unit: str
    generated: str
    summary: pl.DataFrame | None  # Reconciliation.summary, to check the formulas against
    issue_summary: pl.DataFrame | None = None


def _criterion(op: str, value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    text = f"{op}{value}" if op != "=" else str(value)
    return '"' + text.replace('"', '""') + '"'


def _excel_match(column: str, op: str, value: object) -> pl.Expr:
    """The rows a criterion selects, with Excel's semantics (text without case; blanks)."""
    col = pl.col(column)
    if isinstance(value, bool):
        return (col == value).fill_null(False)
    if op == ">":
        return (col.cast(pl.Float64) > float(str(value))).fill_null(False)
    # text columns arrive lower-cased (see _lowered): Excel compares text without case
    equal = col == str(value).lower()
    if op == "=":
        return equal.fill_null(False)
    return (~equal).fill_null(True)  # "<>x" also selects blank cells


def _lowered(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its text columns lower-cased, once, for :func:`_excel_match`."""
    text = [n for n, d in frame.schema.items() if d == pl.Utf8]
    return frame.with_columns(pl.col(text).str.to_lowercase())


def _carrier_match(carrier: str) -> pl.Expr:
    if carrier == UNKNOWN:
        return pl.col("carrier").is_null()
    return _excel_match("carrier", "=", carrier)


def _has(inputs: SummaryInputs, measure: Measure) -> bool:
    frame = inputs.frames.get(measure.table)
    return (
        frame is not None
        and bool(inputs.tables.get(measure.table))
        and measure.columns() <= set(frame.columns)
    )


def _formula(
    inputs: SummaryInputs,
    measure: Measure,
    carrier: str | None,
    extra: Sequence[tuple[str, str]] = (),
) -> str:
    """``measure``'s formula. ``carrier`` is a cell holding the carrier, ``'""'`` for the blank
    carrier, ``None`` for all; ``extra`` adds (column, cell) criteria."""
    terms = []
    for table in inputs.tables[measure.table]:
        for alternative in measure.alternatives:
            criteria = [(f"{table}[carrier]", carrier)] if carrier else []
            criteria += [(f"{table}[{c}]", _criterion(op, v)) for c, op, v in alternative]
            criteria += [(f"{table}[{c}]", ref) for c, ref in extra]
            args = ",".join(f"{r},{c}" for r, c in criteria)
            if measure.value is not None:
                value = f"{table}[{measure.value}]"
                terms.append(f"SUMIFS({value},{args})" if args else f"SUM({value})")
            elif args:
                terms.append(f"COUNTIFS({args})")
            else:
                terms.append(f"COUNTA({table}[{measure.count_column}])")
    return "+".join(terms)


def _value(
    frame: pl.DataFrame,
    measure: Measure,
    carrier: str | None,
    extra: Sequence[tuple[str, object]] = (),
) -> Decimal | int:
    """What Excel computes for :func:`_formula` on ``frame`` (the rows as written)."""
    base = pl.lit(True)
    if carrier is not None:
        base &= _carrier_match(carrier)
    for column, value in extra:
        base &= _excel_match(column, "=", value)
    selected = pl.lit(False)
    for alternative in measure.alternatives:
        cond = base
        for column, op, value in alternative:
            cond &= _excel_match(column, op, value)
        selected |= cond
    if measure.value is None and carrier is None and not extra and measure.alternatives == ((),):
        assert measure.count_column is not None
        return int(frame.select(pl.col(measure.count_column).is_not_null().sum()).item())
    if measure.value is None:
        return int(frame.select(selected.sum()).item())
    total = frame.select(pl.col(measure.value).filter(selected).sum()).item()
    return Decimal(total or 0).quantize(CENT)


def _ordered(values: Iterator[Any], canonical: Sequence[str]) -> list[str]:
    found = {str(v) for v in values if v is not None and _PLAIN.match(str(v))}
    first = [c for c in canonical if c in found]
    return first + sorted(found - set(first))


def _distinct(frame: pl.DataFrame | None, column: str) -> Iterator[Any]:
    if frame is None or column not in frame.columns:
        return iter(())
    return iter(frame.get_column(column).unique().to_list())


class _Cells:
    """The Summary's cells by row (a few dozen: carriers × figures)."""

    def __init__(self) -> None:
        self.rows: dict[int, list[str]] = {}

    def put(self, row: int, cell: str) -> None:
        if cell:
            self.rows.setdefault(row, []).append(cell)

    def xml(self) -> bytes:
        return "".join(py_row(r, self.rows[r]) for r in sorted(self.rows)).encode()


def _add_table(
    ws: WriteOnlyWorksheet, name: str, headers: Sequence[str], header_row: int, last_row: int
) -> None:
    ref = f"A{header_row}:{col_letter(len(headers) - 1)}{max(last_row, header_row + 1)}"
    table = Table(displayName=name, ref=ref)
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, 1)]
    table.autoFilter = AutoFilter(ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="In write-only mode you must add table")
        ws.add_table(table)


def add_summary(
    ws: WriteOnlyWorksheet, inputs: SummaryInputs, styles: Styles
) -> tuple[SheetBody, list[str]]:
    """Fill the Summary sheet; returns its body and the figures that disagree with
    ``Reconciliation.summary`` / ``issue_summary`` (also logged and noted on the sheet)."""
    cells = _Cells()
    put = cells.put
    put(1, py_cell("A1", "OKC carrier reconciliation", style=styles.title))
    facts: list[tuple[str, object, int | None]] = [
        ("Period", inputs.period or "", None),
        ("As of", inputs.as_of, styles.date),
        ("Weight unit", inputs.weight_unit, None),
        ("Generated", inputs.generated, None),
    ]
    for row, (label, value, style) in enumerate(facts, 2):
        put(row, py_cell(f"A{row}", label, style=styles.label))
        put(row, py_cell(f"B{row}", value, style=style, quoted_style=styles.text_quoted))
    note_row = 2 + len(facts)

    frames = {key: _lowered(frame) for key, frame in inputs.frames.items()}
    distinct = [
        v
        for key in ("shipments", "exceptions", "unmatched")
        for v in _distinct(inputs.frames.get(key), "carrier")
    ]
    carriers = _ordered(iter(distinct), CARRIERS)
    if any(v is None for v in distinct):
        carriers.append(UNKNOWN)
    measures = [m for m in MEASURES if _has(inputs, m)]
    expected = _lookup(inputs.summary, ("carrier",))
    mismatches: list[str] = []

    def figure(
        row: int,
        col: int,
        m: Measure,
        carrier: str | None,
        formula: str,
        value: Decimal | int,
        key: tuple[str, ...],
    ) -> None:
        style = styles.money if m.money else styles.integer
        put(row, py_cell(f"{col_letter(col)}{row}", value, style=style, formula=formula))
        want = expected.get(key)
        if want is not None and _differs(want, value):
            mismatches.append(f"{' '.join(key)}: the formula gives {value}, the summary {want}")

    # Totals by carrier.
    title_row = note_row + 2
    put(title_row, py_cell(f"A{title_row}", "Totals by carrier", style=styles.label))
    header_row = title_row + 1
    headers = ["Carrier", *(m.label for m in measures)]
    for i, h in enumerate(headers):
        put(header_row, py_cell(f"{col_letter(i)}{header_row}", h))
    row = header_row
    for carrier in [*carriers, "all"]:
        row += 1
        put(row, py_cell(f"A{row}", carrier))
        ref = None if carrier == "all" else ('""' if carrier == UNKNOWN else f"$A{row}")
        for i, m in enumerate(measures, 1):
            value = _value(frames[m.table], m, None if carrier == "all" else carrier)
            figure(row, i, m, carrier, _formula(inputs, m, ref), value, (carrier, m.key))
    carrier_last = row
    _add_table(ws, "tblSummaryByCarrier", headers, header_row, carrier_last)
    widths = len(headers)

    # Money at stake by issue, and by issue and carrier: the chart's data.
    exceptions = frames.get("exceptions")
    stake = Measure("Money at stake", "amount_at_stake", "exceptions", "amount_at_stake")
    if exceptions is not None and _has(inputs, stake) and "issue_code" in exceptions.columns:
        expected = _lookup(inputs.issue_summary, ("carrier", "issue_code"))
        fixed = [Measure("Exceptions", "exceptions", "exceptions", None), stake]
        if "refund_candidate" in exceptions.columns:
            fixed.append(_refund())
        issue_header = carrier_last + 3
        put(
            issue_header - 1,
            py_cell(f"A{issue_header - 1}", "Money at stake by issue", style=styles.label),
        )
        named = [c for c in carriers if c != UNKNOWN]
        issue_headers = _unique(["Issue", *(m.label for m in fixed), *named])
        for i, h in enumerate(issue_headers):
            put(issue_header, py_cell(f"{col_letter(i)}{issue_header}", h))
        issues = _ordered(_distinct(inputs.frames["exceptions"], "issue_code"), ISSUE_CODES)
        row = issue_header
        for code in issues:
            row += 1
            put(row, py_cell(f"A{row}", code))
            where = [("issue_code", code)]
            for i, m in enumerate(fixed, 1):
                formula = _formula(inputs, m, None, [("issue_code", f"$A{row}")])
                figure(
                    row,
                    i,
                    m,
                    None,
                    formula,
                    _value(exceptions, m, None, where),
                    ("all", code, m.key),
                )
            for j, carrier in enumerate(named, len(fixed) + 1):
                header_ref = f"{col_letter(j)}${issue_header}"
                formula = _formula(inputs, stake, header_ref, [("issue_code", f"$A{row}")])
                value = _value(exceptions, stake, carrier, where)
                figure(row, j, stake, carrier, formula, value, (carrier, code, stake.key))
        _add_table(ws, "tblSummaryByIssue", issue_headers, issue_header, row)
        if issues and named:
            first = len(fixed) + 1
            _chart(
                ws, issue_header, range(issue_header + 1, row + 1), first, first + len(named) - 1
            )
        widths = max(widths, len(issue_headers))

    if mismatches:
        for line in mismatches:
            logger.warning("workbook Summary differs from the reconciliation: %s", line)
        note = f"Check: {len(mismatches)} figure(s) differ from the reconciliation's summary."
    else:
        note = "Every figure is a live formula over the tables on the other sheets."
    put(note_row, py_cell(f"A{note_row}", note, style=styles.note))

    ws.column_dimensions["A"].width = 24
    for i in range(1, widths):
        ws.column_dimensions[col_letter(i)].width = 18
    xml = cells.xml()
    return SheetBody(rows=lambda: iter([xml])), mismatches


def _chart(
    ws: WriteOnlyWorksheet, header_row: int, rows: range, first_col: int, last_col: int
) -> None:
    """A stacked column chart: one column per carrier, one colour per issue code."""
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = "Money at stake by carrier and issue"
    chart.y_axis.title = "Money at stake"
    chart.y_axis.numFmt = '"$"#,##0'
    chart.x_axis.title = "Carrier"
    chart.width = 24
    chart.height = 12
    for row in rows:
        values = Reference(
            ws, min_col=first_col + 1, max_col=last_col + 1, min_row=row, max_row=row
        )
        series = Series(values)
        series.tx = SeriesLabel(strRef=StrRef(f"'{ws.title}'!$A${row}"))
        chart.series.append(series)
    chart.set_categories(
        Reference(
            ws, min_col=first_col + 1, max_col=last_col + 1, min_row=header_row, max_row=header_row
        )
    )
    ws.add_chart(chart, f"A{rows[-1] + 3}")


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 2
        while candidate.lower() in seen:
            candidate, n = f"{name} ({n})", n + 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def _lookup(frame: pl.DataFrame | None, keys: tuple[str, ...]) -> dict[tuple[str, ...], object]:
    """``(*key values, column) -> value`` of a summary frame (bounded: carriers × issues)."""
    if frame is None or not set(keys) <= set(frame.columns):
        return {}
    out: dict[tuple[str, ...], object] = {}
    for record in frame.to_dicts():
        key = tuple(str(record[k]) for k in keys)
        for column, value in record.items():
            if column not in keys and value is not None:
                out[(*key, column)] = value
    return out


def _differs(want: object, got: Decimal | int) -> bool:
    try:
        return Decimal(str(want)).quantize(CENT) != Decimal(got).quantize(CENT)
    except ArithmeticError:
        return True
