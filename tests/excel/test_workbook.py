from __future__ import annotations

import logging
import re
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from openpyxl.utils.cell import range_boundaries

from okc_recon.errors import ExportError
from okc_recon.excel import EXCEPTION_COLUMNS, SHEETS, write_workbook
from okc_recon.excel._styles import FORMATS
from okc_recon.runinfo import InputFile, RunInfo
from okc_recon.schema import INVOICE_FILE_SCHEMA, REJECTED_LINE_SCHEMA
from tests.excel.helpers import (
    assert_table_matches,
    check_against_summary,
    load,
    money,
    table_rows,
)
from tests.excel.month import Month, synthetic_month

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*)$")


@pytest.fixture(scope="module")
def wb(book: Path) -> openpyxl.Workbook:
    return load(book)


def test_sheets_are_in_spec_order(wb: openpyxl.Workbook) -> None:
    assert wb.sheetnames == list(SHEETS)


def test_every_table_is_valid_for_excel(wb: openpyxl.Workbook, month: Month) -> None:
    names: list[str] = []
    for ws in wb.worksheets:
        assert len(ws.title) <= 31
        if ws.title != "Summary":
            assert ws.tables, ws.title
            assert ws.freeze_panes == "A2", ws.title
        for name in ws.tables:
            table = ws.tables[name]
            names.append(name.lower())
            assert _TABLE_NAME.match(name), name
            assert not _CELL_LIKE.match(name), name
            assert table.autoFilter is not None
            assert table.autoFilter.ref == table.ref
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
            headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
            assert all(isinstance(h, str) and h for h in headers), (name, headers)
            assert len({h.lower() for h in headers}) == len(headers), name
            assert headers == [c.name for c in table.tableColumns], name
            assert max_row > min_row  # a table always has a (possibly blank) data row
    assert len(names) == len(set(names))
    # table ranges cover exactly the frames' rows
    assert (
        range_boundaries(wb["Shipments"].tables["tblShipments"].ref)[3]
        == 1 + month.shipments.height
    )
    lines = wb["Invoice lines"].tables["tblInvoiceLines"].ref
    assert range_boundaries(lines)[3] == 1 + month.invoice_lines.height
    assert wb["Rejected lines"].tables["tblRejectedLines"].ref == "A1:E2"  # empty: header + 1 row


def test_shipments_read_back_with_their_values_and_formats(
    wb: openpyxl.Workbook, month: Month
) -> None:
    ws = wb["Shipments"]
    rows = table_rows(ws, "tblShipments")
    expected = month.shipments.to_dicts()
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert got["tracking_number"] == want["tracking_number"]  # text, leading zeros kept
        assert got["order_id"] == want["order_id"]
        assert money(got["okc_charge"]) == want["okc_charge"]
        assert money(got["carrier_total"]) == want["carrier_total"]
        assert got["ship_date"].date() == want["ship_date"]
        assert got["line_count"] == want["line_count"]
        assert got["rated_on_dim"] is want["rated_on_dim"]
        assert got["issues"] == want["issues"]
    header = {c.value: c.column for c in ws[1]}
    second = {name: ws.cell(2, col) for name, col in header.items()}
    assert second["tracking_number"].data_type == "s"
    assert second["tracking_number"].number_format == FORMATS["id"]
    assert second["okc_charge"].number_format == FORMATS["money"]
    assert second["ship_date"].number_format == FORMATS["date"]
    assert second["rated_on_dim"].data_type == "b"
    # identifiers that would turn into numbers stay text: 12-digit FedEx with zeros, 22-digit USPS
    numbers = [r["tracking_number"] for r in rows]
    assert any(n.startswith("0000") for n in numbers)
    assert any(len(n) == 22 and n.isdigit() for n in numbers)


def test_every_data_sheet_reads_back_as_its_frame(wb: openpyxl.Workbook, month: Month) -> None:
    exceptions = month.exceptions.sort(
        "amount_at_stake", descending=True, nulls_last=True, maintain_order=True
    )
    assert_table_matches(wb["Exceptions"], "tblExceptions", exceptions)
    assert_table_matches(wb["Shipments"], "tblShipments", month.shipments)
    assert_table_matches(wb["Invoice lines"], "tblInvoiceLines", month.invoice_lines)
    assert_table_matches(wb["Unmatched"], "tblUnmatched", month.unmatched)
    assert_table_matches(wb["Unmatched"], "tblCannotReconcile", month.cannot_reconcile)


def test_widths_fit_headers_and_values(wb: openpyxl.Workbook) -> None:
    ws = wb["Shipments"]
    header = {c.value: c.column_letter for c in ws[1]}
    width = {name: ws.column_dimensions[letter].width for name, letter in header.items()}
    assert width["tracking_number"] >= 22  # the 22-digit USPS numbers
    for name, w in width.items():
        assert len(name) < w <= 60, name


def test_tracking_urls_are_hyperlinks(wb: openpyxl.Workbook) -> None:
    for sheet in ("Shipments", "Exceptions"):
        ws = wb[sheet]
        header = {c.value: c.column for c in ws[1]}
        col = header["tracking_url"]
        for row in range(2, min(ws.max_row, 60) + 1):
            cell = ws.cell(row, col)
            assert cell.hyperlink is not None
            assert cell.hyperlink.target == cell.value
            number = ws.cell(row, header["tracking_number"]).value
            assert cell.value.startswith("https://")
            assert cell.value.endswith(number)


def test_exceptions_lead_with_the_claim_columns_sorted_by_money_at_stake(
    wb: openpyxl.Workbook, month: Month
) -> None:
    ws = wb["Exceptions"]
    headers = [c.value for c in ws[1]]
    assert headers[: len(EXCEPTION_COLUMNS)] == list(EXCEPTION_COLUMNS)
    rows = table_rows(ws, "tblExceptions")
    amounts = [money(r["amount_at_stake"]) for r in rows]
    assert amounts == sorted(amounts, reverse=True)
    assert len(rows) == month.exceptions.height
    assert {r["issue_code"] for r in rows} == set(month.exceptions["issue_code"])


def test_summary_formulas_equal_the_reconciliation_summary_to_the_cent(
    book: Path, month: Month
) -> None:
    check_against_summary(book, month)


def test_summary_has_a_native_chart_of_money_at_stake(book: Path) -> None:
    with zipfile.ZipFile(book) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        chart = z.read(charts[0]).decode()
    assert "<barChart>" in chart
    assert '<grouping val="stacked"' in chart
    assert "'Summary'!$A$" in chart  # series named by the issue cells: live, not copied


def test_a_sheet_past_the_row_limit_continues_on_a_second_sheet(
    month: Month, run_info: RunInfo, tmp_path: Path
) -> None:
    path = write_workbook(month, tmp_path / "small.xlsx", run_info=run_info, max_rows=60)
    wb = load(path)
    parts = [n for n in wb.sheetnames if n.startswith("Shipments")]
    assert parts == ["Shipments", "Shipments (2)", "Shipments (3)"]
    numbers = []
    for i, name in enumerate(parts):
        ws = wb[name]
        table = "tblShipments" if i == 0 else f"tblShipments_{i + 1}"
        assert ws.max_row <= 60
        numbers += [r["tracking_number"] for r in table_rows(ws, table)]
    assert numbers == month.shipments["tracking_number"].to_list()
    assert wb.sheetnames.index("Shipments (3)") < wb.sheetnames.index("Invoice lines")
    lines = [n for n in wb.sheetnames if n.startswith("Invoice lines")]
    assert len(lines) == -(-month.invoice_lines.height // 59)
    check_against_summary(path, month)


def test_the_same_inputs_give_the_same_bytes(
    month: Month, run_info: RunInfo, tmp_path: Path
) -> None:
    first = write_workbook(month, tmp_path / "a.xlsx", run_info=run_info).read_bytes()
    second = write_workbook(month, tmp_path / "b.xlsx", run_info=run_info).read_bytes()
    assert first == second
    later = run_info.replace(run_at=datetime(2024, 3, 17, tzinfo=UTC))
    third = write_workbook(month, tmp_path / "c.xlsx", run_info=later).read_bytes()
    assert third != first
    core = zipfile.ZipFile(tmp_path / "a.xlsx").read("docProps/core.xml").decode()
    assert "2024-03-16T09:30:00Z" in core


def test_checks_and_rejected_lines_get_their_sheets(
    month: Month, run_info: RunInfo, tmp_path: Path
) -> None:
    class Report:
        expectations = pl.DataFrame(
            {
                "suite": ["fulfillments", "fulfillments"],
                "expectation": ["expect_column_values_to_not_be_null", "tracking_valid"],
                "column": ["tracking_number", "tracking_key"],
                "description": ["tracking number present", "valid for its carrier"],
                "severity": ["error", "warning"],
                "success": [True, False],
                "element_count": [400, 400],
                "unexpected_count": [0, 2],
                "unexpected_percent": [0.0, 0.5],
                "mostly": [1.0, 0.99],
            }
        )
        failures = pl.DataFrame(
            {
                "suite": ["fulfillments"] * 2,
                "record_id": ["000123", "000456"],
                "expectation": ["tracking_valid"] * 2,
                "column": ["tracking_key"] * 2,
                "value": ["7.9464E+11", "=1+2"],
                "severity": ["warning"] * 2,
            }
        )

    rejected = pl.DataFrame(
        {
            "source_file": ["ups.csv"],
            "source_line": [17],
            "format": ["ups_billing_data"],
            "reason": ["amount is not a number"],
            "raw": ["1Z999,abc"],
        },
        schema=dict(REJECTED_LINE_SCHEMA),
    )
    files = pl.DataFrame(
        {
            "source_file": ["ups.csv"],
            "format": ["ups_billing_data"],
            "encoding": ["utf-8"],
            "sha256": ["ab" * 32],
            "lines_in": [18],
            "lines_parsed": [17],
            "lines_rejected": [1],
            "charge_lines": [40],
            "resent_lines": [0],
            "duplicate_of": [None],
        },
        schema=dict(INVOICE_FILE_SCHEMA),
    )
    info = run_info.replace(input_files=())
    path = write_workbook(
        month,
        tmp_path / "q.xlsx",
        checks=Report(),
        rejected=rejected,
        invoice_files=files,
        run_info=info,
    )
    wb = load(path)
    dq = wb["Data quality"]
    expectations = table_rows(dq, "tblExpectations")
    assert [e["success"] for e in expectations] == [True, False]
    failures = table_rows(dq, "tblCheckFailures")
    assert [f["record_id"] for f in failures] == ["000123", "000456"]
    assert failures[1]["value"] == "=1+2"
    title_row = range_boundaries(dq.tables["tblCheckFailures"].ref)[1] - 1
    assert dq.cell(title_row, 1).value == "Failing records"
    assert table_rows(wb["Rejected lines"], "tblRejectedLines") == [
        {
            "source_file": "ups.csv",
            "source_line": 17,
            "format": "ups_billing_data",
            "reason": "amount is not a number",
            "raw": "1Z999,abc",
        }
    ]
    per_file = table_rows(wb["Rejected lines"], "tblInvoiceFiles")
    assert [(f["source_file"], f["lines_in"], f["lines_rejected"]) for f in per_file] == [
        ("ups.csv", 18, 1)
    ]
    inputs = table_rows(wb["Run info"], "tblInputFiles")
    assert [(f["path"], f["sha256"], f["kind"]) for f in inputs] == [
        ("ups.csv", "ab" * 32, "invoice")
    ]


def test_run_info_records_the_run(month: Month, tmp_path: Path) -> None:
    source = tmp_path / "ups.csv"
    source.write_text("1Z999AA10123456784,12.50\n")
    info = RunInfo.create(
        run_at=datetime(2024, 3, 16, tzinfo=UTC),
        input_files=[InputFile.from_path(source, kind="invoice", rows=1)],
        rows_in={"fulfillments": 400},
        weight="oz",
        extra_settings={"abs_tolerance": "0.25"},
        period="2024-01",
    )
    wb = load(write_workbook(month, tmp_path / "r.xlsx", run_info=info))
    ws = wb["Run info"]
    items = {r["item"]: r["value"] for r in table_rows(ws, "tblRunInfo")}
    assert items["tool"].startswith("okc-recon ")
    assert items["run at (UTC)"] == "2024-03-16 00:00:00"
    assert items["weight unit"] == "oz"
    files = table_rows(ws, "tblInputFiles")
    assert files[0]["sha256"] == InputFile.from_path(source).sha256
    counts = {(r["direction"], r["table"]): r["rows"] for r in table_rows(ws, "tblRowCounts")}
    assert counts[("in", "fulfillments")] == 400
    assert counts[("written", "shipments")] == month.shipments.height
    settings = {r["setting"]: r["value"] for r in table_rows(ws, "tblSettings")}
    assert settings == {"abs_tolerance": "0.25"}


def test_a_summary_that_the_formulas_do_not_reproduce_is_flagged(
    month: Month, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = month.summary.with_columns(
        pl.when(pl.col("carrier") == "ups")
        .then(pl.col("okc_charges") + Decimal("0.01"))
        .otherwise(pl.col("okc_charges"))
        .alias("okc_charges")
    )
    with caplog.at_level(logging.WARNING, logger="okc_recon"):
        path = write_workbook(replace(month, summary=wrong), tmp_path / "w.xlsx")
    assert any("ups okc_charges" in r.getMessage() for r in caplog.records)
    assert load(path)["Summary"]["A6"].value.startswith("Check: 1 figure")


def test_an_empty_month_still_opens_with_every_sheet(tmp_path: Path) -> None:
    empty = synthetic_month(40)
    empty = replace(
        empty,
        shipments=empty.shipments.clear(),
        exceptions=empty.exceptions.clear(),
        invoice_lines=empty.invoice_lines.clear(),
        unmatched=empty.unmatched.clear(),
        cannot_reconcile=empty.cannot_reconcile.clear(),
        summary=empty.summary.clear(),
        issue_summary=empty.issue_summary.clear(),
        as_of=date(2024, 3, 16),
    )
    wb = load(write_workbook(empty, tmp_path / "e.xlsx"))
    assert wb.sheetnames == list(SHEETS)
    summary = wb["Summary"]
    assert next(c.value for c in summary[10]) == "all"
    with zipfile.ZipFile(tmp_path / "e.xlsx") as z:
        assert not [n for n in z.namelist() if n.startswith("xl/charts/")]


def test_the_path_must_be_an_xlsx(month: Month, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"\.xlsx"):
        write_workbook(month, tmp_path / "book.csv")


def test_an_unwritable_place_is_an_export_error_and_leaves_nothing(
    month: Month, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(ExportError, match="could not write the workbook"):
        write_workbook(month, blocker / "book.xlsx")
    assert [p.name for p in tmp_path.iterdir()] == ["not-a-folder"]


def test_links_stop_at_excels_limit_per_sheet(
    month: Month, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import okc_recon.excel._layout as layout

    monkeypatch.setattr(layout, "LINK_LIMIT", 5)
    ws = load(write_workbook(month, tmp_path / "l.xlsx"))["Shipments"]
    col = next(c.column for c in ws[1] if c.value == "tracking_url")
    linked = [r for r in range(2, ws.max_row + 1) if ws.cell(r, col).hyperlink is not None]
    assert linked == [2, 3, 4, 5, 6]
    assert ws.cell(6, col).font.underline == "single"
    after = ws.cell(7, col)
    assert after.value.startswith("https://")  # the URL stays, as text without the link look
    assert after.font.underline is None
