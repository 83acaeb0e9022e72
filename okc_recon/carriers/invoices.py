"""Read carrier invoice files into one invoice-lines frame: :func:`read_invoices`.

The format of each file is detected from its content (never its name): FedEx Billing Online,
UPS Billing Data, ShipStation and EasyPost shipment exports, DHL Express, and the generic
layout (okc-recon's own column names, or any CSV/XLSX with a column ``mapping``). A file no
reader recognises stops the read with :class:`~okc_recon.errors.InvoiceFormatError`, which
names the file and says, for every format, why it did not fit.

Every data line of every file is accounted for (``files``: ``lines_in = lines_parsed +
lines_rejected``); rejected lines keep their file, line number, raw text and reason. A file
identical to one already read (same SHA-256) is skipped; an invoice already read from another
file whose lines are the same is a re-sent copy, left out and counted in ``resent_lines``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from okc_recon import schema
from okc_recon.carriers import dhl, fedex, generic, postage, ups
from okc_recon.carriers._fields import Parsed
from okc_recon.carriers._text import XLSX_SUFFIXES, Source, load_source, raw_lines
from okc_recon.carriers.services import ServiceMap
from okc_recon.errors import InvoiceFormatError

__all__ = ["FORMATS", "INVOICE_SUFFIXES", "InvoiceSet", "detect_format", "read_invoices"]

logger = logging.getLogger("okc_recon")

#: Suffixes picked up when a folder is given.
INVOICE_SUFFIXES = (".csv", ".txt", ".tsv", *XLSX_SUFFIXES)

#: Format name -> (sniff, parse), in the order detection tries them.
FORMATS: dict[str, tuple[Any, Any]] = {
    fedex.FORMAT: (fedex.sniff, fedex.parse),
    ups.FORMAT: (ups.sniff, ups.parse),
    dhl.FORMAT: (dhl.sniff, dhl.parse),
    postage.SHIPSTATION: (postage.sniff_shipstation, postage.parse_shipstation),
    postage.EASYPOST: (postage.sniff_easypost, postage.parse_easypost),
}

# Columns that make two lines "the same" for re-sent invoice detection.
_CONTENT = [c for c in schema.INVOICE_LINE_SCHEMA if c not in ("source_file", "source_line")]


@dataclass(frozen=True)
class InvoiceSet:
    """What :func:`read_invoices` read.

    ``lines`` (``schema.INVOICE_LINE_SCHEMA``): one row per charge line, re-sent copies left
    out. ``rejected`` (``schema.REJECTED_LINE_SCHEMA``): lines that could not be read, with
    why. ``files`` (``schema.INVOICE_FILE_SCHEMA``): one row per file, with its format,
    encoding, SHA-256 and line counts.
    """

    lines: pl.DataFrame
    rejected: pl.DataFrame
    files: pl.DataFrame

    def __repr__(self) -> str:
        return (
            f"InvoiceSet({self.files.height} files, {self.lines.height} charge lines, "
            f"{self.rejected.height} rejected lines)"
        )


def detect_format(source: Source, *, mapping: generic.Mapping_ | None = None) -> str:
    """The name of the format ``source`` is in, or :class:`InvoiceFormatError` saying why not."""
    tried: dict[str, str] = {}
    if not source.head:
        raise InvoiceFormatError(
            f"{source.path}: the file is empty (no data rows); expected a carrier invoice "
            f"export ({', '.join([*FORMATS, generic.FORMAT])})",
            file=source.path,
            tried=dict.fromkeys([*FORMATS, generic.FORMAT], "the file has no rows"),
        )
    if mapping is not None:
        why = generic.sniff(source, mapping)
        if why is None:
            return generic.FORMAT
        tried[generic.FORMAT] = why
    for name, (sniff, _) in FORMATS.items():
        why = sniff(source)
        if why is None:
            return name
        tried[name] = why
    if mapping is None:
        why = generic.sniff(source, None)
        if why is None:
            return generic.FORMAT
        tried[generic.FORMAT] = why
    reasons = "; ".join(f"{name}: {why}" for name, why in tried.items())
    raise InvoiceFormatError(
        f"{source.path}: not an invoice format okc-recon reads. Tried {reasons}. "
        f"To read it as it is, give read_invoices a column mapping, e.g. "
        f"{_mapping_hint(source)} (a dict, or the same keys in a TOML file: "
        "see okc_recon.carriers.generic).",
        file=source.path,
        tried=tried,
    )


_AMOUNT_WORDS = ("net chrg", "net charge", "net amount", "net", "total charge", "total",
                 "amount", "charge", "cost")  # fmt: skip


def _mapping_hint(source: Source) -> str:
    """A ``mapping=`` for ``source``, built from its own header where it has one."""
    carrier = "fedex" if fedex.edi_header(source) is not None else "<fedex|ups|usps|dhl>"
    for row in source.head[:5]:
        names = [name.strip() for name in row]
        lowered = [name.lower() for name in names]
        tracking = next(
            (n for n, low in zip(names, lowered, strict=True) if "tracking" in low), None
        )
        amount = next(
            (
                n
                for word in _AMOUNT_WORDS
                for n, low in zip(names, lowered, strict=True)
                if word in low and "date" not in low
            ),
            None,
        )
        if tracking and amount:
            fields = {"carrier": carrier, "tracking_number": tracking, "amount": amount}
            for field, words in (("invoice_number", ("invoice number", "invoice #", "invoice")),
                                 ("invoice_date", ("invoice date", "bill date")),
                                 ("ship_date", ("ship date", "shipment date")),
                                 ("service", ("service",))):  # fmt: skip
                found = next(
                    (n for w in words for n, low in zip(names, lowered, strict=True) if low == w),
                    None,
                )
                if found:
                    fields[field] = found
            return f"mapping={fields!r}"
    return (
        "mapping={'carrier': 'fedex', 'tracking_number': 'Tracking #', 'amount': 'Net Charge', "
        "'invoice_number': 'Invoice', 'invoice_date': 'Inv Date'} (header names, or 0-based "
        "positions for a file without a header)"
    )


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in INVOICE_SUFFIXES
                    and not p.name.startswith((".", "~$"))
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise InvoiceFormatError(f"{path}: no such file or folder", file=path)
    return files


def _parse(source: Source, fmt: str, service_map: ServiceMap | None, mapping: Any) -> Parsed:
    if fmt == generic.FORMAT:
        return generic.parse(source, mapping=mapping, service_map=service_map)
    return FORMATS[fmt][1](source, service_map=service_map)  # type: ignore[no-any-return]


def read_invoices(
    *paths: str | Path,
    service_map: ServiceMap | Mapping[tuple[str, str], str] | str | Path | None = None,
    mapping: Mapping[str, Any] | str | Path | None = None,
) -> InvoiceSet:
    """Read carrier invoice files (or every invoice file in the given folders).

    ``service_map`` extends the built-in service aliases (a :class:`ServiceMap`, a
    ``{(carrier, text): service}`` mapping or a CSV path). ``mapping`` reads files in a
    layout okc-recon does not know: a dict or TOML file naming the column of each field
    (see :mod:`okc_recon.carriers.generic`).

    >>> invoices = read_invoices("sample_data/invoices")  # doctest: +SKIP
    >>> invoices.lines.group_by("carrier").agg(pl.col("amount").sum())  # doctest: +SKIP
    """
    smap = (
        service_map
        if isinstance(service_map, ServiceMap)
        else ServiceMap.default().extend(service_map)
    )
    parsed_mapping = generic.load_mapping(mapping) if mapping is not None else None
    files = _expand(paths)
    by_hash: dict[str, str] = {}
    file_rows: list[dict[str, Any]] = []
    line_frames: list[pl.DataFrame] = []
    rejected_frames: list[pl.DataFrame] = []
    rejected_by_file: dict[str, pl.DataFrame] = {}
    counts_by_file: dict[str, tuple[str, str, int, int, int]] = {}
    # invoice key -> (file, fingerprint) of the first file that had it
    seen_invoices: dict[tuple[str, str], tuple[str, pl.DataFrame]] = {}
    for path in files:
        source = load_source(path)
        name = source.name
        # The file's SHA-256 is computed while it is parsed; an identical file (rare) is
        # parsed for nothing, then skipped.
        fmt = detect_format(source, mapping=parsed_mapping)
        parsed = _parse(source, fmt, smap, parsed_mapping)
        if source.sha256 in by_hash:
            original = by_hash[source.sha256]
            fmt, encoding, lines_in, lines_parsed, lines_rejected = counts_by_file[original]
            logger.warning("%s is identical to %s: skipped", name, original)
            copy = rejected_by_file[original].with_columns(pl.lit(name).alias("source_file"))
            rejected_frames.append(copy)
            file_rows.append(
                {
                    "source_file": name,
                    "format": fmt,
                    "encoding": encoding,
                    "sha256": source.sha256,
                    "lines_in": lines_in,
                    "lines_parsed": lines_parsed,
                    "lines_rejected": lines_rejected,
                    "charge_lines": 0,
                    "resent_lines": lines_parsed,
                    "duplicate_of": original,
                }
            )
            continue
        rejected = _rejected_frame(parsed.rejected, source, fmt)
        lines, resent_lines, duplicate_of = _drop_resent(
            parsed.lines, parsed.silent, name, seen_invoices
        )
        by_hash[source.sha256] = name
        counts_by_file[name] = (
            fmt,
            source.encoding,
            parsed.lines_in,
            parsed.lines_parsed,
            rejected.height,
        )
        rejected_by_file[name] = rejected
        line_frames.append(lines)
        rejected_frames.append(rejected)
        file_rows.append(
            {
                "source_file": name,
                "format": fmt,
                "encoding": source.encoding,
                "sha256": source.sha256,
                "lines_in": parsed.lines_in,
                "lines_parsed": parsed.lines_parsed,
                "lines_rejected": rejected.height,
                "charge_lines": lines.height,
                "resent_lines": resent_lines,
                "duplicate_of": duplicate_of,
            }
        )
        if rejected.height:
            logger.warning("%s: %d lines rejected (see .rejected)", name, rejected.height)
    lines_frame = (
        pl.concat(line_frames) if line_frames else schema.empty(schema.INVOICE_LINE_SCHEMA)
    )
    rejected_frame = (
        pl.concat(rejected_frames) if rejected_frames else schema.empty(schema.REJECTED_LINE_SCHEMA)
    )
    files_frame = schema.conform(
        pl.DataFrame(file_rows, schema=dict(schema.INVOICE_FILE_SCHEMA))
        if file_rows
        else schema.empty(schema.INVOICE_FILE_SCHEMA),
        schema.INVOICE_FILE_SCHEMA,
    )
    return InvoiceSet(
        schema.conform(lines_frame, schema.INVOICE_LINE_SCHEMA),
        schema.conform(rejected_frame, schema.REJECTED_LINE_SCHEMA),
        files_frame,
    )


def _rejected_frame(rejected: pl.DataFrame, source: Source, fmt: str) -> pl.DataFrame:
    if rejected.is_empty():
        return schema.empty(schema.REJECTED_LINE_SCHEMA)
    missing = rejected.filter(pl.col("raw").is_null())["_line"]
    if missing.len():
        texts = raw_lines(source.data, missing, source.sheet)
        fill = pl.DataFrame({"_line": missing, "_text": pl.Series(texts, dtype=pl.Utf8)})
        rejected = (
            rejected.join(fill, on="_line", how="left")
            .with_columns(pl.coalesce("raw", "_text").alias("raw"))
            .drop("_text")
        )
    return schema.conform(
        rejected.select(
            pl.lit(source.name).alias("source_file"),
            pl.col("_line").alias("source_line"),
            pl.lit(fmt).alias("format"),
            "reason",
            "raw",
        ),
        schema.REJECTED_LINE_SCHEMA,
    )


def _fingerprint(lines: pl.DataFrame) -> tuple[int, int]:
    """The number of ``lines`` and an order-free hash of their content."""
    hashed = lines.select(_CONTENT).hash_rows(seed=7)
    return lines.height, int(hashed.sum())  # wrapping sum: order does not matter


def _invoice(lines: pl.DataFrame, key: tuple[str, str]) -> pl.DataFrame:
    return lines.filter((pl.col("carrier") == key[0]) & (pl.col("invoice_number") == key[1]))


def _drop_resent(
    lines: pl.DataFrame,
    silent: pl.DataFrame | None,
    name: str,
    seen: dict[tuple[str, str], tuple[str, pl.DataFrame]],
) -> tuple[pl.DataFrame, int, str | None]:
    """``lines`` without invoices already read from another file with the same lines.

    ``seen`` maps each invoice already read to its file and that file's lines; content is
    compared only for invoice numbers that repeat. Returns the kept lines, how many source
    lines the left-out invoices had (charge lines' source lines and ``silent`` lines, like
    UPS INF rows), and the files they repeat.
    """
    keys = (
        lines.filter(pl.col("invoice_number").is_not_null())
        .select("carrier", "invoice_number")
        .unique(maintain_order=True)
    )
    drop: list[tuple[str, str]] = []
    resent = 0
    originals: list[str] = []
    for carrier, number in keys.iter_rows():  # one row per invoice, not per line
        key = (str(carrier), str(number))
        if key not in seen:
            seen[key] = (name, lines)
            continue
        first_file, first_lines = seen[key]
        mine = _invoice(lines, key)
        if _fingerprint(mine) == _fingerprint(_invoice(first_lines, key)):
            drop.append(key)
            resent += mine.get_column("source_line").n_unique()
            if silent is not None:
                resent += _invoice(silent, key).height
            if first_file not in originals:
                originals.append(first_file)
            logger.warning(
                "%s: invoice %s was already read from %s with the same lines: left out",
                name, number, first_file,
            )  # fmt: skip
        else:
            logger.warning(
                "%s: invoice %s was already read from %s with different lines: both kept "
                "(a corrected or partial invoice?); check them before filing a claim",
                name, number, first_file,
            )  # fmt: skip
    if not drop:
        return lines, 0, None
    dropped = pl.DataFrame(
        {"carrier": [k[0] for k in drop], "invoice_number": [k[1] for k in drop]},
        schema={"carrier": pl.Utf8, "invoice_number": pl.Utf8},
    )
    kept = lines.join(dropped, on=["carrier", "invoice_number"], how="anti", nulls_equal=False)
    return kept, resent, ", ".join(originals)
