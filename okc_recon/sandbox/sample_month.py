"""Build ``sample_data/``: one month of OKC fulfillments and carrier invoices, with known answers.

The sandbox generator (:mod:`okc_recon.sandbox.generator`) is the truth. For
``SAMPLE_MONTH`` this writes:

- ``fulfillments.json``: the month's fulfillments and the month before's, as saved API JSON
  (a list of records, ``label_url`` removed: it is a credential), and ``statuses.json``, the
  ``/v2/statuses`` records that name their ``status_id``;
- ``invoices/<carrier>/…``: every invoice dated from the month's first day to 45 days after
  its end, each in its carrier's format (FedEx Billing Online, UPS Billing Data, ShipStation
  and EasyPost exports for USPS, DHL Express), with the quirks real files have: FedEx files
  with a UTF-8 BOM and CRLF line ends, some in the 2025 layout (51 charge pairs, trailing
  commas, empty pairs between filled ones), a FedEx tracking number mangled by Excel, a UPS
  invoice re-sent in a second file, credits on later invoices;
- ``expected_exceptions.csv``: the answer key, ``tracking_number,issue_code`` for every
  problem the generator planted whose period is the month;
- ``README.md``: what is where.

Deterministic: running it again gives identical bytes. ``make sample-data`` runs it::

    python -m okc_recon.sandbox.sample_month [--out sample_data] [--month 2025-10]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from okc_recon.carriers.writers import Quirks, write_invoices
from okc_recon.sandbox.generator import (
    DEFAULT_SEED,
    SAMPLE_MONTH,
    GeneratorConfig,
    fulfillments_for,
    generate,
)
from okc_recon.sandbox.world import Invoice, World

__all__ = ["GRACE_DAYS", "SampleMonth", "build_sample_month", "main", "window"]

logger = logging.getLogger("okc_recon")

#: Invoices dated up to this many days after the month's end belong to its run (SPEC §6).
GRACE_DAYS = 45

_FOLDER = {
    "fedex_fbo": "fedex",
    "ups_billing_data": "ups",
    "shipstation": "usps",
    "easypost": "usps",
    "dhl_express": "dhl",
}
_PREFIX = {
    "fedex_fbo": "FBO",
    "ups_billing_data": "UPS_Billing_Data",
    "shipstation": "ShipStation_shipments",
    "easypost": "EasyPost_shipments",
    "dhl_express": "DHL_Express",
}


@dataclass(frozen=True)
class SampleMonth:
    """What :func:`build_sample_month` wrote."""

    out: Path
    month: str
    files: tuple[Path, ...]
    fulfillments: int
    invoices: int
    expected: int
    mangled_tracking: str | None
    resent_invoice: str | None
    notes: tuple[str, ...] = field(default=())


def window(month: str, grace_days: int = GRACE_DAYS) -> tuple[date, date]:
    """The first and last invoice date a run of ``month`` reads."""
    year, number = (int(p) for p in month.split("-"))
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return first, following - timedelta(days=1) + timedelta(days=grace_days)


def _previous(month: str) -> str:
    year, number = (int(p) for p in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _pick_mangled(world: World, invoices: Sequence[Invoice], month: str) -> str | None:
    """A FedEx tracking number to write as Excel shows it after a float round trip.

    It must not change the answer key: a clean parcel picked up the month before (a prior
    period shipment, never ``UNBILLED`` in this run) billed on exactly one invoice line in
    the window, with no planted problem and no look-alike.
    """
    flagged = {p.tracking_number for p in world.planted} | set(world.decoys)
    start, _ = window(month)
    counts: dict[str, int] = {}
    for invoice in world.invoices:
        for event in invoice.events:
            if event.tracking_number:
                counts[event.tracking_number] = counts.get(event.tracking_number, 0) + 1
    for invoice in invoices:
        if invoice.file_format != "fedex_fbo":
            continue
        for event in invoice.events:
            number = event.tracking_number
            if (
                number
                and number.isdigit()
                and len(number) >= 12
                and number not in flagged
                and counts.get(number) == 1
                and event.charge_category == "shipment"
                and event.ship_date is not None
                and event.ship_date < start
            ):
                return number
    return None


def _pick_resent(invoices: Sequence[Invoice]) -> Invoice | None:
    """The UPS invoice a carrier sends twice (a second download, a past-due reminder)."""
    ups = [i for i in invoices if i.file_format == "ups_billing_data"]
    return ups[len(ups) // 2] if ups else None


def _quirks(invoice: Invoice, index: int, mangled: frozenset[str]) -> Quirks:
    if invoice.file_format == "fedex_fbo":
        modern = index % 2 == 1  # every other FedEx download in the 2025 layout
        return Quirks(
            encoding="utf-8-sig",
            line_ending="\r\n",
            fedex_pairs=51 if modern else 25,
            trailing_comma=modern,
            sparse_pairs=modern,
            compact_numbers=modern,
            mangle_tracking=mangled,
        )
    if invoice.file_format == "shipstation":
        return Quirks(line_ending="\r\n")
    if invoice.file_format == "dhl_express":
        return Quirks(encoding="cp1252", line_ending="\r\n")
    return Quirks()


def _file_name(invoice: Invoice) -> str:
    stamp = invoice.invoice_date.strftime("%Y%m%d")
    return f"{_PREFIX[invoice.file_format]}_{stamp}_{invoice.invoice_number}.csv"


def _fulfillments_json(world: World, month: str) -> bytes:
    records = []
    for record in fulfillments_for(world, _previous(month), month):
        records.append({k: v for k, v in record.items() if k != "label_url"})
    return (json.dumps(records, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _answer_rows(world: World, month: str) -> list[tuple[str, str]]:
    return sorted({(p.tracking_number, p.issue_code) for p in world.planted if p.period == month})


def _answer_key(world: World, month: str) -> bytes:
    rows = _answer_rows(world, month)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["tracking_number", "issue_code"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def build_sample_month(
    out: str | Path = "sample_data",
    *,
    month: str = SAMPLE_MONTH,
    seed: int = DEFAULT_SEED,
) -> SampleMonth:
    """Write the sample month to ``out`` (its ``invoices/`` folder is replaced)."""
    out = Path(out)
    world = generate(GeneratorConfig(seed=seed))
    first, last = window(month)
    chosen = sorted(
        (i for i in world.invoices if first <= i.invoice_date <= last),
        key=lambda i: (i.file_format, i.invoice_date, i.invoice_number),
    )
    mangled = _pick_mangled(world, chosen, month)
    resent = _pick_resent(chosen)
    invoice_dir = out / "invoices"
    if invoice_dir.exists():
        shutil.rmtree(invoice_dir)
    written: list[Path] = []
    per_format: dict[str, int] = {}
    mangled_set = frozenset({mangled} if mangled else set())
    for invoice in chosen:
        index = per_format.get(invoice.file_format, 0)
        per_format[invoice.file_format] = index + 1
        folder = invoice_dir / _FOLDER[invoice.file_format]
        path = folder / _file_name(invoice)
        written.append(write_invoices([invoice], path, quirks=_quirks(invoice, index, mangled_set)))
    if resent is not None:
        # The same invoice again, downloaded later with CRLF line ends: other bytes, same lines.
        path = invoice_dir / "ups" / _file_name(resent).replace(".csv", "_resent.csv")
        written.append(write_invoices([resent], path, quirks=Quirks(line_ending="\r\n")))
    (out / "fulfillments.json").write_bytes(_fulfillments_json(world, month))
    statuses = json.dumps(list(world.statuses), indent=2, ensure_ascii=False) + "\n"
    (out / "statuses.json").write_bytes(statuses.encode("utf-8"))
    (out / "expected_exceptions.csv").write_bytes(_answer_key(world, month))
    expected = len(_answer_rows(world, month))
    result = SampleMonth(
        out=out,
        month=month,
        files=tuple(sorted(written)),
        fulfillments=len(fulfillments_for(world, _previous(month), month)),
        invoices=len(chosen),
        expected=expected,
        mangled_tracking=mangled,
        resent_invoice=resent.invoice_number if resent else None,
    )
    (out / "README.md").write_text(_readme(result, first, last), encoding="utf-8")
    logger.info("sample month %s written to %s: %d invoice files", month, out, len(written))
    return result


def _readme(sample: SampleMonth, first: date, last: date) -> str:
    counts: dict[str, int] = {}
    for path in sample.files:
        counts[path.parent.name] = counts.get(path.parent.name, 0) + 1
    listing = "\n".join(f"- `invoices/{k}/`: {v} files" for k, v in sorted(counts.items()))
    return f"""# Sample month {sample.month}

Generated by `make sample-data` (`python -m okc_recon.sandbox.sample_month`) from the
sandbox generator (seed {DEFAULT_SEED}); regenerating gives identical bytes. Do not edit by hand.

- `fulfillments.json`: {sample.fulfillments} OKC fulfillment records of {_previous(sample.month)}
  and {sample.month}, as the API serves them (`label_url` removed), including a few
  deliberately malformed records.
- `statuses.json`: the `/v2/statuses` records, which give `status_id` its name (canceled
  fulfillments and orders are found through it).
- `invoices/`: the {sample.invoices} carrier invoices dated {first.isoformat()} to
  {last.isoformat()} (the month plus {GRACE_DAYS} days), one file per invoice, in each
  carrier's own format:
{listing}
- `expected_exceptions.csv`: the answer key, one `tracking_number,issue_code` row per problem
  planted in {sample.month} ({sample.expected} rows).

Quirks of real files, on purpose: FedEx downloads have a UTF-8 BOM and CRLF line ends, and
every other one uses the 2025 layout (51 charge pairs, a trailing comma on data rows, empty
pairs between filled ones, `lbs`, numbers without trailing zeros); FedEx tracking number
{sample.mangled_tracking} is written as Excel shows it after a float round trip (reported as
corrupted, never repaired: it belongs to a prior-month parcel, so it changes no answer);
UPS invoice {sample.resent_invoice} is in the folder twice (the second copy,
`…_resent.csv`, is recognised as re-sent and left out); credits and corrections arrive on
later invoices; DHL files are Windows-1252 with CRLF.

```python
import json
from okc_recon import read_fulfillments, read_invoices, reconcile
statuses = json.load(open("sample_data/statuses.json"))
fulfillments = read_fulfillments("sample_data/fulfillments.json", statuses=statuses)
recon = reconcile(fulfillments, read_invoices("sample_data/invoices").lines,
                  period="{sample.month}")
```
"""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m okc_recon.sandbox.sample_month``: (re)build the sample month."""
    parser = argparse.ArgumentParser(description="Build sample_data/ from the sandbox generator.")
    parser.add_argument(
        "--out", default="sample_data", help="folder to write (default sample_data)"
    )
    parser.add_argument("--month", default=SAMPLE_MONTH, help=f"YYYY-MM (default {SAMPLE_MONTH})")
    args = parser.parse_args(argv)
    result = build_sample_month(args.out, month=args.month)
    summary: dict[str, Any] = {
        "month": result.month,
        "invoice files": len(result.files),
        "fulfillments": result.fulfillments,
        "answer key rows": result.expected,
    }
    print("; ".join(f"{k}: {v}" for k, v in summary.items()))  # CLI entry point, not library
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
