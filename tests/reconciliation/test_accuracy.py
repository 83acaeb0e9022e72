"""Accuracy (issue 5 item 4): a month's exceptions equal its planted problems, exactly.

Two sources of truth: the sandbox generator's world (its invoices written in each carrier's
format and read back by ``read_invoices``, its fulfillments through the fulfillments frame),
and, once it is built, ``sample_data/`` with its answer key ``expected_exceptions.csv``.
No missed planted problem, no false alarm.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from okc_recon.carriers.tracking import tracking_key_one
from okc_recon.reconciliation import Reconciliation, reconcile

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _found(recon: Reconciliation) -> set[tuple[str, str]]:
    return set(zip(recon.exceptions["tracking_key"], recon.exceptions["issue_code"], strict=True))


def _month_end(month: str) -> date:
    year, number = map(int, month.split("-"))
    first_next = date(year + number // 12, number % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _previous(month: str) -> str:
    year, number = map(int, month.split("-"))
    return f"{year - (number == 1):04d}-{(number - 2) % 12 + 1:02d}"


@pytest.mark.parametrize("month", ["2025-09"])
def test_a_sandbox_month_raises_exactly_its_planted_issues(month, tmp_path: Path):
    from okc_recon.carriers.invoices import read_invoices
    from okc_recon.carriers.writers import write_invoices
    from okc_recon.fulfillments import fulfillments_frame
    from okc_recon.sandbox import fulfillments_for, generate

    world = generate()
    frame, _rejected = fulfillments_frame(
        fulfillments_for(world, _previous(month), month), statuses=list(world.statuses)
    )
    start = date.fromisoformat(f"{month}-01")
    last = _month_end(month) + timedelta(days=45)
    files: dict[tuple[str, str], list] = defaultdict(list)
    for invoice in world.invoices:
        if start <= invoice.invoice_date <= last:
            files[(invoice.file_format, invoice.account_number)].append(invoice)
    for (file_format, account), invoices in files.items():
        for index, invoice in enumerate(invoices):
            write_invoices([invoice], tmp_path / f"{file_format}_{account}_{index}.csv")
    invoices = read_invoices(tmp_path)
    assert invoices.rejected.is_empty()

    recon = reconcile(frame, invoices.lines, period=month)

    planted = {
        (tracking_key_one(p.tracking_number), p.issue_code)
        for p in world.planted
        if p.period == month
    }
    assert len({code for _, code in planted}) == 13  # every issue code is planted
    assert _found(recon) == planted
    # nothing about earlier months is raised again, and no shipment is in two places
    assert set(recon.exceptions["period"]) == {"current"}
    assert recon.shipments.height + recon.cannot_reconcile.height == frame.height
    assert recon.weight_unit == "lb"  # inferred from the matched invoice weights


_SAMPLE_FILES = ("fulfillments.json", "statuses.json", "expected_exceptions.csv", "README.md")


@pytest.mark.skipif(
    not all((SAMPLE / name).is_file() for name in _SAMPLE_FILES),
    reason="sample_data/ is not built yet (make sample-data)",
)
def test_the_sample_month_matches_its_answer_key():
    """The sample month, read the way its README says, gives exactly its answer key."""
    import json

    from okc_recon.carriers.invoices import read_invoices
    from okc_recon.fulfillments import read_fulfillments

    month = re.search(r"Sample month (\d{4}-\d{2})", (SAMPLE / "README.md").read_text("utf-8"))
    assert month is not None
    statuses = json.loads((SAMPLE / "statuses.json").read_text(encoding="utf-8"))
    fulfillments = read_fulfillments(SAMPLE / "fulfillments.json", statuses=statuses)
    invoices = read_invoices(SAMPLE / "invoices")
    with (SAMPLE / "expected_exceptions.csv").open(encoding="utf-8") as handle:
        expected = {
            (tracking_key_one(row["tracking_number"]), row["issue_code"])
            for row in csv.DictReader(handle)
        }

    recon = reconcile(fulfillments, invoices.lines, period=month.group(1))

    assert _found(recon) == expected
