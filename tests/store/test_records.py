"""How records are kept: no label URL at any depth, money to the last digit, key fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from okc_recon.api.client import LabelUrl
from okc_recon.store._records import batch_frame, canonical_json, load_record

LABEL = "https://okc-labels-prod.s3.us-west-2.amazonaws.com/l.pdf?X-Amz-Signature=abc"


def test_label_url_is_never_kept_at_any_depth() -> None:
    record = {
        "id": "f1",
        "label_url": LabelUrl(LABEL),
        "order_lines": [{"id": "l1", "label_url": LABEL, "name": "SOL-1"}],
        "extra": {"label_url": LABEL, "keep": 1},
    }
    text = canonical_json(record)
    assert text is not None
    assert "label_url" not in text
    assert "X-Amz" not in text
    assert json.loads(text) == {
        "id": "f1",
        "order_lines": [{"id": "l1", "name": "SOL-1"}],
        "extra": {"keep": 1},
    }
    assert "label_url" in record  # the caller's record is left as it was


def test_other_secrets_are_written_as_null() -> None:
    text = canonical_json({"id": "f1", "note": LabelUrl(LABEL)})
    assert text == '{"id":"f1","note":null}'


def test_money_stays_exact_and_key_order_is_kept() -> None:
    record = {"id": "f1", "shipping_net_charge": Decimal("12.50"), "weight": Decimal("0.1000")}
    text = canonical_json(record)
    assert text == '{"id":"f1","shipping_net_charge":12.50,"weight":0.1000}'
    back = load_record(text or "")
    assert back == record
    assert str(back["shipping_net_charge"]) == "12.50"


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
    )
)
def test_any_decimal_comes_back_identical(value: Decimal) -> None:
    back = load_record(canonical_json({"id": "f", "v": value}) or "")
    assert back["v"] == value
    assert format(back["v"], "f") == format(value, "f")


def test_what_is_not_an_object_is_not_stored() -> None:
    assert canonical_json(["a"]) is None
    assert canonical_json(None) is None
    frame = batch_frame([{"id": "f1"}, "junk", {"id": "f2"}])
    assert frame["position"].to_list() == [0, 2]


def test_batch_frame_reads_the_key_fields() -> None:
    frame = batch_frame(
        [
            {"id": "f1", "order_id": "o1", "status_id": 24, "updated_at": "2025-10-01T12:00:00Z"},
            {"id": 7, "order_id": " ", "updated_at": "not a date"},
            {"order_id": "o3", "updated_at": "2025-10-02T08:30:00.250+02:00"},
        ]
    )
    assert frame["fulfillment_id"].to_list() == ["f1", "7", None]
    assert frame["order_id"].to_list() == ["o1", None, "o3"]
    assert frame["status_id"].to_list() == ["24", None, None]
    assert frame["updated_at"].to_list() == [
        datetime(2025, 10, 1, 12, tzinfo=UTC),
        None,
        datetime(2025, 10, 2, 6, 30, 0, 250000, tzinfo=UTC),
    ]
    assert frame.schema["updated_at"] == pl.Datetime("us", "UTC")


def test_a_version_is_its_content_less_the_label_url() -> None:
    record = {"id": "f1", "status_id": 24, "updated_at": "2025-10-01T12:00:00Z"}

    def sha(**changes: object) -> str:
        return str(batch_frame([{**record, **changes}])["sha256"][0])

    # label URLs are signed afresh on every response: they must not make new versions
    assert sha() == sha(label_url=LabelUrl(LABEL)) == sha(label_url=LABEL + "x")
    assert sha() != sha(status_id=25)
    assert sha() != sha(updated_at="2025-10-01T12:00:01Z")
