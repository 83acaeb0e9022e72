import random

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from okc_recon.carriers.tracking import (
    CARRIER_FORMATS,
    FORMATS,
    KINDS,
    NO_CHECK_DIGIT,
    carrier_mismatch,
    check_digit,
    detect_carrier,
    detect_carrier_one,
    is_float_artifact,
    is_float_artifact_one,
    is_valid_one,
    make_barcode_forms,
    make_tracking_number,
    tracking_format,
    tracking_format_one,
    tracking_key,
    tracking_key_one,
    valid_for_carrier,
)

# The published test numbers (jkeen/tracking_number_data, carrier-formats §3.2–3.5, §3.8):
# (carrier, raw as published, format of its key)
PUBLISHED_VALID = [
    ("ups", "1Z5R89390357567127", "ups_1z"),
    ("ups", "1Z879E930346834440", "ups_1z"),
    ("ups", "1Z410E7W0392751591", "ups_1z"),
    ("ups", "1Z8V92A70367203024", "ups_1z"),
    ("fedex", "986578788855", "fedex_express_12"),
    ("fedex", "477179081230", "fedex_express_12"),
    ("fedex", "799531274483", "fedex_express_12"),
    ("fedex", "790535312317", "fedex_express_12"),
    ("fedex", " 7 9 0 5 3 5 3 1 2 3 1 7 ", "fedex_express_12"),
    ("fedex", "974367662710", "fedex_express_12"),
    ("fedex", "1001921334250001000300779017972697", "fedex_express_12"),
    ("fedex", "1001921380360001000300639585804382", "fedex_express_12"),
    ("fedex", "1001901781990001000300617767839437", "fedex_express_12"),
    ("fedex", "1002297871540001000300790695517286", "fedex_express_12"),
    ("fedex", "9622001900000000000000776632517510", "fedex_express_12"),
    ("fedex", "9622001560000000000000794808390594", "fedex_express_12"),
    ("fedex", "9622001560001234567100794808390594", "fedex_express_12"),
    ("fedex", "9632001560123456789900794808390594", "fedex_express_12"),
    ("fedex", "61299998820821171811", "fedex_smartpost_20"),
    ("fedex", " 6 1 2 9 9 9 9 8 8 2 0 8 2 1 1 7 1 8 1 1 ", "fedex_smartpost_20"),
    ("fedex", "9261292700768711948021", "usps_impb_22"),
    ("fedex", "0414 4176 0228 964", "fedex_ground_15"),
    ("fedex", "5682 8361 0012 000", "fedex_ground_15"),
    ("fedex", "5682 8361 0012 734", "fedex_ground_15"),
    ("fedex", "9611020987654312345672", "fedex_ground_15"),
    ("fedex", "00 0123 4500 0000 0027", "fedex_sscc_18"),
    ("usps", "0307 1790 0005 2348 3741", "usps_legacy_20"),
    ("usps", "7112 3456 7891 2345 6787", "usps_legacy_20"),
    ("usps", "7196 9010 7560 0307 7385", "usps_impb_20"),
    ("usps", "420 22153 9101026837331000039521", "usps_impb_22"),
    ("usps", "4201002334249200190132607600833457", "usps_impb_22"),
    ("usps", "4201028200009261290113185417468510", "usps_impb_22"),
    ("usps", "9505 5110 6960 5048 6006 24", "usps_impb_22"),
    ("usps", "9101 1234 5678 9000 0000 13", "usps_impb_22"),
    ("usps", "9400 1112 0108 0805 4830 16", "usps_impb_22"),
    ("usps", "9361 2898 7870 0317 6337 95", "usps_impb_22"),
    ("usps", "9405803699300124287899", "usps_impb_22"),
    ("usps", "92748931507708513018050063", "usps_impb_26"),
    ("usps", "RB123456785GB", "usps_s10"),
    ("usps", "EA123456785US", "usps_s10"),
    ("dhl", "3318810025", "dhl_express_10"),
    ("dhl", "8487135506", "dhl_express_10"),
    ("dhl", "1099255990", "dhl_express_10"),
    ("dhl", "3821724944", "dhl_express_10"),
    ("dhl", "3318810036", "dhl_express_10"),
    ("dhl", "3318810014", "dhl_express_10"),
    ("dhl", "73891051146", "dhl_express_11"),
    ("dhl", "JJD0099999999", "dhl_express_piece"),
    ("dhl", "JVGL0999999990", "dhl_express_piece"),
    ("dhl", "GM2951173225174494", "dhl_ecommerce"),
    ("dhl", "GM 2 9 5 117 32 25 1 7 44 9 4", "dhl_ecommerce"),
    ("dhl", "GM295117494011169042", "dhl_ecommerce"),
]

# (carrier the number is published as invalid for, raw)
PUBLISHED_INVALID = [
    ("ups", "1Z5R89390357567128"),
    ("ups", "2Z5R89390357567127"),
    ("ups", "1A5R89390357567127"),
    ("ups", "1Z1111111111111111"),
    ("fedex", "996578788855"),
    ("fedex", "1001901781990001000300617767839438"),
    ("fedex", "9261292700768711948020"),
    ("fedex", "5682 8361 0012 732"),
    ("fedex", "000000000000000001"),
    ("fedex", "9600000000000000000001"),
    ("fedex", "9622001560001234567100794808390595"),
    ("fedex", "9622001560001234567100794808390597"),
    ("usps", "0307 1790 0005 2348 3742"),
    ("usps", "4201028200009261290113185417468511"),
    ("usps", "61299998820821171811"),
    ("usps", "9200000000000000000000"),
    ("usps", "420000000000000000000000000000"),
    ("usps", "420000009200000000000000000000"),
    ("usps", "RB123456786US"),
    ("dhl", "3318810010"),
    ("dhl", "3318810034"),
    ("dhl", "3318810011"),
    ("dhl", "XJD0099999998"),
    ("dhl", "GS295117494011169041"),
    ("dhl", "GR295117494011169045"),
]

# raw scanned barcode -> the tracking key (carrier-formats §3.3, §3.4, §3.7)
BARCODES = [
    ("420 22153 9101026837331000039521", "9101026837331000039521"),
    ("4201002334249200190132607600833457", "9200190132607600833457"),
    ("4201028200009261290113185417468510", "9261290113185417468510"),
    ("1001921334250001000300779017972697", "779017972697"),
    ("9622001560001234567100794808390594", "794808390594"),
    ("9611020987654312345672", "987654312345672"),
]

FLOAT_ARTIFACTS = [
    "7.9464E+11",
    "7.94644790148e+11",
    "794644790148.0",
    "794644790148.00",
    " 7,9464E+11 ",
    "9.40011120108081E+21",
    "794,644,790,148",
]


# --- scalar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("carrier", "raw", "fmt"), PUBLISHED_VALID)
def test_published_valid_numbers_pass(carrier, raw, fmt):
    key = tracking_key_one(raw)
    assert tracking_format_one(key) == fmt
    assert is_valid_one(key, carrier)
    assert is_valid_one(key)


@pytest.mark.parametrize(("carrier", "raw"), PUBLISHED_INVALID)
def test_published_invalid_numbers_fail(carrier, raw):
    assert not is_valid_one(tracking_key_one(raw), carrier)


@pytest.mark.parametrize(("raw", "key"), BARCODES)
def test_barcodes_reduce_to_the_tracking_number(raw, key):
    assert tracking_key_one(raw) == key


@pytest.mark.parametrize(
    ("kind", "serial", "expected"),
    [
        ("ups_1z", "5R8939035756712", 7),
        ("fedex_express_12", "98657878885", 5),
        ("fedex_express_34", "0077901797269", 7),
        ("fedex_ground_15", "04144176022896", 4),
        ("fedex_ground_96", "961102098765431234567", 2),
        ("fedex_sscc_18", "00012345000000002", 7),
        ("fedex_smartpost_20", "6129999882082117181", 1),
        ("usps_legacy_20", "0307179000052348374", 1),
        ("usps_impb_20", "7196901075600307738", 5),
        ("usps_impb_22", "940011120108080548301", 6),
        ("usps_impb_26", "9274893150770851301805006", 3),
        ("usps_s10", "12345678", 5),
        ("dhl_express_10", "331881002", 5),
        ("dhl_express_11", "7389105114", 6),
    ],
)
def test_check_digit(kind, serial, expected):
    assert check_digit(kind, serial) == expected


def test_s10_check_digit_maps_10_and_11():
    # r = sum mod 11: r = 1 gives 10 -> 0, r = 0 gives 11 -> 5
    assert check_digit("usps_s10", "00000000") == 5
    assert check_digit("usps_s10", "02000000") == 0  # 2 × 6 = 12, r = 1


def test_check_digit_rejects_unknown_kinds_and_bad_serials():
    with pytest.raises(ValueError, match="no check digit rule"):
        check_digit("ontrac", "123")
    with pytest.raises(ValueError, match="serial must match"):
        check_digit("fedex_express_12", "1234")
    with pytest.raises(ValueError, match="serial must match"):
        check_digit("ups_1z", "5r8939035756712")


def test_fedex_34_serial_rule_agrees_with_the_12_digit_rule_on_real_labels():
    for raw in ("1001921334250001000300779017972697", "9622001560001234567100794808390594"):
        serial, check = raw[-14:-1], int(raw[-1])
        assert check_digit("fedex_express_34", serial) == check
        assert check_digit("fedex_express_12", raw[-12:-1]) == check


@pytest.mark.parametrize("raw", FLOAT_ARTIFACTS)
def test_float_artifacts_are_flagged_and_have_no_key(raw):
    assert is_float_artifact_one(raw)
    assert tracking_key_one(raw) is None


@pytest.mark.parametrize("raw", ["794644790148", "1Z5R89390357567127", "041441760228964", None])
def test_real_numbers_are_not_float_artifacts(raw):
    assert not is_float_artifact_one(raw)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("041441760228964", "041441760228964"),
        ("0307-1790-0005-2348-3741", "03071790000523483741"),
        ("\ufeff1z5r8939\u200b0357567127\u00a0", "1Z5R89390357567127"),
        ("  ", None),
        ("", None),
        (None, None),
    ],
)
def test_tracking_key_one(raw, key):
    assert tracking_key_one(raw) == key


def test_detect_carrier_one():
    assert detect_carrier_one("1Z5R89390357567127") == "ups"
    assert detect_carrier_one("986578788855") == "fedex"
    assert detect_carrier_one("041441760228964") == "fedex"
    assert detect_carrier_one("9400111201080805483016") == "usps"
    assert detect_carrier_one("EA123456785US") == "usps"
    assert detect_carrier_one("RB123456785GB") is None  # S10 of another post
    assert detect_carrier_one("3318810025") == "dhl"
    assert detect_carrier_one("61299998820821171811") is None  # 20 digits: ambiguous
    assert detect_carrier_one("000123450000000027") is None  # SSCC: any carrier
    assert detect_carrier_one("996578788855") is None  # invalid
    assert detect_carrier_one(None) is None


def test_carrier_rules():
    assert set(CARRIER_FORMATS) == {"fedex", "ups", "usps", "dhl"}
    assert set().union(*CARRIER_FORMATS.values()) == set(FORMATS)
    assert {"dhl_express_piece", "dhl_ecommerce"} == NO_CHECK_DIGIT
    # IMpb numbers are legitimate for FedEx SmartPost and UPS SurePost parcels (§3.6)
    assert is_valid_one("9261292700768711948021", "fedex")
    assert is_valid_one("9261292700768711948021", "ups")
    assert not is_valid_one("1Z5R89390357567127", "fedex")
    assert not is_valid_one("986578788855", "other")


# --- generation --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_generated_numbers_of_every_kind_validate(kind):
    carrier, fmt = KINDS[kind]
    rng = random.Random(kind)
    for _ in range(200):
        number = make_tracking_number(carrier, rng, kind)
        assert tracking_key_one(number) == number
        assert tracking_format_one(number) == fmt
        assert is_valid_one(number, carrier)


@pytest.mark.parametrize("kind", [k for k, (_, fmt) in KINDS.items() if fmt not in NO_CHECK_DIGIT])
def test_a_changed_check_digit_fails(kind):
    carrier, fmt = KINDS[kind]
    rng = random.Random(kind)
    for _ in range(50):
        number = make_tracking_number(carrier, rng, kind)
        at = 10 if fmt == "usps_s10" else len(number) - 1
        for digit in "0123456789":
            if digit != number[at]:
                changed = number[:at] + digit + number[at + 1 :]
                assert tracking_format_one(changed) != fmt


@pytest.mark.parametrize("carrier", ["fedex", "ups", "usps", "dhl"])
def test_generation_is_deterministic_and_defaults_to_the_carriers_formats(carrier):
    first = [make_tracking_number(carrier, random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1
    rng = random.Random(7)
    numbers = [make_tracking_number(carrier, rng) for _ in range(100)]
    assert len(set(numbers)) == 100
    assert all(is_valid_one(n, carrier) and detect_carrier_one(n) == carrier for n in numbers)


def test_ups_service_code():
    rng = random.Random(3)
    number = make_tracking_number("ups", rng, "ups_1z", service_code="A8")
    assert number[8:10] == "A8"
    assert tracking_format_one(number) == "ups_1z"
    with pytest.raises(ValueError, match="service code"):
        make_tracking_number("ups", rng, "ups_1z", service_code="003")
    with pytest.raises(ValueError, match="ups_1z"):
        make_tracking_number("fedex", rng, "fedex_express_12", service_code="03")


def test_generation_rejects_unknown_carriers_and_foreign_kinds():
    with pytest.raises(ValueError, match="carrier"):
        make_tracking_number("ontrac", random.Random(1))
    with pytest.raises(ValueError, match="not a fedex"):
        make_tracking_number("fedex", random.Random(1), "ups_1z")


@pytest.mark.parametrize("kind", list(KINDS))
def test_barcode_forms_reduce_to_the_number(kind):
    carrier, fmt = KINDS[kind]
    rng = random.Random(kind)
    expect_forms = fmt.startswith(("usps_impb", "usps_legacy", "fedex_smartpost", "fedex_express"))
    expect_forms = expect_forms or fmt == "fedex_ground_15"
    for _ in range(50):
        number = make_tracking_number(carrier, rng, kind)
        forms = make_barcode_forms(number)
        assert bool(forms) == expect_forms
        for form in forms:
            assert form != number
            assert tracking_key_one(form) == number


def test_barcode_forms_use_the_given_zip():
    assert make_barcode_forms("9400111201080805483016", zip_code="10023-3424") == [
        "420100239400111201080805483016",
        "4201002334249400111201080805483016",
    ]
    assert make_barcode_forms("9400111201080805483016", zip_code="10023") == [
        "420100239400111201080805483016"
    ]
    with pytest.raises(ValueError, match="ZIP"):
        make_barcode_forms("9400111201080805483016", zip_code="1002")
    with pytest.raises(ValueError, match="not a valid"):
        make_barcode_forms("996578788855")


# --- expressions -------------------------------------------------------------------------------


def _evaluate(raw: list[str | None], carrier: list[str | None] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"raw": raw, "carrier": carrier or [None] * len(raw)},
        schema={"raw": pl.Utf8, "carrier": pl.Utf8},
    )
    keyed = frame.with_columns(
        key=tracking_key(pl.col("raw")), artifact=is_float_artifact(pl.col("raw"))
    )
    return keyed.with_columns(
        format=tracking_format(pl.col("key")),
        valid=valid_for_carrier(pl.col("key"), pl.col("carrier")),
        detected=detect_carrier(pl.col("key")),
        mismatch=carrier_mismatch(pl.col("key"), pl.col("carrier")),
    )


def test_expressions_on_the_published_valid_numbers():
    carriers, raws, formats = map(list, zip(*PUBLISHED_VALID, strict=True))
    out = _evaluate(raws, carriers)
    assert out["format"].to_list() == formats
    assert out["valid"].to_list() == [True] * len(raws)
    assert not out["mismatch"].any()


def test_expressions_on_the_published_invalid_numbers():
    carriers, raws = map(list, zip(*PUBLISHED_INVALID, strict=True))
    out = _evaluate(raws, carriers)
    assert out["valid"].to_list() == [False] * len(raws)


def test_expressions_reduce_barcodes_and_flag_float_artifacts():
    raws, keys = map(list, zip(*BARCODES, strict=True))
    assert _evaluate(raws)["key"].to_list() == keys
    out = _evaluate([*FLOAT_ARTIFACTS, "794644790148", None])
    assert out["artifact"].to_list() == [True] * len(FLOAT_ARTIFACTS) + [False, None]
    assert out["key"].to_list() == [None] * len(FLOAT_ARTIFACTS) + ["794644790148", None]


def test_keys_keep_leading_zeros_and_come_from_any_dtype():
    frame = pl.DataFrame(
        {"text": ["041441760228964", "00 0123 4500 0000 0027"], "number": [1, 2]},
        schema={"text": pl.Utf8, "number": pl.Int64},
    )
    out = frame.select(tracking_key(pl.col("text")), tracking_key(pl.col("number")))
    assert out["text"].to_list() == ["041441760228964", "000123450000000027"]
    assert out["number"].to_list() == ["1", "2"]
    floats = pl.DataFrame({"id": [794644790148.0]}).select(is_float_artifact(pl.col("id")))
    assert floats["id"].to_list() == [True]


def test_expressions_keep_names_and_work_lazily_and_on_empty_frames():
    frame = pl.DataFrame(
        {"tracking": ["1Z5R89390357567127", "986578788855"], "carrier": ["ups", "ups"]}
    )
    lazy = frame.lazy().with_columns(
        tracking_key(pl.col("tracking")).alias("key"),
        valid_for_carrier(pl.col("tracking"), pl.col("carrier")).alias("valid"),
        carrier_mismatch(pl.col("tracking"), pl.col("carrier")).alias("mismatch"),
    )
    expected = frame.with_columns(
        key=pl.Series(["1Z5R89390357567127", "986578788855"]),
        valid=pl.Series([True, False]),
        mismatch=pl.Series([False, True]),
    )
    assert_frame_equal(lazy.collect(), expected)
    assert frame.select(tracking_format(pl.col("tracking"))).columns == ["tracking"]
    assert frame.select(valid_for_carrier(pl.col("tracking"), pl.col("carrier"))).columns == [
        "tracking"
    ]
    empty = frame.clear().select(
        tracking_key(pl.col("tracking")).alias("key"),
        tracking_format(pl.col("tracking")).alias("format"),
        valid_for_carrier(pl.col("tracking"), pl.col("carrier")).alias("valid"),
    )
    assert empty.schema == {"key": pl.Utf8, "format": pl.Utf8, "valid": pl.Boolean}


def test_valid_for_carrier_overlaps_and_unknown_carriers():
    key = "9261292700768711948021"  # IMpb: USPS, and SmartPost / SurePost / DHL eCommerce
    carriers = ["usps", "fedex", "ups", "dhl", None, "other"]
    out = _evaluate([key] * len(carriers), carriers)
    assert out["valid"].to_list() == [True, True, True, True, True, None]
    assert not out["mismatch"].any()
    out = _evaluate([None, "996578788855"], ["fedex", None])
    assert out["valid"].to_list() == [None, False]


def test_detect_carrier_and_carrier_mismatch():
    raws = [
        "1Z5R89390357567127",
        "EA123456785US",
        "RB123456785GB",
        "3318810025",
        "61299998820821171811",
    ]
    out = _evaluate(raws, ["fedex", "fedex", "fedex", "usps", "usps"])
    assert out["detected"].to_list() == ["ups", "usps", None, "dhl", None]
    # a valid 1Z declared FedEx, a USPS S10 declared FedEx, a DHL waybill declared USPS
    assert out["mismatch"].to_list() == [True, True, False, True, False]


# Text as carrier files and OKC carry it: digits, letters, separators, Excel debris, and a few
# non-ASCII characters whose Unicode properties Python and Rust agree on.
_ALPHABET = "0123456789" * 3 + "AEGJMSUZaez" + " -.,+E\t" + "\u00a0\u200b\ufeff\u2013\u2212éß"
_junk = st.text(alphabet=_ALPHABET, max_size=40)


@st.composite
def _raw_numbers(draw: st.DrawFn) -> str | None:
    kind = draw(st.sampled_from(sorted(KINDS)))
    carrier = KINDS[kind][0]
    number = make_tracking_number(carrier, random.Random(draw(st.integers(0, 2**32))), kind)
    number = draw(st.sampled_from([number, *make_barcode_forms(number)]))
    how = draw(st.sampled_from(["as is", "spaced", "lower", "digit changed", "cut", "float"]))
    if how == "spaced":
        return " - ".join(number[i : i + 4] for i in range(0, len(number), 4))
    if how == "lower":
        return number.lower()
    if how == "digit changed":
        at = draw(st.integers(0, len(number) - 1))
        return number[:at] + draw(st.sampled_from("0123456789")) + number[at + 1 :]
    if how == "cut":
        return number[: draw(st.integers(0, len(number)))]
    if how == "float" and number.isdigit():
        return f"{int(number):.4E}"
    return number


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(_raw_numbers(), _junk, st.none()),
            st.sampled_from([None, "fedex", "ups", "usps", "dhl", "other"]),
        ),
        max_size=100,
    )
)
def test_scalar_and_vectorised_agree(rows):
    raws = [raw for raw, _ in rows]
    carriers = [carrier for _, carrier in rows]
    out = _evaluate(raws, carriers)
    keys = [tracking_key_one(raw) for raw in raws]
    formats = [tracking_format_one(key) for key in keys]
    expected = pl.DataFrame(
        {
            "key": keys,
            "artifact": [None if raw is None else is_float_artifact_one(raw) for raw in raws],
            "format": formats,
            "valid": [is_valid_one(k, c) for k, c in zip(keys, carriers, strict=True)],
            "detected": [detect_carrier_one(key) for key in keys],
        },
        schema={
            "key": pl.Utf8,
            "artifact": pl.Boolean,
            "format": pl.Utf8,
            "valid": pl.Boolean,
            "detected": pl.Utf8,
        },
    )
    got = out.select(expected.columns).with_columns(pl.col("valid").fill_null(False))
    assert_frame_equal(got, expected)
    mismatch = [
        not is_valid_one(k, c) and c in CARRIER_FORMATS and detect_carrier_one(k) not in (None, c)
        for k, c in zip(keys, carriers, strict=True)
    ]
    assert_series_equal(out["mismatch"], pl.Series("mismatch", mismatch, dtype=pl.Boolean))
