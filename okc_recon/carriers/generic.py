"""Any CSV/XLSX invoice layout, read through a column mapping the user supplies.

A mapping names, for each invoice-line field, the column that holds it: a header name, or a
0-based position for files without a header. It is a dict or a TOML file::

    # my_carrier.toml
    carrier = "ups"                 # when the file has no carrier column
    date_format = "%m/%d/%Y"        # optional; yyyymmdd, ISO and m/d/yyyy are tried otherwise
    weight_unit = "lb"              # when the file has no weight-unit column
    currency = "USD"
    header_row = 1                  # optional: 1-based line of the header (found otherwise)

    [columns]
    tracking_number = "Tracking #"
    amount = "Net Charge"
    invoice_number = "Invoice"
    invoice_date = "Inv Date"
    charge_description = "Charge"

A flat dict works too: ``{"tracking_number": "Tracking #", "amount": "Net Charge",
"carrier": "ups"}`` (a ``carrier`` that is not a column name is the constant carrier).

Without a mapping, a file whose header uses okc-recon's own field names (``carrier``,
``tracking_number``, ``amount``, … as :func:`okc_recon.carriers.writers.write_generic`
writes them) is read as is.

Fields: :data:`FIELDS`. ``amount`` and ``tracking_number`` are required, and ``carrier``
as a column or a constant. ``charge_type`` is taken from a ``charge_type`` column when it
holds okc-recon's vocabulary, otherwise classified from the text (:mod:`.charges`); a row
with neither is the shipment's ``transportation`` charge.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from okc_recon import schema
from okc_recon.carriers import _fields as f
from okc_recon.carriers._fields import Parsed
from okc_recon.carriers._text import Source, read_rows
from okc_recon.carriers.charges import charge_type_from_text
from okc_recon.carriers.services import ServiceMap
from okc_recon.errors import ConfigError

__all__ = ["FIELDS", "FORMAT", "ColumnMapping", "Mapping_", "load_mapping", "parse", "sniff"]

FORMAT = "generic"

#: Fields a mapping may name.
FIELDS = (
    "carrier",
    "account_number",
    "invoice_number",
    "invoice_date",
    "tracking_number",
    "alt_tracking_number",
    "ship_date",
    "delivery_date",
    "delivery_time",
    "service",
    "charge_category",
    "charge_type",
    "charge_code",
    "charge_description",
    "amount",
    "currency",
    "billed_weight",
    "entered_weight",
    "weight_unit",
    "rated_on_dim",
    "label_status",
)
_OPTIONS = ("carrier", "date_format", "weight_unit", "currency", "header_row", "sheet")
_REQUIRED = ("tracking_number", "amount")


@dataclass(frozen=True)
class ColumnMapping:
    """A parsed mapping: field -> column (header name or 0-based position), and options."""

    columns: Mapping[str, str | int] = field(default_factory=dict)
    carrier: str | None = None
    date_format: str | None = None
    weight_unit: str | None = None
    currency: str | None = None
    header_row: int | None = None


Mapping_ = ColumnMapping


def load_mapping(spec: Mapping[str, Any] | str | Path | ColumnMapping) -> ColumnMapping:
    """A :class:`ColumnMapping` from a dict, a TOML file path, or one already parsed."""
    if isinstance(spec, ColumnMapping):
        return spec
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        try:
            data: Mapping[str, Any] = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise ConfigError(f"cannot read column mapping {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"column mapping {path} is not valid TOML: {exc}") from exc
        origin = str(path)
    else:
        data = spec
        origin = "column mapping"
    columns: dict[str, str | int] = {}
    nested = data.get("columns")
    if nested is not None and not isinstance(nested, Mapping):
        raise ConfigError(f"{origin}: 'columns' must be a table of field = column")
    flat = {k: v for k, v in data.items() if k != "columns"}
    options: dict[str, Any] = {}
    for key, value in flat.items():
        if key in _OPTIONS and (nested is not None or key != "carrier" or _is_constant(value)):
            options[key] = value
        elif key in FIELDS:
            columns[key] = value
        else:
            raise ConfigError(
                f"{origin}: unknown key {key!r}; fields are {', '.join(FIELDS)}; "
                f"options are {', '.join(_OPTIONS)}"
            )
    for key, value in (nested or {}).items():
        if key not in FIELDS:
            raise ConfigError(f"{origin}: unknown field {key!r}; known: {', '.join(FIELDS)}")
        columns[key] = value
    for key, value in columns.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ConfigError(f"{origin}: column of {key!r} must be a header name or a position")
    missing = [r for r in _REQUIRED if r not in columns]
    if missing:
        raise ConfigError(f"{origin}: the mapping needs a column for {', '.join(missing)}")
    if "carrier" not in columns and not options.get("carrier"):
        raise ConfigError(f'{origin}: name a carrier column or a constant carrier = "…"')
    header_row = options.get("header_row")
    return ColumnMapping(
        columns=columns,
        carrier=options.get("carrier"),
        date_format=options.get("date_format"),
        weight_unit=options.get("weight_unit"),
        currency=options.get("currency"),
        header_row=int(header_row) if header_row is not None else None,
    )


def _is_constant(value: Any) -> bool:
    """A flat ``carrier`` entry is the carrier itself when it names one, else a column."""
    return isinstance(value, str) and value.strip().lower() in schema.CARRIERS


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("\ufeff", "").strip().strip('"').lower())


def _default_mapping(source: Source) -> ColumnMapping | None:
    for row in source.head[:3]:
        names = {_norm(c) for c in row}
        if {"carrier", "tracking_number", "amount"} <= names:
            return ColumnMapping(columns={n: n for n in FIELDS if n in names})
    return None


def _resolve(source: Source, mapping: ColumnMapping) -> tuple[int, dict[str, int]] | str:
    """(header line or 0, field -> position), or why the mapping does not fit the file."""
    named = {k: v for k, v in mapping.columns.items() if isinstance(v, str)}
    positions = {k: v for k, v in mapping.columns.items() if isinstance(v, int)}
    if not named:
        return (mapping.header_row or 0), positions
    candidates = list(zip(source.head_lines, source.head, strict=True))
    if mapping.header_row is not None:
        candidates = [(n, r) for n, r in candidates if n == mapping.header_row]
    best_missing: list[str] = list(named.values())
    for line, row in candidates:
        names = [_norm(c) for c in row]
        missing = [v for v in named.values() if _norm(v) not in names]
        if not missing:
            resolved = dict(positions)
            resolved.update({k: names.index(_norm(v)) for k, v in named.items()})
            return line, resolved
        if len(missing) < len(best_missing):
            best_missing = missing
    return f"no header row has the mapped columns {', '.join(repr(m) for m in best_missing)}"


def sniff(source: Source, mapping: ColumnMapping | None) -> str | None:
    """``None`` when ``source`` can be read with ``mapping`` (or okc-recon's own names)."""
    if mapping is None:
        if _default_mapping(source) is None:
            return (
                "no column mapping given, and the header does not use okc-recon's field names "
                "(carrier, tracking_number, amount, …)"
            )
        return None
    resolved = _resolve(source, mapping)
    return resolved if isinstance(resolved, str) else None


def parse(
    source: Source,
    *,
    mapping: ColumnMapping | None = None,
    service_map: ServiceMap | None = None,
) -> Parsed:
    """Read ``source`` with ``mapping`` (or okc-recon's own column names)."""
    mapping = mapping or _default_mapping(source)
    assert mapping is not None, "sniff() first"
    resolved = _resolve(source, mapping)
    assert not isinstance(resolved, str), "sniff() first"
    header_line, positions = resolved
    width = max(positions.values()) + 1
    rows, broken = read_rows(
        source, columns=sorted(set(positions.values())), ncols=width, first_line=header_line + 1
    )

    def c(name: str) -> pl.Expr:
        return pl.col(f"c{positions[name]}") if name in positions else pl.lit(None, dtype=pl.Utf8)

    def date(name: str) -> pl.Expr:
        if mapping.date_format:
            return c(name).str.strptime(pl.Date, mapping.date_format, strict=False)
        return f.parse_date(c(name))

    frame = rows.select(
        "_line",
        c("amount").alias("amount"),
        c("amount").alias("_amount_raw"),
        pl.coalesce(c("carrier"), pl.lit(mapping.carrier, dtype=pl.Utf8)).alias("carrier"),
        c("account_number").alias("account_number"),
        c("invoice_number").alias("invoice_number"),
        date("invoice_date").alias("invoice_date"),
        c("invoice_date").alias("_invoice_date_raw"),
        c("tracking_number").alias("tracking_number"),
        c("tracking_number").alias("_tid"),
        c("alt_tracking_number").alias("_alt"),
        date("ship_date").alias("ship_date"),
        date("delivery_date").alias("delivery_date"),
        f.parse_time(c("delivery_time")).alias("delivery_time"),
        c("service").alias("service_description"),
        c("service").alias("_service_text"),
        c("charge_category").alias("_category"),
        c("charge_type").alias("_type"),
        c("charge_code").alias("charge_code"),
        c("charge_description").alias("charge_description"),
        pl.coalesce(c("currency"), pl.lit(mapping.currency, dtype=pl.Utf8)).alias("currency"),
        f.parse_weight(c("billed_weight")).alias("billed_weight"),
        f.parse_weight(c("entered_weight")).alias("entered_weight"),
        pl.coalesce(
            f.weight_unit(c("weight_unit")),
            f.weight_unit(pl.lit(mapping.weight_unit, dtype=pl.Utf8)),
        ).alias("_unit"),
        f.flag(c("rated_on_dim")).fill_null(False).alias("rated_on_dim"),
        c("label_status").str.to_lowercase().alias("label_status"),
        pl.col("_line").alias("source_line"),
    )
    frame = f.money_columns(frame, ["amount"])
    reason = (
        pl.when(pl.col("amount").is_null())
        .then(pl.format("amount {} is not an amount", pl.col("_amount_raw").fill_null("(empty)")))
        .when(pl.col("carrier").is_null())
        .then(pl.lit("no carrier"))
        .when(pl.col("_invoice_date_raw").is_not_null() & pl.col("invoice_date").is_null())
        .then(pl.format("invoice date {} is not a date", pl.col("_invoice_date_raw")))
    )
    frame = frame.with_columns(reason.alias("_reason"))
    good = frame.filter(pl.col("_reason").is_null())
    rejected = pl.concat(
        [
            frame.filter(pl.col("_reason").is_not_null()).select(
                "_line", pl.lit(None, dtype=pl.Utf8).alias("raw"), pl.col("_reason").alias("reason")
            ),
            broken,
        ]
    ).sort("_line")
    given_type = pl.col("_type").str.strip_chars().str.to_lowercase()
    charge_type = (
        pl.when(given_type.is_in(schema.CHARGE_TYPES))
        .then(given_type)
        .when(given_type.is_not_null())
        .then(charge_type_from_text(pl.col("_type")))
        .when(pl.col("charge_description").is_not_null())
        .then(charge_type_from_text(pl.col("charge_description")))
        .otherwise(pl.lit("transportation"))
    )
    given_category = pl.col("_category").str.strip_chars().str.to_lowercase()
    category = (
        pl.when(given_category.is_in(schema.CHARGE_CATEGORIES))
        .then(given_category)
        .when(given_category.str.contains("adj|correct|apv"))
        .then(pl.lit("adjustment"))
        .when(given_category.str.contains("ret"))
        .then(pl.lit("return"))
        .when(given_category.str.contains("void|refund"))
        .then(pl.lit("void"))
        .when(pl.col("_tid").is_null())
        .then(pl.lit("invoice"))
        .otherwise(pl.lit("shipment"))
    )
    lines = good.with_columns(
        charge_type.alias("charge_type"),
        category.alias("charge_category"),
        pl.when(pl.col("billed_weight").is_not_null() | pl.col("entered_weight").is_not_null())
        .then(pl.col("_unit"))
        .alias("weight_unit"),
    )
    lines = f.finish(lines, source_file=source.name, service_map=service_map)
    lines_in = rows.height + broken.height
    return Parsed(lines, rejected, lines_in, lines_in - rejected.height)
