"""Where every table goes: blocks stacked on a sheet, continued on ``Name (2)`` past the limit.

A sheet holds one or more blocks (an Excel table each), stacked with a blank row and a title
between them. A block that does not fit in what is left of Excel's 1,048,576 rows continues
at the top of the next part of the sheet (``Shipments (2)``), under its header again, as a
table of its own (``tblShipments_2``).
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from openpyxl.workbook import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from okc_recon.excel._package import SheetBody
from okc_recon.excel._styles import Styles
from okc_recon.excel._tables import LINK_LIMIT, TableData
from okc_recon.excel._xml import col_letter, py_cell, py_row

__all__ = ["EXCEL_MAX_ROWS", "Block", "Placement", "SheetPart", "add_sheet", "paginate"]

#: Rows in an Excel worksheet.
EXCEL_MAX_ROWS = 1_048_576
#: Rows rendered per chunk: big enough for Polars, small enough to overlap with compression.
_CHUNK_ROWS = 25_000
# Rough bytes per cell, to decide when a sheet part may need ZIP64 sizes.
_BYTES_PER_CELL = 80
# Chunks rendered ahead of the one being compressed.
_AHEAD = 2


@dataclass(frozen=True)
class Block:
    """One table: ``key`` names it for formulas, ``table`` is its Excel table name."""

    key: str
    table: str
    data: TableData
    title: str | None = None


@dataclass(frozen=True)
class Placement:
    """Rows ``offset .. offset+length`` of a block, on one sheet part from ``header_row``."""

    block: Block
    part: int  # 1 for the block's first table, 2 for its first continuation, …
    offset: int
    length: int
    title_row: int | None
    header_row: int

    @property
    def table_name(self) -> str:
        return self.block.table if self.part == 1 else f"{self.block.table}_{self.part}"

    @property
    def last_row(self) -> int:
        # A table needs a data row: an empty one keeps a blank row under its header.
        return self.header_row + max(self.length, 1)

    @property
    def ref(self) -> str:
        last_col = col_letter(len(self.block.data.columns) - 1)
        return f"A{self.header_row}:{last_col}{self.last_row}"


@dataclass(frozen=True)
class SheetPart:
    title: str
    placements: tuple[Placement, ...]


def paginate(sheet: str, blocks: list[Block], *, max_rows: int) -> list[SheetPart]:
    """Lay ``blocks`` out on ``sheet``, continuing on ``sheet (2)`` … past ``max_rows`` rows."""
    if max_rows < 3:
        raise ValueError("max_rows must be at least 3 (a title, a header and a row)")
    parts: list[list[Placement]] = [[]]
    row = 1  # the next free row of the current part
    for block in blocks:
        offset, piece = 0, 1
        while True:
            at_top = row == 1
            lead = 1 if at_top else (3 if block.title else 2)  # gap, title, header
            capacity = max_rows - (row - 1) - lead
            if capacity < 1:
                parts.append([])
                row = 1
                continue
            length = min(block.data.height - offset, capacity)
            header_row = row + lead - 1
            title_row = header_row - 1 if (block.title and not at_top) else None
            placement = Placement(block, piece, offset, length, title_row, header_row)
            parts[-1].append(placement)
            row = placement.last_row + 1
            offset += length
            piece += 1
            if offset >= block.data.height:
                break
            parts.append([])
            row = 1
    titles = [sheet if i == 0 else f"{sheet} ({i + 1})" for i in range(len(parts))]
    return [SheetPart(t, tuple(p)) for t, p in zip(titles, parts, strict=True) if p]


def add_sheet(
    wb: Workbook, part: SheetPart, styles: Styles
) -> tuple[WriteOnlyWorksheet, SheetBody]:
    """Create ``part``'s worksheet (views, widths, tables) and the body to splice into it."""
    ws = wb.create_sheet(part.title)
    assert isinstance(ws, WriteOnlyWorksheet)
    first = part.placements[0]
    ws.freeze_panes = f"A{first.header_row + 1}"
    widths: dict[int, float] = {}
    for placement in part.placements:
        for i, width in enumerate(placement.block.data.widths()):
            widths[i] = max(widths.get(i, 0.0), width)
    for i, width in widths.items():
        ws.column_dimensions[col_letter(i)].width = width
    for placement in part.placements:
        table = Table(displayName=placement.table_name, ref=placement.ref)
        # openpyxl cannot read headers back in write-only mode: name the columns here, with
        # the very texts written to the header cells (Excel repairs a file where they differ).
        table.tableColumns = [
            TableColumn(id=i, name=c.name) for i, c in enumerate(placement.block.data.columns, 1)
        ]
        table.autoFilter = AutoFilter(ref=placement.ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="In write-only mode you must add table")
            ws.add_table(table)

    # Excel keeps LINK_LIMIT hyperlinks a sheet: the first rows get them.
    links_left = LINK_LIMIT
    link_frames = []
    link_until: dict[int, int] = {}  # placement -> last row with a hyperlink
    for n, placement in enumerate(part.placements):
        links = placement.block.data.links(
            placement.header_row + 1, placement.offset, placement.length
        ).head(links_left)
        link_frames.append(links.select("ref", "url"))
        links_left -= links.height
        link_until[n] = int(links["row"][-1]) if links.height else 0
    cells = sum(p.length * len(p.block.data.columns) for p in part.placements)

    def rows() -> Iterator[bytes]:
        return _ahead(
            task
            for n, p in enumerate(part.placements)
            for task in _placement_tasks(p, styles, link_until[n])
        )

    body = SheetBody(rows=rows, large=cells * _BYTES_PER_CELL > (1 << 31) - (1 << 26))
    if link_frames:
        import polars as pl

        body.links = pl.concat(link_frames)
    return ws, body


def _ahead(tasks: Iterable[Callable[[], bytes]]) -> Iterator[bytes]:
    """The tasks' results in order, computed up to :data:`_AHEAD` at a time in threads.

    Rendering is Polars work that releases the GIL but runs largely on one core per
    expression; two chunks in flight use both cores while the archive compresses.
    """
    with ThreadPoolExecutor(max_workers=_AHEAD, thread_name_prefix="okc-render") as pool:
        window: deque[Future[bytes]] = deque()
        for task in tasks:
            window.append(pool.submit(task))
            if len(window) > _AHEAD:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def _placement_tasks(
    placement: Placement, styles: Styles, link_until: int
) -> Iterator[Callable[[], bytes]]:
    data = placement.block.data
    head = []
    if placement.title_row is not None and placement.block.title:
        title = placement.block.title + (" (continued)" if placement.part > 1 else "")
        label = py_cell(f"A{placement.title_row}", title, style=styles.label)
        head.append(py_row(placement.title_row, [label]))
    header = [
        py_cell(f"{col_letter(i)}{placement.header_row}", c.name)
        for i, c in enumerate(data.columns)
    ]
    head.append(py_row(placement.header_row, header))
    text = "".join(head).encode()
    yield lambda: text
    first = placement.header_row + 1
    for start in range(0, placement.length, _CHUNK_ROWS):
        length = min(_CHUNK_ROWS, placement.length - start)
        yield partial(
            data.render,
            first + start,
            placement.offset + start,
            length,
            styles,
            link_until=link_until,
        )
