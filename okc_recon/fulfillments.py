"""OKC fulfillment records → the fulfillments frame (SPEC §3), and reading/writing it.

:func:`fulfillments_frame` turns API records (dicts, as the client returns them) into a frame
with exactly :data:`okc_recon.schema.FULFILLMENT_SCHEMA`; records that cannot be parsed go to
a second frame (:data:`~okc_recon.schema.REJECTED_FULFILLMENT_SCHEMA`) with the reason, never
nowhere. The work is vectorised: each record is serialised once to JSON (in C), then Polars
decodes every field of every record in one pass, with numbers kept as text so money is parsed
exactly (plain decimal text by integer arithmetic on its digits, anything else — ``$1,234.50``,
``(4.20)`` — by :func:`okc_recon.money.parse_money`).

What "does not parse" means here: no ``id``; a non-null date that is not a date; a charge or
weight that is not a number (a charge with more than two decimals, ``12.345``, is a number:
rounded half away from zero like :func:`~okc_recon.money.parse_money`, to ``12.35``); a
record that is not a JSON object or whose fields have the wrong structure (an object where a
value belongs). Everything else — a negative weight, a missing tracking number, a duplicate
id — is *data*, kept in the frame for the checks.

Normalisation: ``carrier`` and ``service`` through :mod:`okc_recon.carriers.services` (the
service map is extendable), ``tracking_key`` through
:func:`okc_recon.carriers.tracking.tracking_key`, ``shipping_charge_model`` in lower case,
datetimes in UTC (offsets converted; naive values taken as UTC; epoch seconds or milliseconds
read too; see :func:`parse_datetime`), ``status`` from
``/v2/statuses`` when given, order lines summarised as a count and ``"; "``-joined names.
``label_url`` never enters the frame, the rejected ``raw`` JSON, or any file written here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl

from okc_recon.carriers.services import ServiceMap, normalize_carrier, normalize_service
from okc_recon.config import Secret
from okc_recon.errors import ConfigError
from okc_recon.money import money_from_cents, parse_money
from okc_recon.schema import (
    FULFILLMENT_SCHEMA,
    REJECTED_FULFILLMENT_SCHEMA,
    UTC_DATETIME,
    conform,
    empty,
)

__all__ = [
    "fulfillment_records",
    "fulfillments_frame",
    "load_fulfillments",
    "read_fulfillments",
    "records_to_json",
    "write_fulfillments",
]

log = logging.getLogger("okc_recon")

_TEXT_FIELDS = (
    "id",
    "order_id",
    "consumer_id",
    "status_id",
    "shipping_carrier",
    "shipping_method",
    "tracking_number",
    "tracking_url",
    "shipment_order_id",
    "shipment_order_number",
    "shipping_net_charge",
    "shipping_charge_model",
    "weight",
    "pickup_date",
    "delivery_date",
    "created_at",
    "updated_at",
)
_TRACKING_FIELDS = ("shipping_carrier", "shipping_method", "tracking_number", "tracking_url")
_DATE_FIELDS = ("pickup_date", "delivery_date", "created_at", "updated_at")

# Every field read as text (numbers too: exact money), tracking_info nested, order lines a list.
_RECORD_DTYPE = pl.Struct(
    {
        **{name: pl.Utf8() for name in _TEXT_FIELDS},
        "tracking_info": pl.Struct({name: pl.Utf8() for name in _TRACKING_FIELDS}),
        "order_lines": pl.List(pl.Struct({"id": pl.Utf8(), "name": pl.Utf8()})),
    }
)

# -- JSON in and out ---------------------------------------------------------------------------

_DECIMAL_MARK = "\ufdd0okc-decimal:"
_DECIMAL_RE = re.compile('"' + re.escape(_DECIMAL_MARK) + r'(-?[0-9.]+)"')


def _as_text_default(value: Any) -> Any:
    # For decoding: Decimals as exact text (Polars would read a JSON number through f64).
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Secret):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _as_number_default(value: Any) -> Any:
    # For output: Decimals become JSON numbers with every digit (see records_to_json).
    if isinstance(value, Decimal) and value.is_finite():
        return _DECIMAL_MARK + format(value, "f")
    return _as_text_default(value)


def _without_label(record: Any) -> Any:
    if isinstance(record, dict) and "label_url" in record:
        return {k: v for k, v in record.items() if k != "label_url"}
    return record


def records_to_json(records: Iterable[Any], *, indent: int | None = None) -> str:
    """API records as JSON text, ``label_url`` removed, Decimals as exact JSON numbers.

    >>> records_to_json([{"id": "f1", "shipping_net_charge": Decimal("12.50"), "label_url": "…"}])
    '[{"id": "f1", "shipping_net_charge": 12.50}]'
    """
    text = json.dumps(
        [_without_label(r) for r in records],
        default=_as_number_default,
        ensure_ascii=False,
        indent=indent,
    )
    return _DECIMAL_RE.sub(r"\1", text)


def _unwrapped(record: Any) -> Any:
    # a list item wrapped one by one: {"fulfillment": {...}}
    if isinstance(record, Mapping) and len(record) == 1:
        inner = record.get("fulfillment")
        if isinstance(inner, Mapping):
            return inner
    return record


def fulfillment_records(data: Any) -> list[Any]:
    """The fulfillment records in parsed API JSON: a list, or a ``fulfillments`` /
    ``fulfillment`` envelope (``data``/``items``/``results`` are accepted too; items
    wrapped one by one as ``{"fulfillment": {...}}`` are unwrapped)."""
    if isinstance(data, list):
        return [_unwrapped(r) for r in data]
    if isinstance(data, Mapping):
        for key in ("fulfillments", "data", "items", "results"):
            if isinstance(data.get(key), list):
                return [_unwrapped(r) for r in data[key]]
        if isinstance(data.get("fulfillment"), Mapping):
            return [data["fulfillment"]]
        if "id" in data and "order_id" in data:
            return [data]  # a single bare record
    kind = type(data).__name__ if not isinstance(data, Mapping) else f"object with {sorted(data)}"
    raise ConfigError(
        "not OKC fulfillments JSON: expected a list of fulfillment objects, "
        f'{{"fulfillments": [...]}} or {{"fulfillment": {{...}}}}, got {kind}'
    )


# -- text → typed ------------------------------------------------------------------------------


def _text(expr: pl.Expr) -> pl.Expr:
    """Trimmed text, empty → null."""
    stripped = expr.cast(pl.Utf8).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


# Epoch numbers OKC might send: seconds (10 digits, 2001-2286) or milliseconds (13 digits).
_EPOCH_SECONDS = r"^\d{10}(?:\.\d+)?$"
_EPOCH_MILLIS = r"^\d{13}(?:\.\d+)?$"


def parse_datetime(expr: pl.Expr) -> pl.Expr:
    """A UTC datetime from RFC 3339 / ISO 8601 text; naive values are taken as UTC.

    Accepts ``2024-01-20T14:30:00Z``, fractions (to the nanosecond), ``±hh:mm``/``±hhmm``
    offsets, a space for ``T``, a trailing ``UTC``/``GMT``, minutes-only times, bare dates
    (midnight UTC), and epoch numbers: 10 digits are seconds, 13 digits milliseconds (a
    fraction allowed). Null where it is not a date.
    """
    text = (
        expr.cast(pl.Utf8)
        .str.strip_chars()
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
        .str.replace(r"\s*(?:UTC|GMT)$", "+00:00")
    )
    aware = [
        text.str.strptime(UTC_DATETIME, fmt, strict=False)
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z")
    ]
    naive = [
        text.str.strptime(pl.Datetime("us"), fmt, strict=False).dt.replace_time_zone("UTC")
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
    ]
    number = text.cast(pl.Float64, strict=False)
    micros = (
        pl.when(text.str.contains(_EPOCH_SECONDS))
        .then(number * 1_000_000)
        .when(text.str.contains(_EPOCH_MILLIS))
        .then(number * 1_000)
    )
    epoch = micros.round(0).cast(pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return pl.coalesce(*aware, *naive, epoch)


Statuses = Mapping[Any, Any] | Sequence[Mapping[str, Any]]
ServiceAliases = ServiceMap | Mapping[tuple[str, str], str] | str | Path


def _statuses_map(statuses: Statuses | None) -> dict[str, str]:
    if statuses is None:
        return {}
    if isinstance(statuses, Mapping):
        return {str(k): str(v) for k, v in statuses.items() if v is not None}
    names: dict[str, str] = {}
    # Fulfillment statuses win over other groups when the same id appears in several.
    ordered = sorted(
        (s for s in statuses if isinstance(s, Mapping) and s.get("id") is not None),
        key=lambda s: str(s.get("group", "")).lower() == "fulfillment",
    )
    for status in ordered:
        if status.get("name") is not None:
            names[str(status["id"])] = str(status["name"])
    return names


def _service_map(service_map: ServiceAliases | None) -> ServiceMap:
    if isinstance(service_map, ServiceMap):
        return service_map
    return ServiceMap.default().extend(service_map)


_PLAIN_DECIMAL = r"^(?<sign>[-+]?)(?<int>\d{1,15})(?:\.(?<frac>\d*))?$"


def _money(text: pl.Series) -> pl.Series:
    """Money from text: plain decimals (what JSON numbers and our CSV hold) the fast way,
    rounded half away from zero like :func:`parse_money`; the rare other forms through
    :func:`parse_money` itself, on those rows only."""
    frame = pl.DataFrame({"t": text.str.strip_chars()})
    parts = pl.col("t").str.extract_groups(_PLAIN_DECIMAL)
    frac3 = (parts.struct.field("frac").fill_null("") + "000").str.slice(0, 3)
    cents = (
        parts.struct.field("int").cast(pl.Int64) * 100
        + frac3.str.slice(0, 2).cast(pl.Int64)
        + (frac3.str.slice(2, 1).cast(pl.Int64) >= 5).cast(pl.Int64)
    )
    signed = pl.when(parts.struct.field("sign") == "-").then(-cents).otherwise(cents)
    money = frame.select(money_from_cents(signed)).to_series()
    other = (frame["t"].is_not_null() & money.is_null()).arg_true()
    if other.len():
        slow = frame[other].select(parse_money(pl.col("t"))).to_series()
        money = money.scatter(other, slow)
    return money


def _typed(
    text: pl.DataFrame,
    *,
    statuses: Mapping[str, str],
    service_map: ServiceMap,
    keep_status: bool,
) -> pl.DataFrame:
    """The schema's columns from a frame of text columns, plus ``__reason`` (null: parsed).

    ``text`` has one text column per schema column that comes from OKC (and
    ``order_line_count``/``order_line_names`` already summarised); ``carrier``, ``service``,
    ``tracking_key`` (and ``status`` unless ``keep_status``) are derived here.
    """
    from okc_recon.carriers.tracking import tracking_key

    money = pl.col("__money")
    weight = pl.col("weight").cast(pl.Float64, strict=False)
    dates = {name: parse_datetime(pl.col(name)) for name in _DATE_FIELDS}
    status_id = pl.col("status_id")
    status = (
        pl.col("status")
        if keep_status and not statuses
        else status_id.replace_strict(statuses, default=None, return_dtype=pl.Utf8)
    )
    carrier = normalize_carrier(pl.col("shipping_carrier"))
    reasons: list[pl.Expr] = [
        pl.when(pl.col("fulfillment_id").is_null()).then(pl.lit("missing id")),
        pl.when(pl.col("shipping_net_charge").is_not_null() & money.is_null()).then(
            pl.format("shipping_net_charge is not a number: {}", pl.col("shipping_net_charge"))
        ),
        pl.when(pl.col("weight").is_not_null() & weight.is_null()).then(
            pl.format("weight is not a number: {}", pl.col("weight"))
        ),
        *(
            pl.when(pl.col(name).is_not_null() & expr.is_null()).then(
                pl.format(f"{name} is not a date-time: {{}}", pl.col(name))
            )
            for name, expr in dates.items()
        ),
    ]
    if "__problem" in text.columns:
        reasons.insert(0, pl.col("__problem"))
    reason = pl.concat_str(reasons, separator="; ", ignore_nulls=True)
    columns: dict[str, pl.Expr] = {
        "status": status,
        "carrier": carrier,
        "service": normalize_service(carrier, pl.col("shipping_method"), service_map),
        "tracking_key": tracking_key(pl.col("tracking_number")),
        "shipping_net_charge": money,
        "shipping_charge_model": pl.col("shipping_charge_model")
        .str.to_lowercase()
        .str.replace_all(r"[\s\-]+", "_"),
        "weight": weight,
        **dates,
    }
    text = text.with_columns(__money=_money(text["shipping_net_charge"]))
    return text.with_columns(**columns, __reason=pl.when(reason == "").then(None).otherwise(reason))


def _split(typed: pl.DataFrame, raw: Sequence[Any] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(conformed good rows, rejected rows) from a frame with ``__reason`` and ``__row``."""
    bad = typed.filter(pl.col("__reason").is_not_null())
    good = conform(typed.filter(pl.col("__reason").is_null()), FULFILLMENT_SCHEMA)
    if bad.is_empty():
        return good, empty(REJECTED_FULFILLMENT_SCHEMA)
    if raw is not None:
        # The exact original record (label_url removed), for the few rows rejected.
        rows = bad["__row"].to_list()
        raw_text = [records_to_json([raw[i]])[1:-1] for i in rows]
        bad = bad.with_columns(raw=pl.Series(raw_text, dtype=pl.Utf8))
    rejected = conform(
        bad.rename({"__reason": "reason"}),
        REJECTED_FULFILLMENT_SCHEMA,
    )
    return good, rejected


def _decode(raw: pl.Series) -> tuple[pl.Series, list[str | None]]:
    """Decode JSON texts to :data:`_RECORD_DTYPE`; rows of the wrong structure are repaired
    (offending fields nulled) and their problem returned, so one bad record cannot stop a
    batch. Only the failing chunks are looked at row by row."""
    problems: list[str | None] = [None] * len(raw)
    try:
        return raw.str.json_decode(_RECORD_DTYPE), problems
    except pl.exceptions.PolarsError:
        pass
    texts = raw.to_list()
    chunk = 2048
    for start in range(0, len(texts), chunk):
        part = pl.Series(texts[start : start + chunk], dtype=pl.Utf8)
        try:
            part.str.json_decode(_RECORD_DTYPE)
            continue
        except pl.exceptions.PolarsError:
            pass
        for i in range(start, min(start + chunk, len(texts))):
            repaired, problem = _repair(texts[i])
            if problem is not None:
                texts[i], problems[i] = repaired, problem
    return pl.Series(texts, dtype=pl.Utf8).str.json_decode(_RECORD_DTYPE), problems


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _repair(text: str) -> tuple[str, str | None]:
    record = json.loads(text)
    issues = []
    for name in _TEXT_FIELDS:
        if not _is_scalar(record.get(name)):
            kind = "an object" if isinstance(record[name], dict) else "a list"
            issues.append(f"{name} is {kind}, not a value")
            record[name] = None
    info = record.get("tracking_info")
    if info is not None and not isinstance(info, dict):
        issues.append("tracking_info is not an object")
        record["tracking_info"] = None
    elif isinstance(info, dict):
        for name in _TRACKING_FIELDS:
            if not _is_scalar(info.get(name)):
                issues.append(f"tracking_info.{name} is not a value")
                info[name] = None
    lines = record.get("order_lines")
    if lines is not None and not (
        isinstance(lines, list)
        and all(
            isinstance(x, dict) and _is_scalar(x.get("name")) and _is_scalar(x.get("id"))
            for x in lines
        )
    ):
        issues.append("order_lines is not a list of objects")
        record["order_lines"] = None
    if not issues:
        return text, None
    return json.dumps(record), "; ".join(issues)


def fulfillments_frame(
    records: Iterable[Any],
    *,
    statuses: Statuses | None = None,
    service_map: ServiceAliases | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(frame, rejected)`` from OKC fulfillment records.

    ``statuses``: ``/v2/statuses`` records (or an ``{id: name}`` mapping) to fill ``status``.
    ``service_map``: a :class:`~okc_recon.carriers.services.ServiceMap`, or extra aliases
    (``{(carrier, alias): service}`` or a CSV path) added to the built-in map.

    >>> frame, rejected = fulfillments_frame(client.order_fulfillments(order_id))  # doctest: +SKIP
    """
    records = list(records)
    problems: list[str | None] = []
    texts: list[str] = []
    for record in records:
        if isinstance(record, dict):
            # label_url is not in _RECORD_DTYPE: decoding leaves it behind, no copy needed
            texts.append(json.dumps(record, default=_as_text_default))
            problems.append(None)
        else:
            texts.append("{}")
            problems.append(f"not a JSON object: {type(record).__name__}")
    decoded, structure = _decode(pl.Series("rec", texts, dtype=pl.Utf8))
    problem = [p or s for p, s in zip(problems, structure, strict=True)]
    rec = pl.col("rec")
    info = rec.struct.field("tracking_info")
    lines = rec.struct.field("order_lines")
    names = lines.list.eval(pl.element().struct.field("name")).list.drop_nulls().list.join("; ")
    text = pl.DataFrame({"rec": decoded}).select(
        fulfillment_id=_text(rec.struct.field("id")),
        **{
            name: _text(rec.struct.field(name))
            for name in _TEXT_FIELDS
            if name not in ("id", *_TRACKING_FIELDS)
        },
        **{
            name: pl.coalesce(_text(info.struct.field(name)), _text(rec.struct.field(name)))
            for name in _TRACKING_FIELDS
        },
        status=pl.lit(None, dtype=pl.Utf8),
        order_line_count=lines.list.len().cast(pl.Int32),
        order_line_names=pl.when(names == "").then(None).otherwise(names),
        __problem=pl.Series(problem, dtype=pl.Utf8),
        __row=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    typed = _typed(
        text,
        statuses=_statuses_map(statuses),
        service_map=_service_map(service_map),
        keep_status=False,
    )
    frame, rejected = _split(typed, records)
    if rejected.height:
        log.warning(
            "%d of %d fulfillment records could not be parsed (see the rejected frame); first: %s",
            rejected.height,
            len(records),
            rejected["reason"][0],
        )
    return frame, rejected


# -- files -------------------------------------------------------------------------------------


def _read_csv_text(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    missing = [c for c in ("fulfillment_id", "order_id") if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{path}: not a fulfillments CSV (no {', '.join(missing)} column); write one with "
            "write_fulfillments or `okc-recon pull --out FILE.csv`"
        )
    return frame


def load_fulfillments(
    path: str | Path,
    *,
    statuses: Statuses | None = None,
    service_map: ServiceAliases | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(frame, rejected)`` from a saved file: OKC API JSON (``.json``, ``.jsonl``), or the
    Parquet/CSV that :func:`write_fulfillments` writes."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    if suffix in (".json", ".jsonl", ".ndjson"):
        raw = path.read_bytes()
        try:
            if suffix == ".json":
                data: Any = json.loads(raw, parse_float=Decimal)
            else:
                data = [
                    json.loads(line, parse_float=Decimal)
                    for line in raw.splitlines()
                    if line.strip()
                ]
        except ValueError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
        try:
            records = fulfillment_records(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if (
            statuses is None
            and isinstance(data, Mapping)
            and isinstance(data.get("statuses"), list)
        ):
            statuses = data["statuses"]  # a saved pull carries the status names it resolved
        return fulfillments_frame(records, statuses=statuses, service_map=service_map)
    if suffix == ".parquet":
        frame = pl.read_parquet(path)
        missing = [c for c in FULFILLMENT_SCHEMA if c not in frame.columns]
        if missing:
            raise ConfigError(
                f"{path}: not a fulfillments Parquet file (missing {', '.join(missing)})"
            )
        frame = conform(frame, FULFILLMENT_SCHEMA)
        if statuses is not None:
            names = _statuses_map(statuses)
            frame = frame.with_columns(
                status=pl.col("status_id").replace_strict(names, default=None, return_dtype=pl.Utf8)
            )
        return frame, empty(REJECTED_FULFILLMENT_SCHEMA)
    if suffix == ".csv":
        text = _read_csv_text(path)
        raw_cols = list(text.columns)
        text = text.with_columns(
            *(_text(pl.col(c)).alias(c) for c in FULFILLMENT_SCHEMA if c in text.columns),
            *(
                pl.lit(None, dtype=pl.Utf8).alias(c)
                for c in FULFILLMENT_SCHEMA
                if c not in text.columns
            ),
        )
        count = pl.col("order_line_count").cast(pl.Int32, strict=False)
        text = text.with_columns(
            order_line_count=count,
            __problem=pl.when(pl.col("order_line_count").is_not_null() & count.is_null()).then(
                pl.format("order_line_count is not a whole number: {}", pl.col("order_line_count"))
            ),
            __row=pl.int_range(pl.len(), dtype=pl.Int64),
            raw=pl.struct(raw_cols).struct.json_encode(),
        )
        typed = _typed(
            text,
            statuses=_statuses_map(statuses),
            service_map=_service_map(service_map),
            keep_status=True,
        )
        return _split(typed, None)
    raise ConfigError(
        f"{path}: unknown fulfillments file type {suffix or '(none)'}; "
        "expected .json (OKC API JSON), .parquet or .csv"
    )


def read_fulfillments(
    path: str | Path,
    *,
    statuses: Statuses | None = None,
    service_map: ServiceAliases | None = None,
    on_rejected: Literal["warn", "raise"] = "warn",
) -> pl.DataFrame:
    """The fulfillments frame from saved OKC API JSON, or a Parquet/CSV ``pull`` wrote.

    JSON may be a list of fulfillment records or an API envelope (``{"fulfillments": [...]}``,
    ``{"fulfillment": {...}}``); a ``"statuses"`` list beside the records (``pull`` writes
    one) names the statuses when ``statuses`` is not given. Records that do not parse are
    left out with a warning naming how many and why (``on_rejected="raise"`` raises instead); use
    :func:`load_fulfillments` to get them as a frame.

    >>> frame = read_fulfillments("fulfillments-2025-10.parquet")  # doctest: +SKIP
    """
    frame, rejected = load_fulfillments(path, statuses=statuses, service_map=service_map)
    if rejected.height and on_rejected == "raise":
        raise ConfigError(
            f"{path}: {rejected.height} fulfillment records could not be parsed; first: "
            f"{rejected['reason'][0]} (use load_fulfillments to see them all)"
        )
    return frame


def write_fulfillments(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write a fulfillments frame as ``.parquet``, ``.csv`` or ``.json``; the path written.

    CSV keeps ids as text and money exact (``12.50``), datetimes as ISO 8601 UTC with ``Z``.
    JSON is API-shaped (``{"fulfillments": [...]}``, ``tracking_info`` nested, money as exact
    text) so :func:`read_fulfillments` reads it back. No label URL is ever written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    frame = conform(frame, FULFILLMENT_SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.write_parquet(path)
    elif suffix == ".csv":
        frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.6fZ")
    elif suffix == ".json":
        iso = "%Y-%m-%dT%H:%M:%S%.6fZ"
        names = pl.col("order_line_names")
        api = frame.select(
            id=pl.col("fulfillment_id"),
            order_id=pl.col("order_id"),
            consumer_id=pl.col("consumer_id"),
            status_id=pl.col("status_id"),
            status=pl.col("status"),
            tracking_info=pl.struct(*_TRACKING_FIELDS),
            shipment_order_id=pl.col("shipment_order_id"),
            shipment_order_number=pl.col("shipment_order_number"),
            shipping_net_charge=pl.col("shipping_net_charge").cast(pl.Utf8),
            shipping_charge_model=pl.col("shipping_charge_model"),
            weight=pl.col("weight"),
            **{name: pl.col(name).dt.strftime(iso) for name in _DATE_FIELDS},
            order_lines=pl.when(pl.col("order_line_count") == 0)
            .then(pl.lit([], dtype=pl.List(pl.Struct({"name": pl.Utf8}))))
            .when(names.is_not_null())
            .then(names.str.split("; ").list.eval(pl.struct(name=pl.element()))),
        )
        rows = api.select(pl.struct(pl.all()).struct.json_encode()).to_series()
        path.write_text(
            '{"fulfillments": [\n' + ",\n".join(rows.to_list()) + "\n]}\n", encoding="utf-8"
        )
    else:
        raise ConfigError(
            f"{path}: unknown output type {suffix or '(none)'}; use .parquet, .csv or .json"
        )
    return path
