from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from okc_recon.errors import ConfigError
from okc_recon.fulfillments import (
    fulfillments_frame,
    load_fulfillments,
    parse_datetime,
    read_fulfillments,
    records_to_json,
    write_fulfillments,
)
from okc_recon.schema import FULFILLMENT_SCHEMA, REJECTED_FULFILLMENT_SCHEMA

LABEL = "https://okc-labels.s3.amazonaws.com/l.pdf?X-Amz-Expires=900&X-Amz-Signature=f00d"


def record(**changes):
    base = {
        "id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
        "order_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "consumer_id": "f1e2d3c4-b5a6-7890-1234-567890abcdef",
        "status_id": 7,
        "delivery_date": "2024-01-20T14:30:00Z",
        "pickup_date": "2024-01-18T04:00:00-05:00",
        "tracking_info": {
            "shipping_carrier": "United Parcel Service",
            "shipping_method": "UP03",
            "tracking_number": "1z 999 aa1 0123456784",
            "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        },
        "shipment_order_id": "SO-12345",
        "shipment_order_number": "0001234567",
        "label_url": LABEL,
        "shipping_net_charge": Decimal("12.50"),
        "shipping_charge_model": "COST_PLUS",
        "weight": Decimal("2.5"),
        "created_at": "2024-01-17T10:00:00.250Z",
        "updated_at": "2024-01-18 09:00:00",
        "order_lines": [{"id": "ol-1", "name": "Monthly Pack"}, {"id": "ol-2", "name": "Sleep"}],
    }
    base.update(changes)
    return base


STATUSES = [
    {"id": 7, "name": "Shipped", "group": "fulfillment"},
    {"id": 3, "name": "Accepted", "group": "order"},
]


def test_schema_and_values():
    frame, rejected = fulfillments_frame([record()], statuses=STATUSES)
    assert frame.schema == pl.Schema(FULFILLMENT_SCHEMA)
    assert rejected.schema == pl.Schema(REJECTED_FULFILLMENT_SCHEMA)
    assert rejected.is_empty()
    row = frame.row(0, named=True)
    assert row == {
        "fulfillment_id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
        "order_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "consumer_id": "f1e2d3c4-b5a6-7890-1234-567890abcdef",
        "status_id": "7",
        "status": "Shipped",
        "shipping_carrier": "United Parcel Service",
        "carrier": "ups",
        "shipping_method": "UP03",
        "service": "ups_ground",
        "tracking_number": "1z 999 aa1 0123456784",
        "tracking_key": "1Z999AA10123456784",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "shipment_order_id": "SO-12345",
        "shipment_order_number": "0001234567",
        "shipping_net_charge": Decimal("12.50"),
        "shipping_charge_model": "cost_plus",
        "weight": 2.5,
        "pickup_date": datetime(2024, 1, 18, 9, 0, tzinfo=UTC),
        "delivery_date": datetime(2024, 1, 20, 14, 30, tzinfo=UTC),
        "created_at": datetime(2024, 1, 17, 10, 0, 0, 250000, tzinfo=UTC),
        "updated_at": datetime(2024, 1, 18, 9, 0, tzinfo=UTC),
        "order_line_count": 2,
        "order_line_names": "Monthly Pack; Sleep",
    }


def test_money_is_exact_from_any_json_number_form():
    records = [
        record(id="a", shipping_net_charge=Decimal("0.1")),
        record(id="b", shipping_net_charge=12),
        record(id="c", shipping_net_charge="7.005"),  # half away from zero
        record(id="d", shipping_net_charge=Decimal("1E+1")),
        record(id="e", shipping_net_charge=Decimal("123456789012.34")),
        record(id="f", shipping_net_charge=None),
        record(id="g", shipping_net_charge=0.1 + 0.2),  # a float: read through its repr
    ]
    frame, rejected = fulfillments_frame(records)
    assert rejected.is_empty()
    assert frame["shipping_net_charge"].to_list() == [
        Decimal("0.10"),
        Decimal("12.00"),
        Decimal("7.01"),
        Decimal("10.00"),
        Decimal("123456789012.34"),
        None,
        Decimal("0.30"),
    ]


def test_status_ids_as_int_or_text_and_unknown():
    records = [
        record(id="a", status_id=7),
        record(id="b", status_id="7"),
        record(id="c", status_id=99),
    ]
    frame, _ = fulfillments_frame(records, statuses={7: "Shipped"})
    assert frame["status_id"].to_list() == ["7", "7", "99"]
    assert frame["status"].to_list() == ["Shipped", "Shipped", None]
    frame, _ = fulfillments_frame(records)
    assert frame["status"].to_list() == [None, None, None]


def test_status_of_the_fulfillment_group_wins_on_id_clash():
    statuses = [
        {"id": 7, "name": "Shipped", "group": "fulfillment"},
        {"id": 7, "name": "On Hold", "group": "order"},
    ]
    frame, _ = fulfillments_frame([record()], statuses=statuses)
    assert frame["status"].to_list() == ["Shipped"]


def test_carrier_service_and_extendable_service_map():
    records = [
        record(id="a", tracking_info={"shipping_carrier": "FEDEX", "shipping_method": "FE10"}),
        record(
            id="b", tracking_info={"shipping_carrier": "DHL Express", "shipping_method": "XX99"}
        ),
        record(id="c", tracking_info={"shipping_carrier": "Acme Freight"}),
        record(
            id="d",
            tracking_info=None,
            shipping_carrier="USPS",
            tracking_number="9400100000000000000000",
        ),
    ]
    frame, rejected = fulfillments_frame(
        records, service_map={("dhl", "XX99"): "dhl_express_worldwide"}
    )
    assert rejected.is_empty()
    assert frame["carrier"].to_list() == ["fedex", "dhl", "other", "usps"]
    assert frame["service"].to_list() == ["fedex_ground", "dhl_express_worldwide", None, None]
    assert frame["tracking_number"].to_list() == [None, None, None, "9400100000000000000000"]


def test_tracking_key_is_null_for_excel_mangled_numbers():
    info = {"shipping_carrier": "FedEx", "tracking_number": "7.9464E+11"}
    frame, rejected = fulfillments_frame([record(tracking_info=info)])
    assert rejected.is_empty()  # data, not a parse failure: the checks report it
    assert frame["tracking_number"].to_list() == ["7.9464E+11"]
    assert frame["tracking_key"].to_list() == [None]


def test_order_lines_summary():
    records = [
        record(id="a", order_lines=[]),
        record(id="b", order_lines=None),
        record(id="c", order_lines=[{"id": "x", "name": None}, {"id": "y", "name": "Pack 2"}]),
        record(
            id="d",
            order_lines=[
                {
                    "id": 1,
                    "name": "Pack",
                    "children_tracking_numbers": "a,b",
                    "pouches": [{"name": "inner"}],
                }
            ],
        ),
    ]
    frame, rejected = fulfillments_frame(records)
    assert rejected.is_empty()
    assert frame["order_line_count"].to_list() == [0, None, 2, 1]
    assert frame["order_line_names"].to_list() == [None, None, "Pack 2", "Pack"]


def test_empty_strings_are_null_and_leading_zeros_kept():
    frame, _ = fulfillments_frame([record(consumer_id="  ", shipment_order_number="000042")])
    assert frame["consumer_id"].to_list() == [None]
    assert frame["shipment_order_number"].to_list() == ["000042"]


def test_unparseable_records_are_rejected_with_reasons():
    records = [
        record(id="ok"),
        record(id=None),
        record(id="bad-charge", shipping_net_charge="twelve"),
        record(id="bad-date", created_at="2024-02-30T00:00:00Z", delivery_date="soon"),
        record(id="bad-weight", weight="heavy"),
        record(id="bad-shape", weight={"value": 2}, tracking_info="FedEx"),
        ["not", "an", "object"],
        record(id="negative", weight=-3),  # data, kept for the checks
    ]
    frame, rejected = fulfillments_frame(records)
    assert frame["fulfillment_id"].to_list() == ["ok", "negative"]
    reasons = dict(
        zip(rejected["fulfillment_id"].to_list(), rejected["reason"].to_list(), strict=True)
    )
    assert reasons["bad-charge"] == "shipping_net_charge is not a number: twelve"
    assert reasons["bad-date"] == (
        "delivery_date is not a date-time: soon; "
        "created_at is not a date-time: 2024-02-30T00:00:00Z"
    )
    assert reasons["bad-weight"] == "weight is not a number: heavy"
    assert (
        reasons["bad-shape"] == "weight is an object, not a value; tracking_info is not an object"
    )
    assert rejected.filter(pl.col("fulfillment_id").is_null())["reason"].to_list() == [
        "missing id",
        "not a JSON object: list; missing id",
    ]
    assert rejected.height + frame.height == len(records)
    # raw is the record as received, without its label URL, with exact numbers
    raw = json.loads(rejected.filter(pl.col("fulfillment_id") == "bad-weight")["raw"].item())
    assert "label_url" not in raw
    assert raw["shipping_net_charge"] == 12.5
    assert (
        '"shipping_net_charge": 12.50'
        in rejected.filter(pl.col("fulfillment_id") == "bad-weight")["raw"].item()
    )
    assert all(LABEL not in text for text in rejected["raw"].to_list())


def test_label_url_never_enters_the_frame():
    frame, _ = fulfillments_frame([record()])
    assert "label_url" not in frame.columns
    assert LABEL not in str(frame.to_dicts())


def test_datetime_forms():
    texts = [
        "2024-01-20T14:30:00Z",
        "2024-01-20T14:30:00.123456+00:00",
        "2024-01-20T09:30:00-0500",
        "2024-01-20 14:30:00",
        "2024-01-20T14:30Z",
        "2024-01-20",
        "2024-01-20T14:30:00.5",
        "20/01/2024",
        None,
    ]
    out = pl.select(parse_datetime(pl.Series(texts, dtype=pl.Utf8))).to_series().to_list()
    utc = datetime(2024, 1, 20, 14, 30, tzinfo=UTC)
    assert out == [
        utc,
        utc.replace(microsecond=123456),
        utc,
        utc,
        utc,
        datetime(2024, 1, 20, tzinfo=UTC),
        utc.replace(microsecond=500000),
        None,
        None,
    ]


def test_many_records_with_one_malformed_stay_vectorised():
    records = [record(id=f"r{i:05d}", shipping_net_charge=Decimal(i) / 100) for i in range(5000)]
    records[4321]["order_lines"] = "Monthly Pack"  # wrong structure somewhere in the middle
    frame, rejected = fulfillments_frame(records)
    assert frame.height == 4999
    assert rejected["fulfillment_id"].to_list() == ["r04321"]
    assert rejected["reason"].to_list() == ["order_lines is not a list of objects"]
    assert frame["shipping_net_charge"].sum() == sum(
        Decimal(i) / 100 for i in range(5000)
    ) - Decimal("43.21")


def test_records_to_json_is_exact_and_drops_label_urls():
    text = records_to_json([record(shipping_net_charge=Decimal("0.10"), weight=Decimal("2.50"))])
    assert '"shipping_net_charge": 0.10' in text
    assert '"weight": 2.50' in text
    assert "label_url" not in text
    assert json.loads(text)[0]["id"] == record()["id"]


# -- files -----------------------------------------------------------------------------------


def sample_frame():
    records = [
        record(id="a"),
        record(id="b", shipping_net_charge=Decimal("0.05"), delivery_date=None, order_lines=[]),
        record(
            id="c",
            tracking_info={"shipping_carrier": "FedEx", "tracking_number": "012345678901"},
            weight=None,
        ),
    ]
    frame, rejected = fulfillments_frame(records, statuses=STATUSES)
    assert rejected.is_empty()
    return frame


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json"])
def test_write_read_round_trip(tmp_path, suffix):
    frame = sample_frame()
    path = write_fulfillments(frame, tmp_path / f"out{suffix}")
    assert path.exists()
    back = read_fulfillments(path, statuses=STATUSES)
    assert_frame_equal(back, frame)


def test_csv_keeps_ids_as_text_and_money_exact(tmp_path):
    path = write_fulfillments(sample_frame(), tmp_path / "f.csv")
    text = path.read_text()
    assert "0001234567" in text
    assert ",0.05," in text
    assert "2024-01-20T14:30:00.000000Z" in text


def test_read_api_json_shapes(tmp_path):
    records = [record(id="a"), record(id="b")]
    as_list = tmp_path / "list.json"
    as_list.write_text(records_to_json(records))
    envelope = tmp_path / "env.json"
    envelope.write_text('{"fulfillments": ' + records_to_json(records) + ', "next_cursor": null}')
    single = tmp_path / "one.json"
    single.write_text('{"fulfillment": ' + records_to_json(records[:1])[1:-1] + "}")
    lines = tmp_path / "lines.jsonl"
    lines.write_text("\n".join(records_to_json([r])[1:-1] for r in records) + "\n")
    assert read_fulfillments(as_list)["fulfillment_id"].to_list() == ["a", "b"]
    assert read_fulfillments(envelope)["fulfillment_id"].to_list() == ["a", "b"]
    assert read_fulfillments(single)["fulfillment_id"].to_list() == ["a"]
    assert read_fulfillments(lines)["fulfillment_id"].to_list() == ["a", "b"]
    assert read_fulfillments(envelope)["shipping_net_charge"].to_list() == [Decimal("12.50")] * 2


def test_read_reports_rejected_records(tmp_path, caplog):
    path = tmp_path / "f.json"
    path.write_text(records_to_json([record(id="a"), record(id="b", weight="x")]))
    assert read_fulfillments(path)["fulfillment_id"].to_list() == ["a"]
    assert "1 of 2 fulfillment records could not be parsed" in caplog.text
    with pytest.raises(ConfigError, match="1 fulfillment records could not be parsed"):
        read_fulfillments(path, on_rejected="raise")
    _, rejected = load_fulfillments(path)
    assert rejected["fulfillment_id"].to_list() == ["b"]


def test_csv_rows_that_do_not_parse_are_rejected(tmp_path):
    path = write_fulfillments(sample_frame(), tmp_path / "f.csv")
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",0.05,", ",five cents,")
    path.write_text("\n".join(lines) + "\n")
    frame, rejected = load_fulfillments(path)
    assert frame["fulfillment_id"].to_list() == ["a", "c"]
    assert rejected["reason"].to_list() == ["shipping_net_charge is not a number: five cents"]
    assert json.loads(rejected["raw"].item())["fulfillment_id"] == "b"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.json", "{not json", "not valid JSON"),
        ("x.json", '{"orders": []}', "not OKC fulfillments JSON"),
        ("x.json", "42", "not OKC fulfillments JSON"),
        ("x.csv", "a,b\n1,2\n", "not a fulfillments CSV"),
        ("x.txt", "", "unknown fulfillments file type .txt"),
    ],
)
def test_bad_inputs_are_config_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        read_fulfillments(path)


def test_missing_file_and_bad_output_type(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        read_fulfillments(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="unknown output type"):
        write_fulfillments(sample_frame(), tmp_path / "x.xlsx")
