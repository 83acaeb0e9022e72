"""API records as the cache keeps them: canonical JSON text, content hash, key fields.

A record is stored as JSON, keys in the order the API sent them, without ``label_url`` (at
any depth: it is a credential for 15 minutes, okc-api.md §5), with every
:class:`~decimal.Decimal` written as an exact JSON number, so reading it back with
``parse_float=Decimal`` gives the values the API sent, to the last digit. The SHA-256 of
that text names the version: the same record fetched twice is one version, any change
(other than a re-signed label URL) makes a new one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from okc_recon.config import Secret
from okc_recon.fulfillments import parse_datetime
from okc_recon.schema import UTC_DATETIME

__all__ = ["BATCH_SCHEMA", "batch_frame", "canonical_json", "load_record"]

_LABEL_KEY = "label_url"
_DECIMAL_MARK = "\ufdd0okc-store-decimal:"
_DECIMAL_RE = re.compile('"' + re.escape(_DECIMAL_MARK) + r'(-?[0-9.]+)"')

#: the key fields of a batch of records, beside their text and hash
BATCH_SCHEMA: dict[str, pl.DataType] = {
    "position": pl.Int64(),
    "sha256": pl.Utf8(),
    "fulfillment_id": pl.Utf8(),
    "order_id": pl.Utf8(),
    "status_id": pl.Utf8(),
    "updated_at": UTC_DATETIME,
    "record": pl.Utf8(),
}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # a marker the text pass below turns into a bare JSON number with every digit
        return _DECIMAL_MARK + format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, Secret):
        return None  # a LabelUrl (or any other secret) is never written
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be stored in the cache")


def _strip_labels(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_labels(v) for k, v in value.items() if k != _LABEL_KEY}
    if isinstance(value, list):
        return [_strip_labels(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    # keys in the order the API sent them: a record read back is the record received
    text = json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))
    return _DECIMAL_RE.sub(r"\1", text)


def canonical_json(record: Any) -> str | None:
    """The stored text of one record (``None`` for what is not a JSON object).

    >>> canonical_json({"id": "f1", "shipping_net_charge": Decimal("5.90"), "label_url": "…"})
    '{"id":"f1","shipping_net_charge":5.90}'
    """
    if not isinstance(record, dict):
        return None
    if _LABEL_KEY in record:
        record = {k: v for k, v in record.items() if k != _LABEL_KEY}
    text = _dumps(record)
    if f'"{_LABEL_KEY}"' in text:  # rare: a label URL deeper in the record
        text = _dumps(_strip_labels(record))
    return text


def load_record(text: str) -> Any:
    """A stored record as the client returns it (numbers with a fraction as ``Decimal``)."""
    return json.loads(text, parse_float=Decimal)


_KEYS = pl.Struct(
    {"id": pl.Utf8(), "order_id": pl.Utf8(), "status_id": pl.Utf8(), "updated_at": pl.Utf8()}
)


def _key_fields(texts: pl.Series) -> pl.DataFrame:
    """``id``, ``order_id``, ``status_id``, ``updated_at`` of each record, as text."""
    try:
        # one pass of Polars' JSON reader over the batch (numbers come back as their text)
        return texts.str.json_decode(_KEYS).struct.unnest()
    except pl.exceptions.PolarsError:
        # a key field holding an object or a list: read field by field, objects as JSON text
        frame = pl.DataFrame({"t": texts})
        return frame.select(
            **{name: pl.col("t").str.json_path_match(f"$.{name}") for name in _KEYS.to_schema()}
        )


def batch_frame(records: Sequence[Any]) -> pl.DataFrame:
    """One row per storable record (:data:`BATCH_SCHEMA`): its position in ``records``, text,
    hash and key fields. Records that are not JSON objects have no row."""
    texts = [canonical_json(r) for r in records]
    shas = [None if t is None else hashlib.sha256(t.encode()).hexdigest() for t in texts]
    frame = pl.DataFrame(
        {
            "position": pl.int_range(len(texts), dtype=pl.Int64, eager=True),
            "sha256": pl.Series(shas, dtype=pl.Utf8),
            "record": pl.Series(texts, dtype=pl.Utf8),
        }
    ).filter(pl.col("record").is_not_null())
    keys = _key_fields(frame["record"]).select(pl.all().str.strip_chars().replace("", None))
    return pl.concat([frame, keys], how="horizontal").select(
        "position",
        "sha256",
        fulfillment_id="id",
        order_id="order_id",
        status_id="status_id",
        updated_at=parse_datetime(pl.col("updated_at")),
        record="record",
    )
