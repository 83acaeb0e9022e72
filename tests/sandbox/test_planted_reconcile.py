"""The generator's contract with the rule book, end to end for the sample month.

The month's fulfillments (and the month before) go through the fulfillments frame; every
invoice dated from the month's first day to 45 days after its end is written in its
carrier's file format and read back; ``reconcile`` must then raise exactly the planted
issues of the month for the month's shipments: nothing missed, no false alarm.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from okc_recon.carriers.invoices import read_invoices
from okc_recon.carriers.writers import write_invoices
from okc_recon.fulfillments import fulfillments_frame
from okc_recon.reconciliation import reconcile
from okc_recon.sandbox import SAMPLE_MONTH, World, fulfillments_for


@pytest.mark.slow
def test_sample_month_raises_exactly_the_planted_issues(world: World, tmp_path: Path) -> None:
    year, month = (int(p) for p in SAMPLE_MONTH.split("-"))
    previous = f"{year}-{month - 1:02d}"
    records = fulfillments_for(world, previous, SAMPLE_MONTH)
    frame, rejected = fulfillments_frame(records, statuses=list(world.statuses))
    assert rejected.height == 6  # the bad records no frame can hold, two months of three
    first = date(year, month, 1)
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1) + timedelta(days=45)
    for i, invoice in enumerate(i for i in world.invoices if first <= i.invoice_date <= last):
        write_invoices([invoice], tmp_path / f"{i:03d}_{invoice.file_format}.csv")
    invoices = read_invoices(tmp_path)
    assert invoices.rejected.height == 0
    result = reconcile(frame, invoices.lines, period=SAMPLE_MONTH)
    # Prior-month shipments billed this month are clean (each plant is billed within its own
    # month), so every exception of the run is one of this month's plants.
    current = result.exceptions
    assert set(current["period"]) == {"current"}
    found = set(zip(current["tracking_number"], current["issue_code"], strict=True))
    planted = {(p.tracking_number, p.issue_code) for p in world.planted if p.period == SAMPLE_MONTH}
    assert found - planted == set(), "false alarms"
    assert planted - found == set(), "missed"
    assert len(current) == len(planted)
