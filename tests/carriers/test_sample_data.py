"""sample_data/: up to date, deterministic, readable, and its answer key is what reconcile finds."""

from __future__ import annotations

import filecmp
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from okc_recon import read_invoices
from okc_recon.sandbox.generator import SAMPLE_MONTH, generate
from okc_recon.sandbox.sample_month import build_sample_month, window

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def invoices():  # type: ignore[no-untyped-def]
    return read_invoices(SAMPLE / "invoices")


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_regenerating_gives_identical_bytes(tmp_path: Path) -> None:
    result = build_sample_month(tmp_path, month=SAMPLE_MONTH)
    assert _tree(tmp_path) == _tree(SAMPLE), "run `make sample-data` and commit sample_data/"
    _, mismatch, errors = filecmp.cmpfiles(SAMPLE, tmp_path, _tree(SAMPLE), shallow=False)
    assert not mismatch, f"out of date (run `make sample-data`): {mismatch}"
    assert not errors
    assert result.mangled_tracking
    assert result.resent_invoice


def test_every_line_is_read_and_the_quirks_are_there(invoices) -> None:  # type: ignore[no-untyped-def]
    files = invoices.files
    assert invoices.rejected.is_empty()
    assert (files["lines_in"] == files["lines_parsed"] + files["lines_rejected"]).all()
    assert set(files["format"]) == {
        "fedex_fbo", "ups_billing_data", "shipstation", "easypost", "dhl_express",
    }  # fmt: skip
    assert {"utf-8-sig", "cp1252", "utf-8"} <= set(files["encoding"])
    resent = files.filter(pl.col("resent_lines") > 0)
    assert resent.height == 1
    assert resent["source_file"].item().endswith("_resent.csv")
    assert resent["charge_lines"].item() == 0
    corrupted = invoices.lines.filter(pl.col("tracking_corrupted"))
    assert corrupted.height >= 1
    assert corrupted["tracking_key"].null_count() == corrupted.height
    readme = (SAMPLE / "README.md").read_text()
    mangled = {line for line in readme.split() if line.isdigit() and len(line) >= 12}
    assert len(mangled) == 1


def test_lines_are_the_generated_invoices(invoices) -> None:  # type: ignore[no-untyped-def]
    world = generate()
    first, last = window(SAMPLE_MONTH)
    expected: Counter[tuple[str, str, str, str, Decimal]] = Counter()
    for invoice in world.invoices:
        if not first <= invoice.invoice_date <= last:
            continue
        postage = invoice.file_format in ("shipstation", "easypost")
        for event in invoice.events:
            for charge in event.charges:
                # postage refunds come back from the label's status, as "void" lines
                category = (
                    "void"
                    if postage and charge.charge_type == "refund"
                    else (event.charge_category)
                )
                expected[(event.carrier, event.tracking_number or "", category,
                          charge.charge_type, charge.amount)] += 1  # fmt: skip
    lines = invoices.lines.filter(~pl.col("tracking_corrupted"))
    got = Counter(
        lines.select(
            "carrier", pl.col("tracking_number").fill_null(""), "charge_category",
            "charge_type", "amount",
        ).rows()
    )  # fmt: skip
    mangled = invoices.lines.filter(pl.col("tracking_corrupted"))
    assert sum((expected - got).values()) == mangled.height  # only the mangled line differs
    assert not got - expected


def test_reconciling_the_sample_month_finds_exactly_the_answer_key(invoices) -> None:  # type: ignore[no-untyped-def]
    from okc_recon import read_fulfillments, reconcile

    statuses = json.loads((SAMPLE / "statuses.json").read_text())
    fulfillments = read_fulfillments(SAMPLE / "fulfillments.json", statuses=statuses)
    result = reconcile(fulfillments, invoices.lines, period=SAMPLE_MONTH)
    found = result.exceptions.select("tracking_number", "issue_code").unique()
    key = pl.read_csv(
        SAMPLE / "expected_exceptions.csv", schema_overrides={"tracking_number": pl.Utf8}
    )
    missing = key.join(found, on=["tracking_number", "issue_code"], how="anti")
    extra = found.join(key, on=["tracking_number", "issue_code"], how="anti")
    assert missing.is_empty(), missing
    assert extra.is_empty(), extra
