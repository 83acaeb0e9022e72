"""From invoice file bytes to positional rows: encodings, delimiters, physical lines, xlsx.

Every reader works on the same thing: a :class:`Source` (the file decoded to UTF-8, with its
encoding, delimiter, hash and first rows for format detection) and the frame
:func:`read_rows` makes of it, whose columns are ``c<position>`` text columns plus ``_line``,
the 1-based physical line (xlsx: sheet row) each row came from.

CSV is parsed by Polars. Its fast path is used when every physical line became one row (no
field spans lines and nothing broke the parser: certain without a quote in the file, checked
by counting the lines otherwise); otherwise the file is re-read line by line so that one
stray quote cannot swallow the lines after it: lines whose quotes do not balance are
rejected on their own, and the rest are parsed again. The file's SHA-256 and its line count
are computed in a worker thread while Polars parses.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl

__all__ = [
    "XLSX_SUFFIXES",
    "Source",
    "decode",
    "load_source",
    "physical_lines",
    "raw_lines",
    "read_rows",
    "unused_char",
]

logger = logging.getLogger("okc_recon")

XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEAD_LINES = 12
_DELIMITERS = (",", "\t", ";", "|")
_T = TypeVar("_T")


_POOL: ThreadPoolExecutor | None = None


def _background(fn: Callable[[], _T]) -> Future[_T]:
    """Run ``fn`` in a worker thread: hashing and counting bytes release the GIL or run while
    Polars (which releases it) parses, so they cost no wall time of their own."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="okc-recon-io")
    return _POOL.submit(fn)


@dataclass(frozen=True)
class Source:
    """One invoice file, decoded. ``data`` is UTF-8 (CSV) or ``None`` (xlsx: see ``sheet``).

    ``digest`` is the SHA-256 of the file's bytes, or its computation under way in a worker
    thread (:attr:`sha256` waits for it).
    """

    path: Path
    digest: Future[str] | str
    encoding: str  # utf-8, utf-8-sig, utf-16, cp1252, xlsx
    delimiter: str
    data: bytes | None
    sheet: pl.DataFrame | None  # xlsx: every cell as text, columns c0…, plus _line
    head: tuple[tuple[str, ...], ...]  # the first non-blank rows, split into fields
    head_lines: tuple[int, ...]  # their 1-based line numbers

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def sha256(self) -> str:
        """The SHA-256 of the file's bytes, hex."""
        return self.digest if isinstance(self.digest, str) else self.digest.result()


def decode(data: bytes) -> tuple[bytes, str]:
    """``data`` as UTF-8 bytes without a BOM, and the encoding it was in.

    UTF-8 with or without BOM, UTF-16 (LE/BE, with a BOM or recognised by its zero bytes, as
    Excel's "Unicode text" writes it) and Windows-1252 (anything that is not valid UTF-8).
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :], "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace").encode("utf-8"), "utf-16"
    sample = data[:4096]
    if len(sample) >= 4:
        even_zeros = sample[0::2].count(0)
        odd_zeros = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_zeros > 0.4 * half and even_zeros < 0.05 * half:
            return data.decode("utf-16-le", errors="replace").encode("utf-8"), "utf-16"
        if even_zeros > 0.4 * half and odd_zeros < 0.05 * half:
            return data.decode("utf-16-be", errors="replace").encode("utf-8"), "utf-16"
    if data.isascii():
        return data, "utf-8"
    if not _is_utf8(data):
        return data.decode("cp1252", errors="replace").encode("utf-8"), "cp1252"
    return data, "utf-8"


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (Polars checks it far faster than decoding it)."""
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.Utf8)
    except pl.exceptions.ComputeError:
        return False
    return True


def _split_head(text: str, delimiter: str) -> tuple[list[tuple[str, ...]], list[int]]:
    rows: list[tuple[str, ...]] = []
    numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip(" \t,;|\r"):
            continue
        try:
            fields = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            fields = line.split(delimiter)
        rows.append(tuple(f.strip() for f in fields))
        numbers.append(number)
        if len(rows) >= _HEAD_LINES:
            break
    return rows, numbers


def _sniff_delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def load_source(path: Path, data: bytes | None = None) -> Source:
    """Read ``path`` (or use ``data``, its bytes) into a :class:`Source`."""
    raw = path.read_bytes() if data is None else data
    digest = _background(lambda: hashlib.sha256(raw).hexdigest())
    if raw.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or path.suffix.lower() in XLSX_SUFFIXES:
        sheet = _read_sheet(path, raw)
        head_frame = sheet.head(40)
        rows: list[tuple[str, ...]] = []
        numbers: list[int] = []
        cells = [c for c in head_frame.columns if c != "_line"]
        for values, line in zip(
            head_frame.select(cells).rows(), head_frame["_line"].to_list(), strict=True
        ):
            fields = tuple("" if v is None else str(v).strip() for v in values)
            while fields and fields[-1] == "":
                fields = fields[:-1]
            if fields:
                rows.append(fields)
                numbers.append(int(line))
            if len(rows) >= _HEAD_LINES:
                break
        return Source(path, digest, "xlsx", ",", None, sheet, tuple(rows), tuple(numbers))
    text_bytes, encoding = decode(raw)
    if b"\n" not in text_bytes and b"\r" in text_bytes:  # classic Mac line ends
        text_bytes = text_bytes.replace(b"\r", b"\n")
    head_text = text_bytes[:65536].decode("utf-8", errors="replace")
    delimiter = _sniff_delimiter(head_text)
    head, numbers = _split_head(head_text, delimiter)
    return Source(path, digest, encoding, delimiter, text_bytes, None, tuple(head), tuple(numbers))


def _read_sheet(path: Path, raw: bytes) -> pl.DataFrame:
    """The first sheet of a workbook, every cell as text (fastexcel / calamine)."""
    import fastexcel

    from okc_recon.errors import InvoiceFormatError

    try:
        reader = fastexcel.read_excel(raw)
        sheet = reader.load_sheet(
            0, header_row=None, dtypes="string", skip_rows=0, skip_whitespace_tail_rows=True
        )
        frame = sheet.to_polars()
    except Exception as exc:  # calamine raises its own error types for damaged workbooks
        raise InvoiceFormatError(
            f"{path}: looks like a workbook but cannot be opened ({exc}); save it again from "
            "Excel, or export it as CSV",
            file=path,
            tried={"xlsx": str(exc)},
        ) from exc
    frame = frame.rename({name: f"c{i}" for i, name in enumerate(frame.columns)})
    frame = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
        for c in frame.columns
    )
    return frame.with_row_index("_line", offset=1).with_columns(pl.col("_line").cast(pl.Int64))


def _rows_expected(parsed: pl.DataFrame | None, data: bytes) -> int:
    """The rows a quote-free parse must have given: one per physical line."""
    return parsed.height if parsed is not None else _physical_line_count(data)


def _physical_line_count(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _polars_rows(data: bytes, delimiter: str, ncols: int, columns: Sequence[int]) -> pl.DataFrame:
    schema = {f"c{i}": pl.Utf8 for i in range(ncols)}
    return pl.read_csv(
        data,
        has_header=False,
        separator=delimiter,
        infer_schema=False,
        schema=schema,
        missing_columns="insert",
        columns=list(columns),
        truncate_ragged_lines=True,
        raise_if_empty=False,
        null_values=[""],  # quoted empty fields too: FBO downloads quote every field
    )


def read_rows(
    source: Source, *, columns: Sequence[int], ncols: int | None = None, first_line: int = 1
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of ``source`` from physical line ``first_line`` on, with the given columns.

    Returns ``(rows, broken)``: ``rows`` has ``_line`` and ``c<i>`` for each requested
    position (text as in the file, empty → null; short rows padded with nulls; readers
    strip what they use); ``broken`` has
    ``_line``, ``raw`` and ``reason`` for lines the CSV parser could not split (unbalanced
    quotes). Blank lines (nothing but spaces and delimiters) appear in neither.
    """
    wanted = sorted(set(columns))
    width = max([*wanted, (ncols or 1) - 1]) + 1
    names = [f"c{i}" for i in wanted]
    if source.sheet is not None:
        sheet = source.sheet
        missing = [n for n in names if n not in sheet.columns]
        frame = sheet.select(
            "_line",
            *[pl.col(n) for n in names if n in sheet.columns],
            *[pl.lit(None, dtype=pl.Utf8).alias(n) for n in missing],
        ).select("_line", *names)
        frame = frame.filter(pl.col("_line") >= first_line)
        cells = [c for c in sheet.columns if c != "_line"]
        nonblank = sheet.filter(pl.col("_line") >= first_line).select(
            "_line", pl.any_horizontal(pl.col(c).is_not_null() for c in cells).alias("_any")
        )
        keep = nonblank.filter(pl.col("_any"))["_line"]
        frame = frame.filter(pl.col("_line").is_in(keep.implode()))
        return frame, _empty_broken()
    assert source.data is not None
    data = source.data
    # Without a quote no field can span lines, and Polars keeps blank lines: every physical
    # line is one row. With quotes, the lines are counted (while Polars parses) to check.
    counted = _background(lambda: _physical_line_count(data)) if b'"' in data else None
    try:
        parsed = _polars_rows(data, source.delimiter, width, wanted)
    except pl.exceptions.PolarsError:
        parsed = None
    expected = counted.result() if counted is not None else _rows_expected(parsed, data)
    if parsed is not None and parsed.height == expected:
        frame = parsed.with_row_index("_line", offset=1).with_columns(
            pl.col("_line").cast(pl.Int64)
        )
        broken = _empty_broken()
    else:
        logger.info(
            "%s: re-reading line by line (a field spans lines or quotes do not balance)",
            source.path.name,
        )
        frame, broken = _rows_line_by_line(data, source.delimiter, width, wanted)
    frame = frame.filter(pl.col("_line") >= first_line).select("_line", *names)
    broken = broken.filter(pl.col("_line") >= first_line)
    frame = _drop_blank(frame, data, source.delimiter)
    return frame, broken


def _empty_broken() -> pl.DataFrame:
    return pl.DataFrame(schema={"_line": pl.Int64, "raw": pl.Utf8, "reason": pl.Utf8})


def _drop_blank(frame: pl.DataFrame, data: bytes, delimiter: str) -> pl.DataFrame:
    """Drop rows whose physical line is blank; keep all-null rows whose line has text."""
    cols = [c for c in frame.columns if c != "_line"]
    empty = frame.filter(pl.all_horizontal(pl.col(c).is_null() for c in cols))
    if empty.is_empty():
        return frame
    texts = raw_lines(data, empty["_line"])
    blank_chars = " \t\r" + delimiter
    blank = [
        line
        for line, text in zip(empty["_line"].to_list(), texts, strict=True)
        if not text.strip(blank_chars)
    ]
    if not blank:
        return frame
    return frame.filter(~pl.col("_line").is_in(pl.Series(blank, dtype=pl.Int64).implode()))


def _rows_line_by_line(
    data: bytes, delimiter: str, width: int, wanted: list[int]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    lines = (
        pl.DataFrame({"raw": pl.Series(pieces, dtype=pl.Binary)})
        .with_columns(pl.col("raw").cast(pl.Utf8).str.strip_chars_end("\r"))
        .with_row_index("_line", offset=1)
        .with_columns(pl.col("_line").cast(pl.Int64))
    )
    lines = lines.with_columns(
        (pl.col("raw").str.count_matches('"', literal=True) % 2 == 1).alias("_odd")
    )
    broken = lines.filter(pl.col("_odd")).select(
        "_line", "raw", pl.lit("quotes do not balance on this line").alias("reason")
    )
    good = lines.filter(~pl.col("_odd"))
    joined = ("\n".join(good["raw"].to_list()) + "\n").encode("utf-8") if good.height else b""
    names = [f"c{i}" for i in wanted]
    try:
        parsed = _polars_rows(joined, delimiter, width, wanted) if joined else None
    except pl.exceptions.PolarsError:
        parsed = None
    if parsed is not None and parsed.height == good.height:
        frame = parsed.with_columns(good["_line"])
        return frame.select("_line", *names), broken
    # Last resort for lines Polars refuses (a quote inside an unquoted field…): the csv
    # module, one line at a time. Only malformed files come here.
    rows: dict[str, list[str | None]] = {n: [] for n in names}
    numbers: list[int] = []
    bad_lines: list[int] = []
    bad_raw: list[str] = []
    for number, text in zip(good["_line"].to_list(), good["raw"].to_list(), strict=True):
        try:
            fields = next(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True), [])
        except csv.Error:
            bad_lines.append(number)
            bad_raw.append(text)
            continue
        numbers.append(number)
        for i, name in zip(wanted, names, strict=True):
            rows[name].append(fields[i] if i < len(fields) and fields[i] != "" else None)
    frame = pl.DataFrame(
        {
            "_line": pl.Series(numbers, dtype=pl.Int64),
            **{n: pl.Series(v, dtype=pl.Utf8) for n, v in rows.items()},
        }
    )
    broken = pl.concat(
        [
            broken,
            pl.DataFrame(
                {
                    "_line": pl.Series(bad_lines, dtype=pl.Int64),
                    "raw": pl.Series(bad_raw, dtype=pl.Utf8),
                    "reason": pl.Series(
                        ["the line is not valid CSV"] * len(bad_lines), dtype=pl.Utf8
                    ),
                }
            ),
        ]
    )
    return frame, broken.sort("_line")


#: Bytes that never occur in carrier text files: one of them serves as a "no delimiter".
_UNUSED_BYTES = ("\x1f", "\x1e", "\x1d", "\x1c", "\x01")


def unused_char(data: bytes) -> str | None:
    """A control character that does not occur in ``data`` (``None`` if all of them do)."""
    return next((c for c in _UNUSED_BYTES if c.encode() not in data), None)


def physical_lines(data: bytes) -> pl.Series:
    """Every physical line of ``data`` as text: line n at index n - 1, without its line end
    (``\r\n`` or ``\n``); an empty line is null. Polars splits the lines; no CSV parsing."""
    split = unused_char(data)
    if split is None:
        pieces = data.split(b"\n")
        if pieces and pieces[-1] == b"":
            pieces.pop()
        text = pl.Series("l", pieces, dtype=pl.Binary).cast(pl.Utf8).str.strip_chars_end("\r")
        return pl.select(pl.when(text == "").then(None).otherwise(text)).to_series()
    return pl.read_csv(
        data,
        has_header=False,
        separator=split,
        quote_char=None,
        schema={"l": pl.Utf8},
        infer_schema=False,
        raise_if_empty=False,
    ).to_series()


def raw_lines(
    data: bytes | None, numbers: pl.Series, sheet: pl.DataFrame | None = None
) -> list[str]:
    """The text of the given 1-based physical lines (xlsx: the row's cells joined by commas)."""
    wanted = [int(n) for n in numbers.to_list()]
    if not wanted:
        return []
    if sheet is not None:
        cells = [c for c in sheet.columns if c != "_line"]
        picked = sheet.filter(pl.col("_line").is_in(pl.Series(wanted, dtype=pl.Int64).implode()))
        joined = picked.select(
            "_line",
            pl.concat_str([pl.col(c).fill_null("") for c in cells], separator=",")
            .str.strip_chars_end(",")
            .alias("raw"),
        )
        lookup = dict(zip(joined["_line"].to_list(), joined["raw"].to_list(), strict=True))
        return [lookup.get(n, "") for n in wanted]
    assert data is not None
    pieces = data.split(b"\n")
    return [
        pieces[n - 1].decode("utf-8", errors="replace").rstrip("\r") if 0 < n <= len(pieces) else ""
        for n in wanted
    ]
