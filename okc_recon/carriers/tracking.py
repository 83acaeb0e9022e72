"""Tracking numbers: normalise them to a key, check their digits, tell their carrier, make them.

The rules are carrier-formats.md §3 (taken from jkeen/tracking_number_data and checked there
against its published test numbers). A **key** is what matching uses: text, upper case, no
spaces, hyphens or non-printing characters, with scanned barcode forms reduced to the
tracking number printed for people (USPS ``420`` + ZIP routing prefixes stripped, FedEx
34-digit barcodes to their last 12 digits, FedEx ``96…`` 22-digit barcodes to their last 15).
An Excel float artifact (``7.9464E+11``, ``794644790148.0``) has no key: the digits it lost
cannot be recovered, so it is flagged, never "repaired".

Formats a key can have, in the order :func:`tracking_format_one` tries them:

======================  ======================================  ==============================
format                  pattern                                 check digit
======================  ======================================  ==============================
``ups_1z``              ``1Z`` + 15 alphanumerics + check       mod10, letters mapped
``fedex_express_12``    12 digits                               weights 3,1,7; mod 11 mod 10
``fedex_ground_15``     15 digits                               mod10, odd positions ×3
``fedex_sscc_18``       18 digits (GS1 SSCC)                    mod10, even positions ×3
``fedex_smartpost_20``  20 digits (IMpb without its ``92``)     USPS mod10 on ``92`` + serial
``usps_legacy_20``      20 digits                               USPS mod10
``usps_impb_20``        20 digits (IMpb without its ``91``)     USPS mod10 on ``91`` + serial
``usps_impb_22``        ``9[1-5]`` + 20 digits                  USPS mod10
``usps_impb_26``        ``9[1-5]`` + 24 digits                  USPS mod10
``usps_s10``            2 letters, 8 digits, check, 2 letters   UPU S10
``dhl_express_10``      10 digits                               serial mod 7
``dhl_express_11``      11 digits                               serial mod 7
``dhl_express_piece``   ``J`` + 2–3 letters + 9–10 digits       **none**
``dhl_ecommerce``       ``GM``, ``LX``, … + 10–39 digits        **none**
======================  ======================================  ==============================

The three 20-digit formats never overlap (their check digits differ by construction), but a
random 20-digit string passes one of them three times in ten, and any 12-digit string one
time in ten: check digits validate a number someone declared, they are weak evidence of which
carrier it belongs to (carrier-formats §3.6). ``usps_s10`` is the UPU S10 format for any
posting country, not only ``…US``.

Every function here exists twice: a scalar one (``…_one``, used by the sandbox, the invoice
writers and tests) that follows the reference's left-to-right rules literally, and a Polars
expression for columns of millions of rows, which computes the same sums right-aligned from
integer digits. A Hypothesis property keeps the two in agreement.
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "CARRIER_FORMATS",
    "FORMATS",
    "KINDS",
    "NO_CHECK_DIGIT",
    "check_digit",
    "detect_carrier_one",
    "is_float_artifact_one",
    "is_valid_one",
    "make_barcode_forms",
    "make_tracking_number",
    "tracking_format_one",
    "tracking_key_one",
]


# --- check digits ----------------------------------------------------------------------------


def _ups_value(char: str) -> int:
    # UPS maps letters to digits as (ASCII code - 3) mod 10: A=2, B=3, ... I=0, J=1, ...
    return int(char) if char.isdigit() else (ord(char) - 3) % 10


def _mod10(values: Sequence[int], even: int, odd: int) -> int:
    """Weighted mod 10: 0-based even positions (from the left) × ``even``, odd × ``odd``."""
    total = sum(v * (even if i % 2 == 0 else odd) for i, v in enumerate(values))
    return (10 - total % 10) % 10


def _sum_product_mod11(values: Sequence[int], weights: Sequence[int]) -> int:
    total = sum(v * w for v, w in zip(values, weights, strict=True))
    return total % 11 % 10


def _digits(serial: str) -> list[int]:
    return [int(c) for c in serial]


def _check_ups(serial: str) -> int:
    return _mod10([_ups_value(c) for c in serial], 1, 2)


def _check_fedex_12(serial: str) -> int:
    return _sum_product_mod11(_digits(serial), (3, 1, 7) * 3 + (3, 1))


def _check_fedex_34(serial: str) -> int:
    return _sum_product_mod11(_digits(serial), (1, 7, 3) * 4 + (1,))


def _check_fedex_15(serial: str) -> int:
    return _mod10(_digits(serial), 1, 3)


def _check_fedex_96(serial: str) -> int:
    # The 22-digit "96" barcode's check covers only its last 15 digits (the tracking number).
    return _check_fedex_15(serial[-14:])


def _check_usps(serial: str) -> int:
    return _mod10(_digits(serial), 3, 1)


def _check_smartpost(serial: str) -> int:
    return _check_usps("92" + serial)


def _check_impb_20(serial: str) -> int:
    return _check_usps("91" + serial)


def _check_s10(serial: str) -> int:
    total = sum(d * w for d, w in zip(_digits(serial), (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def _check_mod7(serial: str) -> int:
    return int(serial) % 7


@dataclass(frozen=True)
class _CheckKind:
    serial: re.Pattern[str]
    compute: Callable[[str], int]


#: check-digit kind -> what its serial looks like and how its check digit is computed.
_CHECK_KINDS: Mapping[str, _CheckKind] = {
    "ups_1z": _CheckKind(re.compile(r"[0-9A-Z]{15}"), _check_ups),
    "fedex_express_12": _CheckKind(re.compile(r"[0-9]{11}"), _check_fedex_12),
    "fedex_express_34": _CheckKind(re.compile(r"[0-9]{13}"), _check_fedex_34),
    "fedex_ground_15": _CheckKind(re.compile(r"[0-9]{14}"), _check_fedex_15),
    "fedex_ground_96": _CheckKind(re.compile(r"96[0-9]{19}"), _check_fedex_96),
    "fedex_sscc_18": _CheckKind(re.compile(r"[0-9]{17}"), _check_usps),
    "fedex_smartpost_20": _CheckKind(re.compile(r"[0-9]{19}"), _check_smartpost),
    "usps_legacy_20": _CheckKind(re.compile(r"[0-9]{19}"), _check_usps),
    "usps_impb_20": _CheckKind(re.compile(r"[0-9]{19}"), _check_impb_20),
    "usps_impb_22": _CheckKind(re.compile(r"9[1-5][0-9]{19}"), _check_usps),
    "usps_impb_26": _CheckKind(re.compile(r"9[1-5][0-9]{23}"), _check_usps),
    "usps_s10": _CheckKind(re.compile(r"[0-9]{8}"), _check_s10),
    "dhl_express_10": _CheckKind(re.compile(r"[0-9]{9}"), _check_mod7),
    "dhl_express_11": _CheckKind(re.compile(r"[0-9]{10}"), _check_mod7),
}


def check_digit(kind: str, serial: str) -> int:
    """The check digit of ``serial`` under the rule of ``kind`` (carrier-formats §3.1–3.5).

    ``kind`` is a format name (see the module docstring) or one of the FedEx barcodes
    ``fedex_express_34`` / ``fedex_ground_96``. ``serial`` is what that rule weighs:

    - ``ups_1z``: the 15 characters after ``1Z``;
    - ``fedex_express_12``: 11 digits (weights 3,1,7 repeating; sum mod 11 mod 10);
    - ``fedex_express_34``: the 13-digit serial before the check (weights 1,7,3 repeating);
    - ``fedex_ground_15``: 14 digits; ``fedex_ground_96``: the 21 digits before the check of
      a ``96…`` barcode, of which only the last 14 count;
    - ``fedex_sscc_18``: 17 digits (GS1);
    - ``usps_legacy_20``, ``usps_impb_22``, ``usps_impb_26``: every digit before the check;
      ``fedex_smartpost_20`` / ``usps_impb_20``: 19 digits, ``92`` / ``91`` prepended first;
    - ``usps_s10``: the 8 serial digits;
    - ``dhl_express_10`` / ``dhl_express_11``: the 9 / 10 digits before the check (mod 7).

    >>> check_digit("fedex_express_12", "98657878885")
    5

    Raises ``ValueError`` for an unknown kind or a serial of the wrong shape.
    """
    spec = _CHECK_KINDS.get(kind)
    if spec is None:
        raise ValueError(f"no check digit rule {kind!r}; known: {', '.join(sorted(_CHECK_KINDS))}")
    if not spec.serial.fullmatch(serial):
        raise ValueError(f"{kind} serial must match {spec.serial.pattern}, got {serial!r}")
    return spec.compute(serial)


# --- formats -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Format:
    name: str
    pattern: re.Pattern[str]
    # where the serial and the check digit sit in the key; None: the format has no check digit
    serial: slice | None = None
    check_at: int = -1


def _fmt(name: str, pattern: str, serial: slice | None = None, check_at: int = -1) -> _Format:
    return _Format(name, re.compile(pattern), serial, check_at)


_ALL_BUT_LAST = slice(0, -1)

_FORMAT_SPECS: tuple[_Format, ...] = (
    _fmt("ups_1z", r"1Z[0-9A-Z]{15}[0-9]", slice(2, 17)),
    _fmt("fedex_express_12", r"[0-9]{12}", _ALL_BUT_LAST),
    _fmt("fedex_ground_15", r"[0-9]{15}", _ALL_BUT_LAST),
    _fmt("fedex_sscc_18", r"[0-9]{18}", _ALL_BUT_LAST),
    _fmt("fedex_smartpost_20", r"[0-9]{20}", _ALL_BUT_LAST),
    _fmt("usps_legacy_20", r"[0-9]{20}", _ALL_BUT_LAST),
    _fmt("usps_impb_20", r"[0-9]{20}", _ALL_BUT_LAST),
    _fmt("usps_impb_22", r"9[1-5][0-9]{20}", _ALL_BUT_LAST),
    _fmt("usps_impb_26", r"9[1-5][0-9]{24}", _ALL_BUT_LAST),
    _fmt("usps_s10", r"[A-Z]{2}[0-9]{9}[A-Z]{2}", slice(2, 10), 10),
    _fmt("dhl_express_10", r"[0-9]{10}", _ALL_BUT_LAST),
    _fmt("dhl_express_11", r"[0-9]{11}", _ALL_BUT_LAST),
    _fmt("dhl_express_piece", r"J[A-Z]{2,3}[0-9]{9,10}"),
    _fmt("dhl_ecommerce", r"(?:GM|LX|RX|UV|CN|SG|TH|IN|HK|MY)[0-9]{10,39}"),
)

#: Every format name, in the order they are tried.
FORMATS: tuple[str, ...] = tuple(f.name for f in _FORMAT_SPECS)

#: Formats with no check digit: a key of that shape is accepted on its pattern alone.
NO_CHECK_DIGIT: frozenset[str] = frozenset(f.name for f in _FORMAT_SPECS if f.serial is None)

# USPS-style IMpb numbers: delivered by USPS, but legitimately on FedEx SmartPost / Ground
# Economy, UPS SurePost / Mail Innovations (carrier-formats §3.2, §3.3, §3.6) and DHL
# eCommerce parcels (our own knowledge: DHL eCommerce's US parcels are delivered by USPS).
_IMPB = ("usps_impb_22", "usps_impb_26")

#: The formats a number billed or declared for each carrier may legitimately have.
CARRIER_FORMATS: Mapping[str, frozenset[str]] = {
    "fedex": frozenset(
        ("fedex_express_12", "fedex_ground_15", "fedex_sscc_18", "fedex_smartpost_20", *_IMPB)
    ),
    "ups": frozenset(("ups_1z", *_IMPB)),
    "usps": frozenset(("usps_legacy_20", "usps_impb_20", *_IMPB, "usps_s10")),
    "dhl": frozenset(
        ("dhl_express_10", "dhl_express_11", "dhl_express_piece", "dhl_ecommerce", *_IMPB)
    ),
}

# Which carrier a format identifies on its own. Left out on purpose (carrier-formats §3.6):
# the 20-digit formats (USPS legacy, USPS IMpb without 91 and FedEx SmartPost share a length
# and a third of random strings pass one of them) and SSCC-18 (a GS1 standard any carrier uses).
_FORMAT_CARRIER: Mapping[str, str] = {
    "ups_1z": "ups",
    "fedex_express_12": "fedex",
    "fedex_ground_15": "fedex",
    "usps_impb_22": "usps",
    "usps_impb_26": "usps",
    "dhl_express_10": "dhl",
    "dhl_express_11": "dhl",
    "dhl_express_piece": "dhl",
    "dhl_ecommerce": "dhl",
}


def _passes(spec: _Format, key: str) -> bool:
    if not spec.pattern.fullmatch(key):
        return False
    if spec.serial is None:
        return True
    return check_digit(spec.name, key[spec.serial]) == int(key[spec.check_at])


def tracking_format_one(key: str | None) -> str | None:
    """The first format (see :data:`FORMATS`) whose pattern and check digit both hold, else None.

    >>> tracking_format_one("1Z5R89390357567127")
    'ups_1z'
    """
    if key is None:
        return None
    return next((spec.name for spec in _FORMAT_SPECS if _passes(spec, key)), None)


def is_valid_one(key: str | None, carrier: str | None = None) -> bool:
    """Whether ``key`` (as :func:`tracking_key_one` returns it) is a valid number for ``carrier``.

    With ``carrier=None``, valid in any format. A carrier with no rules (``other``, unknown
    text) gives False, like a missing key; the expression :func:`valid_for_carrier` gives null
    for both.
    """
    fmt = tracking_format_one(key)
    if fmt is None:
        return False
    if carrier is None:
        return True
    return fmt in CARRIER_FORMATS.get(carrier, frozenset())


def detect_carrier_one(key: str | None) -> str | None:
    """The carrier ``key`` identifies when that is unambiguous, else None (see the expression)."""
    fmt = tracking_format_one(key)
    if fmt is None or key is None:
        return None
    if fmt == "usps_s10":
        return "usps" if key.endswith("US") else None
    return _FORMAT_CARRIER.get(fmt)


# --- normalisation -----------------------------------------------------------------------------

# What an Excel cell does to a long number: scientific notation with "E+", a decimal tail of
# zeros, or thousands separators. A tracking number never looks like any of them.
_FLOAT_ARTIFACT = re.compile(
    r"[0-9]+(?:[.,][0-9]+)?E\+[0-9]+|[0-9]+[.,]0+|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?"
)


def _is_removed(char: str) -> bool:
    # spaces, every non-printing character (control, format: BOM, zero-width space, soft
    # hyphen, ...), dashes of every kind and the minus sign
    category = unicodedata.category(char)
    return char.isspace() or category[0] == "C" or category == "Pd" or char == "\u2212"


def _clean_one(raw: str) -> str:
    return "".join(c for c in raw if not _is_removed(c)).upper()


def is_float_artifact_one(raw: str | None) -> bool:
    """Whether ``raw`` is a number Excel mangled (``7.9464E+11``, ``794644790148.0``)."""
    return raw is not None and _FLOAT_ARTIFACT.fullmatch(_clean_one(raw)) is not None


def _usps_20_valid(number: str) -> bool:
    return any(
        _passes(spec, number)
        for spec in _FORMAT_SPECS
        if spec.name in ("fedex_smartpost_20", "usps_legacy_20", "usps_impb_20")
    )


def _strip_routing_one(key: str) -> str:
    """Strip ``420`` + ZIP5 or ``420`` + ZIP+4 from a scanned USPS barcode (carrier-formats §3.4).

    A result that starts with ``9[1-5]`` and passes its check digit wins, 22-digit numbers
    before 26-digit ones: with a ZIP+4 whose add-on starts with 9[1-5], stripping only
    ``420`` + ZIP5 can leave a 26-digit string that passes by chance, and 22-digit IMpb
    numbers are the common case. Failing that, a 20-digit number (IMpb without its
    ``9x``, SmartPost) that passes. Failing that, the value is kept as it is.
    """
    for cut, length in ((8, 22), (12, 22), (8, 26), (12, 26)):
        rest = key[cut:]
        if (
            len(rest) == length
            and re.fullmatch(r"9[1-5][0-9]+", rest)
            and _check_usps(rest[:-1]) == int(rest[-1])
        ):
            return rest
    for cut in (8, 12):
        rest = key[cut:]
        if len(rest) == 20 and _usps_20_valid(rest):
            return rest
    return key


def _reduce_barcode_one(key: str) -> str:
    if not re.fullmatch(r"[0-9]+", key):
        return key
    if len(key) == 34 and key[:2] in ("10", "96"):
        return key[-12:]
    if len(key) == 22 and key.startswith("96"):
        return key[-15:]
    if key.startswith("420"):
        return _strip_routing_one(key)
    return key


def tracking_key_one(raw: str | None) -> str | None:
    """The tracking key of one raw value: what :func:`tracking_key` computes for a column.

    >>> tracking_key_one(" 1z 5r8 939-03 5756 712 7 ")
    '1Z5R89390357567127'
    >>> tracking_key_one("420 22153 9101026837331000039521")
    '9101026837331000039521'
    >>> tracking_key_one("7.9464E+11") is None
    True
    """
    if raw is None:
        return None
    key = _clean_one(raw)
    if not key or _FLOAT_ARTIFACT.fullmatch(key):
        return None
    return _reduce_barcode_one(key)


# --- generation --------------------------------------------------------------------------------


def _rand_digits(rng: random.Random, n: int, *, first: str = "0123456789") -> str:
    if n == 0:
        return ""
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _with_check(kind: str, serial: str) -> str:
    return serial + str(check_digit(kind, serial))


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = "0123456789" + _UPPER
_UPS_SERVICE_CODES = ("01", "02", "03", "12", "13", "14", "15", "42", "44", "59", "66", "72")


def _make_ups(rng: random.Random, service_code: str | None) -> str:
    if service_code is None:
        service_code = rng.choice(_UPS_SERVICE_CODES)
    elif not re.fullmatch(r"[0-9A-Z]{2}", service_code):
        raise ValueError(f"a UPS service code is 2 characters 0-9/A-Z, got {service_code!r}")
    account = "".join(rng.choice(_ALNUM) for _ in range(6))
    package = _rand_digits(rng, 7)
    return "1Z" + _with_check("ups_1z", account + service_code + package)


def _make_impb(rng: random.Random, kind: str, length: int, ai: str | None = None) -> str:
    ai = ai or "9" + rng.choice("2345")
    return _with_check(kind, ai + _rand_digits(rng, length - 3))


def _make_s10(rng: random.Random) -> str:
    service = rng.choice("ECRLVHU") + rng.choice(_UPPER)
    serial = _rand_digits(rng, 8)
    return service + _with_check("usps_s10", serial) + "US"


_DIGIT_MAKERS: Mapping[str, Callable[[random.Random], str]] = {
    "fedex_express_12": lambda r: _with_check(
        "fedex_express_12", _rand_digits(r, 11, first="123456789")
    ),
    "fedex_ground_15": lambda r: _with_check("fedex_ground_15", _rand_digits(r, 14)),
    "fedex_sscc_18": lambda r: _with_check("fedex_sscc_18", "00" + _rand_digits(r, 15)),
    "fedex_smartpost_20": lambda r: _with_check(
        "fedex_smartpost_20", _rand_digits(r, 19, first="123456789")
    ),
    "fedex_smartpost_22": lambda r: _make_impb(r, "usps_impb_22", 22, ai="92"),
    "ups_surepost_22": lambda r: _make_impb(r, "usps_impb_22", 22, ai="92"),
    "usps_impb_22": lambda r: _make_impb(r, "usps_impb_22", 22),
    "usps_impb_26": lambda r: _make_impb(r, "usps_impb_26", 26),
    "usps_legacy_20": lambda r: _with_check(
        "usps_legacy_20", r.choice(("71", "73", "77", "81")) + _rand_digits(r, 17)
    ),
    "usps_impb_20": lambda r: _with_check("usps_impb_20", _rand_digits(r, 19, first="123456789")),
    "usps_s10": _make_s10,
    "dhl_express_10": lambda r: _with_check(
        "dhl_express_10", _rand_digits(r, 9, first="123456789")
    ),
    "dhl_express_11": lambda r: _with_check(
        "dhl_express_11", _rand_digits(r, 10, first="123456789")
    ),
    "dhl_express_piece": lambda r: r.choice(("JJD", "JVGL")) + _rand_digits(r, 10),
    "dhl_ecommerce": lambda r: "GM" + _rand_digits(r, r.randint(16, 20)),
}

#: kind -> (carrier, format its numbers have). ``fedex_smartpost_22`` and ``ups_surepost_22``
#: are USPS-delivered parcels: their numbers are ``usps_impb_22`` (``92…``).
KINDS: Mapping[str, tuple[str, str]] = {
    "ups_1z": ("ups", "ups_1z"),
    "ups_surepost_22": ("ups", "usps_impb_22"),
    "fedex_express_12": ("fedex", "fedex_express_12"),
    "fedex_ground_15": ("fedex", "fedex_ground_15"),
    "fedex_sscc_18": ("fedex", "fedex_sscc_18"),
    "fedex_smartpost_20": ("fedex", "fedex_smartpost_20"),
    "fedex_smartpost_22": ("fedex", "usps_impb_22"),
    "usps_legacy_20": ("usps", "usps_legacy_20"),
    "usps_impb_20": ("usps", "usps_impb_20"),
    "usps_impb_22": ("usps", "usps_impb_22"),
    "usps_impb_26": ("usps", "usps_impb_26"),
    "usps_s10": ("usps", "usps_s10"),
    "dhl_express_10": ("dhl", "dhl_express_10"),
    "dhl_express_11": ("dhl", "dhl_express_11"),
    "dhl_express_piece": ("dhl", "dhl_express_piece"),
    "dhl_ecommerce": ("dhl", "dhl_ecommerce"),
}

# What make_tracking_number picks from when no kind is given: the carrier's usual labels.
_DEFAULT_KINDS: Mapping[str, tuple[str, ...]] = {
    "fedex": ("fedex_express_12", "fedex_express_12", "fedex_express_12", "fedex_ground_15"),
    "ups": ("ups_1z",),
    "usps": ("usps_impb_22",),
    "dhl": ("dhl_express_10",),
}


def make_tracking_number(
    carrier: str,
    rng: random.Random,
    kind: str | None = None,
    *,
    service_code: str | None = None,
) -> str:
    """A valid tracking number of ``carrier`` (fedex, ups, usps, dhl), as its label prints it.

    ``kind`` is one of :data:`KINDS` for that carrier; without it, one of the carrier's usual
    kinds is drawn from ``rng``. ``service_code`` (``ups_1z`` only) fixes the 2-character UPS
    service code (``"03"`` Ground…); otherwise it is drawn. The result depends only on the
    arguments and the state of ``rng``.

    >>> make_tracking_number("ups", random.Random(1), "ups_1z", service_code="03")[8:10]
    '03'
    """
    if carrier not in _DEFAULT_KINDS:
        raise ValueError(
            f"no tracking numbers for carrier {carrier!r}; known: fedex, ups, usps, dhl"
        )
    if kind is None:
        kind = rng.choice(_DEFAULT_KINDS[carrier])
    kind_carrier = KINDS.get(kind, (None, None))[0]
    if kind_carrier != carrier:
        known = ", ".join(k for k, (c, _) in KINDS.items() if c == carrier)
        raise ValueError(f"{kind!r} is not a {carrier} tracking number kind; known: {known}")
    if service_code is not None and kind != "ups_1z":
        raise ValueError("service_code applies to kind 'ups_1z' only")
    if kind == "ups_1z":
        return _make_ups(rng, service_code)
    return _DIGIT_MAKERS[kind](rng)


def _zip_parts(number: str, zip_code: str | None) -> tuple[str, str]:
    if zip_code is None:
        # a ZIP+4 derived from the number, so the forms are deterministic without an rng
        digits = f"{zlib.crc32(number.encode()):010d}"[-9:]
        return digits[:5], digits[5:]
    match = re.fullmatch(r"([0-9]{5})(?:-?([0-9]{4}))?", zip_code.strip())
    if match is None:
        raise ValueError(f"zip_code must be a ZIP5 or ZIP+4, got {zip_code!r}")
    return match.group(1), match.group(2) or ""


def make_barcode_forms(number: str, *, zip_code: str | None = None) -> list[str]:
    """The longer forms a scanner reads for ``number``; :func:`tracking_key_one` of each is it.

    - USPS-style numbers (IMpb, SmartPost, legacy 20): ``420`` + ZIP5 + number and ``420`` +
      ZIP+4 + number, with ``zip_code`` (``"10023"`` or ``"10023-3424"``; derived from the
      number when not given);
    - FedEx 12-digit: the 34-digit Express barcode (``100…``) and Ground GSN barcode (``96…``);
    - FedEx 15-digit: the 22-digit ``96…`` Ground barcode.

    Other numbers (UPS ``1Z``, S10, DHL) are printed as they are: the list is empty. A form
    that would not reduce back to ``number`` (a 26-digit IMpb whose ZIP5 form reads as a
    ZIP+4 form too) is left out.
    """
    key = tracking_key_one(number)
    fmt = tracking_format_one(key)
    if key is None or fmt is None:
        raise ValueError(f"not a valid tracking number: {number!r}")
    forms: list[str] = []
    if fmt in ("usps_impb_22", "usps_impb_26", *(f for f in FORMATS if f.endswith("_20"))):
        zip5, plus4 = _zip_parts(key, zip_code)
        forms.append("420" + zip5 + key)
        if plus4:
            forms.append("420" + zip5 + plus4 + key)
    elif fmt == "fedex_express_12":
        zip5 = _zip_parts(key, zip_code)[0]
        # the 13-digit serial is the number's 11 digits behind two zeros, as on real labels;
        # zeros keep the 34-digit check (weights 1 and 7 on them) equal to the 12-digit one
        forms.append("100" + "19" + _digit_block(key, 10) + zip5 + "00" + key)
        forms.append("96" + "22" + "00190" + _digit_block(key[::-1], 10) + "0" + "00" + key)
    elif fmt == "fedex_ground_15":
        forms.append("96" + "11" + "020" + key)
    return [form for form in forms if tracking_key_one(form) == key]


def _digit_block(seed: str, n: int) -> str:
    return f"{zlib.crc32(seed.encode()):0{n}d}"[-n:]
