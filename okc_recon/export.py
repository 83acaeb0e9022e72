"""Ad hoc Excel exports: a filtered frame as one Excel table, with the workbook's safety rules.

    >>> from okc_recon import export_excel, filter_fulfillments, read_fulfillments
    >>> frame = read_fulfillments("fulfillments.parquet")  # doctest: +SKIP
    >>> ups = filter_fulfillments(frame, carrier="ups", start="2025-10-01", end="2025-10-15")
    >>> export_excel(ups, "out/ups-early-october.xlsx")  # doctest: +SKIP

The sheet is written by the same building blocks as the reconciliation workbook
(:mod:`okc_recon.excel`): an Excel table with a frozen header and filters, identifiers as
text (leading zeros kept, never ``7.9464E+11``), text from OKC or a carrier never a formula,
money and dates formatted, tracking URLs as links, label URLs and tokens removed, and a
second part (``Fulfillments (2)``) past Excel's row limit. An ``Export info`` sheet says what
was exported, how it was filtered and when.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from okc_recon._version import __version__
from okc_recon.errors import ConfigError, ExportError

if TYPE_CHECKING:
    import polars as pl

__all__ = ["DATE_FIELDS", "export_excel", "filter_fulfillments"]

log = logging.getLogger("okc_recon")

#: The fulfillment dates a range can filter on.
DATE_FIELDS = ("pickup_date", "delivery_date", "created_at", "updated_at")


def _day(value: date | str | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD), got {value!r}") from None


def _texts(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    return [str(v).strip() for v in value if str(v).strip()]


def filter_fulfillments(
    fulfillments: pl.DataFrame,
    *,
    carrier: str | Iterable[str] | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    order_id: str | Iterable[str] | None = None,
    date_field: str = "pickup_date",
) -> pl.DataFrame:
    """The fulfillments of some carriers, orders and/or a date range (all given must hold).

    ``carrier``: normalised names (``fedex``, ``ups``, ``usps``, ``dhl``, ``other``; case does
    not matter). ``start`` and ``end``: inclusive UTC dates of ``date_field`` (one of
    :data:`DATE_FIELDS`, default ``pickup_date``); a row without that date is outside any
    range. ``order_id``: one id or several.

    >>> filter_fulfillments(frame, order_id="a1b2c3d4-…")  # doctest: +SKIP
    >>> filter_fulfillments(frame, carrier=["ups", "fedex"], start="2025-10-01")  # doctest: +SKIP
    """
    import polars as pl

    from okc_recon.schema import CARRIERS

    if date_field not in DATE_FIELDS:
        raise ConfigError(f"date_field must be one of {', '.join(DATE_FIELDS)}, got {date_field!r}")
    missing = [c for c in ("carrier", "order_id", date_field) if c not in fulfillments.columns]
    if missing:
        raise ConfigError(f"not a fulfillments frame: no column {', '.join(missing)}")
    conditions: list[pl.Expr] = []
    carriers = [c.lower() for c in _texts(carrier)]
    unknown = sorted(set(carriers) - set(CARRIERS))
    if unknown:
        raise ConfigError(f"unknown carrier {', '.join(unknown)}; use {', '.join(CARRIERS)}")
    if carriers:
        conditions.append(pl.col("carrier").is_in(carriers))
    orders = _texts(order_id)
    if orders:
        conditions.append(pl.col("order_id").is_in(orders))
    first, last = _day(start, "start"), _day(end, "end")
    if first is not None and last is not None and first > last:
        raise ConfigError(f"the date range is empty: start {first} is after end {last}")
    day = pl.col(date_field).dt.date()
    if first is not None:
        conditions.append(day >= first)
    if last is not None:
        conditions.append(day <= last)
    if not conditions:
        return fulfillments
    return fulfillments.filter(pl.all_horizontal(conditions).fill_null(False))


def export_excel(
    frame: pl.DataFrame,
    path: str | Path,
    *,
    sheet: str = "Fulfillments",
    table: str = "tblFulfillments",
    about: Mapping[str, str] | None = None,
    max_rows: int | None = None,
) -> Path:
    """Write ``frame`` to ``path`` (``.xlsx``) as one Excel table on ``sheet``; the path.

    ``about`` adds (item, value) rows to the ``Export info`` sheet (the source, the filters
    used…). The file appears whole or not at all: it is written beside ``path`` first.

    >>> export_excel(filter_fulfillments(frame, carrier="dhl"), "dhl.xlsx")  # doctest: +SKIP
    PosixPath('dhl.xlsx')
    """
    import polars as pl
    from openpyxl import Workbook
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.writer.excel import ExcelWriter

    from okc_recon.excel._layout import EXCEL_MAX_ROWS, Block, add_sheet, paginate
    from okc_recon.excel._package import Archive, SheetBody
    from okc_recon.excel._styles import Styles
    from okc_recon.excel._tables import TableData, scrub_text

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ExportError(f"the export path must end in .xlsx, got {str(path)!r}")
    if not isinstance(frame, pl.DataFrame):
        raise ExportError(f"export_excel takes a polars DataFrame, got {type(frame).__name__}")
    stamp = datetime.now(UTC).replace(microsecond=0)
    items = [
        ("tool", f"okc-recon {__version__}"),
        ("exported at (UTC)", stamp.strftime("%Y-%m-%d %H:%M:%S")),
        ("rows", f"{frame.height:,}"),
        *((str(k), str(v)) for k, v in (about or {}).items()),
    ]
    info = pl.DataFrame(
        [(k, scrub_text(v)) for k, v in items],
        schema={"item": pl.Utf8, "value": pl.Utf8},
        orient="row",
    )
    limit = max_rows or EXCEL_MAX_ROWS
    parts = [
        *paginate(sheet, [Block("data", table, TableData.of(frame, links=True))], max_rows=limit),
        *paginate(
            "Export info", [Block("info", "tblExportInfo", TableData.of(info))], max_rows=limit
        ),
    ]

    wb = Workbook(write_only=True)
    wb.properties.creator = "okc-recon"
    wb.properties.title = f"okc-recon export: {sheet}"
    naive = stamp.replace(tzinfo=None)
    wb.properties.created = naive
    wb.properties.modified = naive
    # Styles live in the workbook; registering them needs a sheet, which is then dropped.
    scratch = wb.create_sheet("styles")
    assert isinstance(scratch, WriteOnlyWorksheet)
    styles = Styles.register(scratch)
    wb.remove(scratch)
    bodies: dict[str, SheetBody] = {}
    for index, part in enumerate(parts, 1):
        _, body = add_sheet(wb, part, styles)
        bodies[f"xl/worksheets/sheet{index}.xml"] = body

    temp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(handle)
        ExcelWriter(wb, Archive(temp, timestamp=naive, bodies=bodies)).save()
        os.replace(temp, path)
    except OSError as exc:
        raise ExportError(f"could not write {str(path)!r}: {exc}") from exc
    finally:
        if temp is not None and os.path.exists(temp):
            os.remove(temp)
    log.info("exported %d rows to %s", frame.height, path)
    return path
