"""Reading a written workbook back: tables as rows, and the Summary checked against a summary."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
from openpyxl.utils.cell import range_boundaries

from okc_recon.excel._summary import MEASURES
from tests.excel.formulas import Evaluator


def load(path: Path, **kw: Any) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path, **kw)


def table_rows(ws: Any, name: str) -> list[dict[str, Any]]:
    table = ws.tables[name]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
    return [
        {h: ws.cell(r, c).value for h, c in zip(headers, range(min_col, max_col + 1), strict=True)}
        for r in range(min_row + 1, max_row + 1)
    ]


def money(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def summary_figures(path: Path) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(carrier, header) -> (formula evaluated from the sheets, cached value)."""
    wb, cached = load(path), load(path, data_only=True)
    ws, ws_cached = wb["Summary"], cached["Summary"]
    evaluator = Evaluator(wb)
    out = {}
    for name in ("tblSummaryByCarrier", "tblSummaryByIssue"):
        min_col, min_row, max_col, max_row = range_boundaries(ws.tables[name].ref)
        headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
        for r in range(min_row + 1, max_row + 1):
            label = ws.cell(r, min_col).value
            for c, header in zip(range(min_col + 1, max_col + 1), headers[1:], strict=True):
                formula = ws.cell(r, c).value
                assert isinstance(formula, str), (r, c, formula)
                assert formula.startswith("="), (r, c, formula)
                value = evaluator.evaluate(ws, formula)
                out[(str(label), str(header))] = (value, money(ws_cached.cell(r, c).value))
    return out


def check_against_summary(path: Path, recon: Any) -> None:
    figures = summary_figures(path)
    labels = {m.key: m.label for m in MEASURES}
    checked = 0
    for record in recon.summary.to_dicts():
        for key, want in record.items():
            if key == "carrier":
                continue
            evaluated, cached = figures[(record["carrier"], labels[key])]
            assert evaluated == Decimal(want), (record["carrier"], key, evaluated, want)
            assert cached == Decimal(want).quantize(Decimal("0.01")), (record["carrier"], key)
            checked += 1
    assert checked == (recon.summary.width - 1) * recon.summary.height
    for record in recon.issue_summary.filter(pl.col("carrier") == "all").to_dicts():
        evaluated, _ = figures[(record["issue_code"], "Money at stake")]
        assert evaluated == record["amount_at_stake"]
        evaluated, _ = figures[(record["issue_code"], "Exceptions")]
        assert evaluated == record["exceptions"]
    for record in recon.issue_summary.filter(pl.col("carrier") != "all").to_dicts():
        evaluated, _ = figures[(record["issue_code"], record["carrier"])]
        assert evaluated == record["amount_at_stake"]


def assert_table_matches(ws: Any, name: str, frame: pl.DataFrame) -> None:
    """Every row and column of ``frame`` reads back from table ``name`` with its value."""
    rows = table_rows(ws, name)
    assert len(rows) == max(frame.height, 1)  # an empty table keeps one blank row
    if frame.height == 0:
        assert all(v is None for v in rows[0].values())
    for got, want in zip(rows, frame.to_dicts(), strict=False):
        for column, expected in want.items():
            value = got[column]
            if expected is None or expected == "":
                assert value is None, (name, column, value)
            elif isinstance(expected, Decimal):
                assert money(value) == expected, (name, column, value, expected)
            elif isinstance(expected, bool):
                assert value is expected, (name, column)
            elif isinstance(expected, datetime):
                assert value == expected.astimezone(UTC).replace(tzinfo=None), (name, column)
            elif isinstance(expected, date):
                assert value.date() == expected, (name, column, value)
            elif isinstance(expected, float):
                assert abs(value - expected) < 1e-9, (name, column, value)
            else:
                assert value == expected, (name, column, value, expected)
