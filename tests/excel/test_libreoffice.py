"""The workbook opens in LibreOffice, which recalculates every formula to the same figures."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from okc_recon.excel._summary import MEASURES
from tests.excel.month import Month

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed"),
    pytest.mark.slow,
]

# A fresh profile that recalculates OOXML formulas on load instead of trusting cached values.
_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
  <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop>
</item>
</oor:items>
"""
_ERRORS = ("#NAME?", "#REF!", "#VALUE!", "#DIV/0!", "#N/A", "#NULL!", "#NUM!", "Err:")


def _without_cached_values(book: Path, out: Path) -> Path:
    """A copy whose formulas carry 0 as cached value: what LibreOffice shows, it computed."""
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"</f><v>[^<]*</v>", b"</f><v>0</v>", data)
            dst.writestr(info, data)
    return out


def test_libreoffice_opens_the_workbook_and_recomputes_the_summary(
    book: Path, month: Month, tmp_path: Path
) -> None:
    assert SOFFICE is not None
    profile = tmp_path / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE)
    source = _without_cached_values(book, tmp_path / "zeroed.xlsx")
    out = tmp_path / "out"
    done = subprocess.run(
        [
            SOFFICE,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    converted = out / "zeroed.xlsx"
    assert done.returncode == 0, done.stderr
    assert converted.exists(), done.stdout + done.stderr

    wb = openpyxl.load_workbook(converted, data_only=True)
    assert wb.sheetnames[:8] == openpyxl.load_workbook(book, read_only=True).sheetnames
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and value.startswith(_ERRORS)), (ws.title, value)

    ws = wb["Summary"]
    header_row = next(r for r in range(1, 30) if ws.cell(r, 1).value == "Carrier")
    headers = [c.value for c in ws[header_row]]
    by_label = {m.label: m.key for m in MEASURES}
    got = {}
    for r in range(header_row + 1, header_row + 1 + month.summary.height):
        carrier = ws.cell(r, 1).value
        for c, header in enumerate(headers[1:], 2):
            if header in by_label:
                got[(carrier, by_label[header])] = ws.cell(r, c).value
    for record in month.summary.to_dicts():
        for key, want in record.items():
            if key != "carrier":
                value = got[(record["carrier"], key)]
                assert Decimal(repr(value)).quantize(Decimal("0.01")) == Decimal(want), (
                    record["carrier"],
                    key,
                )
