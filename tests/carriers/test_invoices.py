"""read_invoices: detection, errors, duplicates and re-sent invoices, folders, garbage in."""

from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okc_recon import InvoiceSet, read_invoices
from okc_recon.carriers.invoices import FORMATS
from okc_recon.carriers.writers import Quirks, write_invoices
from okc_recon.errors import InvoiceFormatError
from okc_recon.sandbox.world import BillingEvent, Charge, Invoice
from okc_recon.schema import INVOICE_FILE_SCHEMA, INVOICE_LINE_SCHEMA, REJECTED_LINE_SCHEMA

D = Decimal


def fedex_invoice(number: str = "887654321", amount: str = "12.30") -> Invoice:
    event = BillingEvent(
        "fedex", "794644790148", "fedex_ground", date(2025, 10, 1), "shipment",
        (Charge("transportation", "Transportation Charge", D(amount)),
         Charge("fuel", "Fuel Surcharge", D("2.10"))),
        billed_weight=4.0, entered_weight=3.2,
    )  # fmt: skip
    return Invoice("fedex", "123456789", number, date(2025, 10, 6), (event,), "fedex_fbo")


def ups_invoice(number: str, tracking: str = "1Z5R89390357567127") -> Invoice:
    event = BillingEvent(
        "ups", tracking, "ups_ground", date(2025, 10, 7), "shipment",
        (Charge("transportation", "Ground", D("9.87"), "003"),
         Charge("fuel", "Fuel Surcharge", D("1.50"), "FSC")),
        billed_weight=5.0, entered_weight=4.3, dimensions=(12.0, 12.0, 6.0),
    )  # fmt: skip
    return Invoice("ups", "A1B2C3", number, date(2025, 10, 11), (event,), "ups_billing_data")


def test_frames_have_their_schemas(tmp_path: Path) -> None:
    write_invoices([fedex_invoice()], tmp_path / "a.csv")
    result = read_invoices(tmp_path)
    assert isinstance(result, InvoiceSet)
    assert dict(result.lines.schema) == dict(INVOICE_LINE_SCHEMA)
    assert dict(result.rejected.schema) == dict(REJECTED_LINE_SCHEMA)
    assert dict(result.files.schema) == dict(INVOICE_FILE_SCHEMA)
    assert "1 files, 2 charge lines" in repr(result)
    empty = read_invoices(tmp_path / "a.csv", tmp_path / "a.csv")
    assert empty.files.height == 2


def test_unknown_file_names_the_file_and_every_format_tried(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("Dear analyst,\nplease find attached\n")
    with pytest.raises(InvoiceFormatError) as error:
        read_invoices(path)
    assert str(path) in str(error.value)
    assert error.value.file == str(path)
    assert set(error.value.tried) == {*FORMATS, "generic"}
    for reason in error.value.tried.values():
        assert reason
    assert "mapping" in str(error.value)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InvoiceFormatError, match="empty"):
        read_invoices(empty)
    with pytest.raises(InvoiceFormatError, match="no such file"):
        read_invoices(tmp_path / "missing.csv")


def test_folder_reads_invoice_files_only(tmp_path: Path) -> None:
    write_invoices([fedex_invoice()], tmp_path / "fedex" / "week1.csv")
    write_invoices([ups_invoice("0000A1B2C3415")], tmp_path / "ups" / "week1.csv")
    (tmp_path / "notes.md").write_text("not an invoice")
    (tmp_path / "fedex" / "~$week1.xlsx").write_bytes(b"lock file")
    (tmp_path / ".hidden.csv").write_text("x")
    result = read_invoices(tmp_path)
    assert sorted(result.files["format"].to_list()) == ["fedex_fbo", "ups_billing_data"]


def test_identical_file_is_skipped(tmp_path: Path) -> None:
    first = write_invoices([fedex_invoice()], tmp_path / "a.csv")
    second = tmp_path / "b.csv"
    second.write_bytes(first.read_bytes())
    result = read_invoices(first, second)
    assert result.lines["source_file"].unique().to_list() == [str(first)]
    dup = result.files.row(1, named=True)
    assert dup["duplicate_of"] == str(first)
    assert dup["charge_lines"] == 0
    assert dup["lines_in"] == dup["lines_parsed"] + dup["lines_rejected"] == 1
    assert dup["resent_lines"] == 1
    assert dup["sha256"] == result.files["sha256"][0]


def test_resent_invoice_is_left_out_and_counted(tmp_path: Path) -> None:
    original = write_invoices(
        [ups_invoice("0000A1B2C3415"), ups_invoice("0000A1B2C3422", "1Z5R89390357567135")],
        tmp_path / "weekly.csv",
    )
    # the same invoice re-sent alone, downloaded with CRLF: other bytes, same lines
    resent = write_invoices(
        [ups_invoice("0000A1B2C3415")], tmp_path / "resent.csv", quirks=Quirks(line_ending="\r\n")
    )
    result = read_invoices(original, resent)
    files = result.files.rows(named=True)
    assert files[1]["resent_lines"] == 3  # FRT, FSC and INF lines
    assert files[1]["charge_lines"] == 0
    assert files[1]["duplicate_of"] == str(original)
    assert files[1]["lines_in"] == files[1]["lines_parsed"] + files[1]["lines_rejected"]
    assert result.lines.height == 4
    assert result.lines["amount"].sum() == D("22.74")


def test_same_invoice_number_with_other_lines_is_kept(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    a = write_invoices([fedex_invoice(amount="12.30")], tmp_path / "a.csv")
    b = write_invoices([fedex_invoice(amount="15.00")], tmp_path / "b.csv")
    result = read_invoices(a, b)
    assert result.lines.height == 4
    assert result.files["resent_lines"].to_list() == [0, 0]
    assert "different lines" in caplog.text


@given(st.binary(min_size=1, max_size=400))
@settings(max_examples=60, deadline=None)
def test_random_bytes_are_refused_cleanly(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "blob.csv"
        path.write_bytes(data)
        try:
            result = read_invoices(path)
        except InvoiceFormatError as error:
            tried = error.tried
        else:  # random bytes that happen to look like a format: still every line counted
            files = result.files.row(0, named=True)
            assert files["lines_in"] == files["lines_parsed"] + files["lines_rejected"]
            return
        assert tried


def _sample_file(file_format: str, folder: Path) -> tuple[Path, int]:
    """A clean file of ``file_format`` and how many heading lines it has."""
    examples = {
        "fedex_fbo": ([fedex_invoice(), fedex_invoice("887654322")], 1),
        "ups_billing_data": ([ups_invoice("0000A1B2C3415")], 0),
    }
    batch, heading = examples[file_format]
    return write_invoices(batch, folder / f"{file_format}.csv"), heading


JUNK = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=32, max_codepoint=126),
        # letters, digits, punctuation and symbols of any script (١٢, ３, é, €…): never
        # line breaks or control characters, which would make other lines
        st.characters(categories=("L", "N", "P", "S"), max_codepoint=0xFFFF),
    ),
    min_size=1,
    max_size=60,
).filter(lambda s: any(c.isalnum() for c in s))


@pytest.mark.parametrize("file_format", ["fedex_fbo", "ups_billing_data"])
@given(data=st.data())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_garbage_in_never_crashes_and_never_loses_a_line(
    file_format: str, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path, heading = _sample_file(file_format, Path(folder))
        lines = path.read_text().splitlines()
        body = lines[heading:]
        # the header and first data row stay intact: the file is still recognisable
        for _ in range(data.draw(st.integers(0, 3), label="junk lines")):
            position = data.draw(st.integers(1, len(body)), label="at")
            body.insert(position, data.draw(JUNK, label="junk"))
        if data.draw(st.booleans(), label="wrong delimiter on a line") and len(body) > 1:
            k = data.draw(st.integers(1, len(body) - 1))
            body[k] = body[k].replace(",", ";")
        text = "\n".join(lines[:heading] + body) + "\n"
        first_row_end = len("\n".join(lines[: heading + 1])) + 1
        cut = data.draw(st.integers(first_row_end, len(text)), label="cut at")
        text = text[:cut]  # a truncated download
        path.write_text(text)
        expected = sum(1 for line in text.splitlines()[heading:] if line.strip(" \t\r,"))
        result = read_invoices(path)
        files = result.files.row(0, named=True)
        assert files["lines_in"] == files["lines_parsed"] + files["lines_rejected"]
        assert files["lines_in"] == expected
        assert result.rejected.height == files["lines_rejected"]
        assert result.rejected["raw"].null_count() == 0
        rejected = result.rejected["source_line"].implode()
        assert result.lines.filter(pl.col("source_line").is_in(rejected)).is_empty()
