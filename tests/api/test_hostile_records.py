"""Record shapes the references allow, through the whole pull (HTTP → JSON → frame): every
record comes back parsed, or rejected with its reason; values are exact."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest

from okc_recon.api import pull_fulfillments
from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Secret, Settings
from okc_recon.schema import FULFILLMENT_SCHEMA
from tests.api.hostile_server import MISSING, STATIC_TOKEN, HostileOKC, Reply, fid, oid, record

ORDER = "GET /v2/orders/{id}/fulfillments"
SETTINGS = Settings(
    base_url="https://na1-hostile.okcapsule.test",
    access_token=Secret(STATIC_TOKEN),
    max_attempts=3,
    backoff_base=0.001,
    backoff_cap=0.002,
    page_size=50,
)


def pull(*variants: dict):
    """Pull one order whose fulfillments are ``record(i)`` changed by each variant."""
    built = []
    for i, variant in enumerate(variants):
        rec = record(i, order=1, **variant)
        built.append({k: v for k, v in rec.items() if v is not MISSING})
    okc = HostileOKC(records=built)
    result = pull_fulfillments([oid(1)], settings=SETTINGS, transport=okc.transport, progress=False)
    assert result.ok, result.summary()
    assert result.fulfillments.schema == pl.Schema(FULFILLMENT_SCHEMA)
    got = {*result.fulfillments["fulfillment_id"], *result.rejected["fulfillment_id"]}
    assert got == {fid(i) for i in range(len(variants))}
    frame = result.fulfillments.sort("fulfillment_id")
    return frame, result.rejected


def column(frame: pl.DataFrame, name: str) -> list:
    return frame[name].to_list()


def test_status_id_as_int_uuid_and_numeric_text():
    uuid = "9a1b2c3d-0000-4000-8000-000000000004"
    frame, rejected = pull({"status_id": 6}, {"status_id": uuid}, {"status_id": "6"})
    assert rejected.is_empty()
    assert column(frame, "status_id") == ["6", uuid, "6"]
    assert column(frame, "status") == ["Shipped", "Delivered", "Shipped"]


def test_charges_in_every_form():
    frame, rejected = pull(
        {"shipping_net_charge": 12.5},
        {"shipping_net_charge": "12.50"},
        {"shipping_net_charge": "$12.50"},
        {"shipping_net_charge": None},
        {"shipping_net_charge": 12.345},  # rounded half away from zero, like parse_money
        {"shipping_net_charge": 0.1 + 0.2},  # 0.30000000000000004 on the wire
        {"shipping_net_charge": "1,234.56"},
        {"shipping_net_charge": 7},
    )
    assert rejected.is_empty()
    assert column(frame, "shipping_net_charge") == [
        Decimal("12.50"),
        Decimal("12.50"),
        Decimal("12.50"),
        None,
        Decimal("12.35"),
        Decimal("0.30"),
        Decimal("1234.56"),
        Decimal("7.00"),
    ]


def test_a_charge_that_is_not_money_is_rejected_with_the_reason():
    frame, rejected = pull({}, {"shipping_net_charge": "twelve"})
    assert frame.height == 1
    assert rejected["reason"].to_list() == ["shipping_net_charge is not a number: twelve"]


def test_weight_as_number_text_or_null():
    frame, rejected = pull({"weight": 2.5}, {"weight": "2.5"}, {"weight": None}, {"weight": 3})
    assert rejected.is_empty()
    assert column(frame, "weight") == [2.5, 2.5, None, 3.0]


def test_charge_model_in_any_case_or_missing():
    frame, _ = pull(
        {"shipping_charge_model": "FLAT_RATE"},
        {"shipping_charge_model": "cost_plus"},
        {"shipping_charge_model": "Cost Plus"},
        {"shipping_charge_model": None},
        {"shipping_charge_model": MISSING},
    )
    assert column(frame, "shipping_charge_model") == [
        "flat_rate",
        "cost_plus",
        "cost_plus",
        None,
        None,
    ]


def test_dates_in_every_form():
    when = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
    epoch = int(when.timestamp())
    frame, rejected = pull(
        {"pickup_date": "2025-10-01T09:00:00Z"},
        {"pickup_date": "2025-10-01T09:00:00+00:00"},
        {"pickup_date": "2025-10-01T02:00:00-07:00"},
        {"pickup_date": "2025-10-01T09:00:00.000Z"},
        {"pickup_date": "2025-10-01T09:00:00.000000000Z"},
        {"pickup_date": "2025-10-01T11:00:00+0200"},
        {"pickup_date": "2025-10-01 09:00:00"},
        {"pickup_date": "2025-10-01 09:00:00 UTC"},
        {"pickup_date": epoch},
        {"pickup_date": epoch * 1000},
        {"pickup_date": str(epoch)},
    )
    assert rejected.is_empty(), rejected["reason"].to_list()
    assert column(frame, "pickup_date") == [when] * 11
    frame, _ = pull({"delivery_date": "2025-10-03"})
    assert column(frame, "delivery_date") == [datetime(2025, 10, 3, tzinfo=UTC)]


def test_fractions_of_a_second_are_kept():
    frame, _ = pull({"created_at": "2025-10-01T09:00:00.123Z"}, {"created_at": 1759309200.5})
    assert column(frame, "created_at") == [
        datetime(2025, 10, 1, 9, 0, 0, 123000, tzinfo=UTC),
        datetime(2025, 10, 1, 9, 0, 0, 500000, tzinfo=UTC),
    ]


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01T00:00:00Z", "31/10/2025", "", True])
def test_invalid_dates_are_rejected_with_the_reason(bad):
    frame, rejected = pull({}, {"pickup_date": bad})
    if bad == "":
        assert rejected.is_empty()  # empty text is no date, not a bad one
        assert column(frame, "pickup_date")[1] is None
        return
    assert rejected["reason"][0].startswith("pickup_date is not a date-time")
    assert frame.height == 1


def test_tracking_info_missing_null_or_flattened():
    flat = {
        "tracking_info": None,
        "shipping_carrier": "UPS",
        "shipping_method": "Ground",
        "tracking_number": "1Z999AA10123456784",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    }
    frame, rejected = pull(flat, {"tracking_info": MISSING}, {"tracking_info": {}})
    assert rejected.is_empty()
    assert column(frame, "carrier") == ["ups", None, None]
    assert column(frame, "shipping_method") == ["Ground", None, None]
    assert column(frame, "tracking_number") == ["1Z999AA10123456784", None, None]
    assert column(frame, "tracking_key")[0] == "1Z999AA10123456784"


def test_order_lines_missing_null_empty_or_rich():
    rich = [
        {
            "id": "ol-1",
            "order_id": oid(1),
            "name": "SOL-00020",
            "supplement_pack_name": "Sleep",
            "duration": 30,
            "total": 49.5,
            "warnings": [{"code": "X"}],
            "children_tracking_numbers": "1,2",
        },
        {"id": "ol-2", "name": 20},
    ]
    frame, rejected = pull(
        {"order_lines": MISSING}, {"order_lines": None}, {"order_lines": []}, {"order_lines": rich}
    )
    assert rejected.is_empty()
    assert column(frame, "order_line_count") == [None, None, 0, 2]
    assert column(frame, "order_line_names") == [None, None, None, "SOL-00020; 20"]


def test_unknown_fields_of_any_shape_are_ignored():
    frame, rejected = pull(
        {
            "external_fulfillment_id": "gid://shopify/Fulfillment/1",
            "in_manifest": True,
            "crm_id": None,
            "extra": {"deep": [{"a": [1, 2, {"b": None}]}]},
            "shipper_okc_product_id": 17,
        }
    )
    assert rejected.is_empty()
    assert frame.height == 1


def test_shipment_order_number_keeps_what_came():
    frame, _ = pull(
        {"shipment_order_number": 1234567890},
        {"shipment_order_number": "0001234567"},
        {"shipment_order_number": 12345678901234567890},
        {"shipment_order_id": 42},
    )
    assert column(frame, "shipment_order_number")[:3] == [
        "1234567890",
        "0001234567",
        "12345678901234567890",
    ]
    assert column(frame, "shipment_order_id")[3] == "42"


def test_non_ascii_text_is_kept_exactly():
    name = "Zoë's Nachtruhe – 睡眠 📦"
    frame, _ = pull(
        {"order_lines": [{"id": "x", "name": name}], "consumer_id": "Ærøskøbing-ĳ"},
    )
    assert column(frame, "order_line_names") == [name]
    assert column(frame, "consumer_id") == ["Ærøskøbing-ĳ"]


def test_a_huge_record_parses_quickly():
    lines = [{"id": f"ol-{n}", "name": f"Pack {n}", "notes": "x" * 200} for n in range(5000)]
    started = time.perf_counter()
    frame, rejected = pull({"order_lines": lines, "notes": "y" * 2_000_000}, {})
    assert time.perf_counter() - started < 10
    assert rejected.is_empty()
    assert column(frame, "order_line_count") == [5000, 1]


def test_single_fulfillment_enveloped_or_bare():
    for envelope in (True, False):
        okc = HostileOKC(records=[record(3)], single_envelope=envelope)

        async def one(okc=okc):
            async with AsyncOKCClient(SETTINGS, transport=okc.transport) as client:
                return await client.fulfillment(fid(3))

        got = asyncio.run(one())
        assert got["id"] == fid(3)
        assert got["shipping_net_charge"] == Decimal("12.5")


def test_label_urls_never_reach_the_frame_or_a_written_file(tmp_path):
    okc = HostileOKC(records=[record(i, order=1) for i in range(3)])
    result = pull_fulfillments([oid(1)], settings=SETTINGS, transport=okc.transport, progress=False)
    texts = [str(result.fulfillments.to_dicts()), repr(result)]
    for suffix in (".json", ".csv", ".parquet"):
        texts.append(result.write(tmp_path / f"out{suffix}").read_bytes().decode("latin-1"))
    assert not any("X-Amz-Signature" in t or "amazonaws" in t for t in texts)
    assert json.loads((tmp_path / "out.json").read_text())["fulfillments"][0]["id"] == fid(0)


def test_a_record_that_is_not_an_object_is_rejected_not_dropped():
    okc = HostileOKC(records=[record(0, order=1)])
    okc.faults[ORDER] = lambda req, n: Reply(
        200, json={"fulfillments": [okc.records[0], "garbage", 17, None], "next_cursor": None}
    )
    result = pull_fulfillments([oid(1)], settings=SETTINGS, transport=okc.transport, progress=False)
    assert result.fulfillments.height == 1
    assert result.rejected.height == 3
    assert all(r.startswith("not a JSON object") for r in result.rejected["reason"])
