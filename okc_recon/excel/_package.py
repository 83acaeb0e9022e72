"""The xlsx package: openpyxl writes it, this archive makes it reproducible and adds the rows.

openpyxl's :class:`~openpyxl.writer.excel.ExcelWriter` writes every part of the workbook
(workbook, styles, sheets with their views, widths and tables, table parts, chart, content
types) into the archive it is given. :class:`Archive` is that archive, with two changes:

- every member gets the same timestamp (the run's) and attributes, so the same workbook
  gives the same bytes;
- a data sheet, which openpyxl writes with an empty ``<sheetData>``, has its rendered rows
  streamed in (compressed in a second thread while the next rows render), followed by its
  ``<hyperlinks>``; the hyperlinks' relationships are added to the sheet's ``.rels`` part.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import polars as pl

__all__ = ["Archive", "SheetBody"]

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_HYPERLINK_TYPE = f"{_REL_NS}/hyperlink"
# Elements that the schema puts between </sheetData> and <hyperlinks>: none may be present
# where the hyperlinks are inserted right after the rows.
_BEFORE_HYPERLINKS = (
    b"<sheetCalcPr",
    b"<sheetProtection",
    b"<protectedRanges",
    b"<scenarios",
    b"<autoFilter",
    b"<sortState",
    b"<dataConsolidate",
    b"<customSheetViews",
    b"<mergeCells",
    b"<phoneticPr",
    b"<conditionalFormatting",
    b"<dataValidations",
    b"<hyperlinks",
)
_EMPTY_SHEET_DATA = (b"<sheetData></sheetData>", b"<sheetData />", b"<sheetData/>")
# Data sheets are compressed fast (level 1): they are most of the file and of the time.
_DATA_LEVEL = 1


@dataclass
class SheetBody:
    """The rows (rendered lazily, in chunks) and hyperlinks of one worksheet part."""

    rows: Callable[[], Iterator[bytes]]
    links: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"ref": pl.Utf8, "url": pl.Utf8})
    )
    large: bool = False  # may pass 2 GiB uncompressed: write with ZIP64 sizes

    def hyperlinks_xml(self) -> bytes:
        if self.links.height == 0:
            return b""
        cells = self.links.select(
            pl.concat_str(
                [
                    pl.lit('<hyperlink ref="'),
                    pl.col("ref"),
                    pl.lit('" r:id="rIdL'),
                    pl.int_range(1, pl.len() + 1).cast(pl.Utf8),
                    pl.lit('"/>'),
                ]
            ).str.join("")
        ).item()
        return f'<hyperlinks xmlns:r="{_REL_NS}">{cells}</hyperlinks>'.encode()

    def relationships_xml(self) -> bytes:
        if self.links.height == 0:
            return b""
        target = (
            pl.col("url")
            .str.replace_all("&", "&amp;", literal=True)
            .str.replace_all('"', "&quot;", literal=True)
            .str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True)
        )
        rels = self.links.select(
            pl.concat_str(
                [
                    pl.lit('<Relationship Id="rIdL'),
                    pl.int_range(1, pl.len() + 1).cast(pl.Utf8),
                    pl.lit(f'" Type="{_HYPERLINK_TYPE}" Target="'),
                    target,
                    pl.lit('" TargetMode="External"/>'),
                ]
            ).str.join("")
        ).item()
        return str(rels).encode()


class Archive(zipfile.ZipFile):
    """A write-only zip with fixed member timestamps that splices in :class:`SheetBody` rows.

    ``bodies`` maps a worksheet's member name (``xl/worksheets/sheet3.xml``) to its body.
    """

    def __init__(
        self,
        file: str | Path | IO[bytes],
        *,
        timestamp: datetime,
        bodies: dict[str, SheetBody],
    ) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        year = min(max(timestamp.year, 1980), 2107)
        self._date_time = (year, *timestamp.timetuple()[1:6])
        self._bodies = bodies
        self._rels = {
            f"xl/worksheets/_rels/{Path(name).name}.rels": body
            for name, body in bodies.items()
            if body.links.height
        }

    def _info(self, name: str, level: int | None = None) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 0
        info.external_attr = 0o600 << 16
        if level is not None:
            # what ZipFile.open reads (3.13 renames it compress_level and keeps this alias)
            info._compresslevel = level  # type: ignore[attr-defined]
        return info

    def writestr(  # type: ignore[override]
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: bytes | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        name = (
            zinfo_or_arcname.filename
            if isinstance(zinfo_or_arcname, zipfile.ZipInfo)
            else zinfo_or_arcname
        )
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        body = self._rels.get(name)
        if body is not None:
            end = payload.rindex(b"</Relationships>")
            payload = payload[:end] + body.relationships_xml() + payload[end:]
        super().writestr(self._info(name), payload)

    def write(  # type: ignore[override]
        self,
        filename: str | Path,
        arcname: str | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        name = arcname or Path(filename).name
        payload = Path(filename).read_bytes()
        body = self._bodies.get(name)
        if body is None:
            self.writestr(name, payload)
            return
        head, tail = _split_sheet(payload)
        chunks = _chain([head], body.rows(), [b"</sheetData>", body.hyperlinks_xml(), tail])
        self._stream(self._info(name, _DATA_LEVEL), chunks, large=body.large)

    def _stream(self, info: zipfile.ZipInfo, chunks: Iterable[bytes], *, large: bool) -> None:
        # Rendering (Polars) and deflating (zlib) both release the GIL: overlap them.
        with (
            self.open(info, "w", force_zip64=large) as dest,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="okc-xlsx") as pool,
        ):
            pending: Future[Any] | None = None
            for chunk in chunks:
                if not chunk:
                    continue
                if pending is not None:
                    pending.result()
                pending = pool.submit(dest.write, chunk)
            if pending is not None:
                pending.result()


def _chain(*parts: Iterable[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield from part


def _split_sheet(xml: bytes) -> tuple[bytes, bytes]:
    """The sheet part before and after its (empty) rows, ``<sheetData>`` kept in the head."""
    for empty in _EMPTY_SHEET_DATA:
        at = xml.find(empty)
        if at >= 0:
            head, tail = xml[:at], xml[at + len(empty) :]
            if any(tag in tail for tag in _BEFORE_HYPERLINKS):
                raise RuntimeError("a data sheet has elements that must precede its hyperlinks")
            return head + b"<sheetData>", tail
    raise RuntimeError("openpyxl wrote a data sheet without an empty <sheetData>")
