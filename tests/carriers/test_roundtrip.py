"""Write → read gives back the same lines, for every format (Hypothesis round trips)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from okc_recon.carriers.invoices import read_invoices
from okc_recon.carriers.writers import Quirks, write_invoices
from okc_recon.sandbox.world import Invoice
from tests.carriers.invoice_cases import expected_lines, invoices, normalise

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

quirk_sets = st.builds(
    Quirks,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    line_ending=st.sampled_from(["\n", "\r\n"]),
)


def _round_trip(invoice: Invoice, quirks: Quirks, suffix: str = ".csv") -> pl.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        path = write_invoices([invoice], Path(folder) / f"invoice{suffix}", quirks=quirks)
        result = read_invoices(path)
    files = result.files.row(0, named=True)
    assert result.rejected.is_empty(), result.rejected.to_dicts()
    assert files["lines_in"] == files["lines_parsed"] + files["lines_rejected"]
    assert files["format"] == invoice.file_format
    return result.lines


@pytest.mark.parametrize(
    "file_format",
    ["ups_billing_data", "shipstation", "easypost", "dhl_express", "generic"],
)
@SETTINGS
@given(data=st.data())
def test_round_trip(file_format: str, data: st.DataObject) -> None:
    invoice = data.draw(invoices(file_format))
    quirks = data.draw(quirk_sets)
    lines = _round_trip(invoice, quirks)
    assert_frame_equal(normalise(lines), expected_lines(invoice, file_format))


@SETTINGS
@given(
    invoice=invoices("fedex_fbo"),
    quirks=st.builds(
        Quirks,
        encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
        line_ending=st.sampled_from(["\n", "\r\n"]),
        fedex_pairs=st.sampled_from([25, 51]),
        net_convention=st.sampled_from(["transportation_plus_charges", "charges_only"]),
        trailing_comma=st.booleans(),
        sparse_pairs=st.booleans(),
        compact_numbers=st.booleans(),
    ),
)
def test_fedex_round_trip(invoice: Invoice, quirks: Quirks) -> None:
    lines = _round_trip(invoice, quirks)
    expected = expected_lines(invoice, "fedex_fbo", net_convention=quirks.net_convention)
    assert_frame_equal(normalise(lines), expected)


@settings(max_examples=8, deadline=None)
@given(
    file_format=st.sampled_from(["fedex_fbo", "ups_billing_data", "generic", "shipstation"]),
    data=st.data(),
)
def test_xlsx_round_trip(file_format: str, data: st.DataObject) -> None:
    invoice = data.draw(invoices(file_format))
    lines = _round_trip(invoice, Quirks(xlsx=True), suffix=".xlsx")
    assert_frame_equal(normalise(lines), expected_lines(invoice, file_format))
