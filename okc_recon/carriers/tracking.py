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
expression for columns of millions of rows, which takes the same sums from the right, over the
bytes of each key. A Hypothesis property keeps the two in agreement.
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

__all__ = [
    "CARRIER_FORMATS",
    "FORMATS",
    "KINDS",
    "NO_CHECK_DIGIT",
    "carrier_mismatch",
    "check_digit",
    "detect_carrier",
    "detect_carrier_one",
    "is_float_artifact",
    "is_float_artifact_one",
    "is_valid_one",
    "make_barcode_forms",
    "make_tracking_number",
    "tracking_format",
    "tracking_format_one",
    "tracking_key",
    "tracking_key_one",
    "valid_for_carrier",
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
    # spaces, non-printing characters (controls, and format characters: BOM, zero-width
    # space, soft hyphen, ...), dashes of every kind and the minus sign
    category = unicodedata.category(char)
    return char.isspace() or category in ("Cc", "Cf", "Pd") or char == "\u2212"


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


# --- Polars expressions ------------------------------------------------------------------------
#
# Each public expression is one batch function over whole columns (``map_batches``), inside
# which plain Polars expressions run in stages on a frame. Written as one nested expression,
# the digit sums below refer to their input about a hundred times; Polars then builds and
# evaluates that input a hundred times over (and composing ``tracking_format(tracking_key(…))``
# multiplies the two), which is minutes on a million rows instead of a fraction of a second.
# No Python runs per row.
#
# The scalar rules above weigh digits from the left. Every check digit here sits at the end of
# its number, so the same sums can be taken from the right: position r = 0 is the digit next to
# the check digit, and zero padding changes no sum. So every key is padded with "0" to one
# width, its bytes become one UInt8 column per position, and each sum is a fixed linear
# combination of those columns, the same for every row. Seen from the right:
#
# - USPS mod10, FedEx 15 and SSCC-18 (odd-length serials, or even-length with odd ×3):
#   r even ×3, r odd ×1; prepending "92" adds 9×3 + 2 = 29, "91" adds 28;
# - UPS (15 characters, odd ×2 from the left): r odd ×2, r even ×1;
# - FedEx 12 and the 13-digit serial of the 34-digit barcode: weights 1, 3, 7 by r mod 3;
# - S10: weights 7, 9, 5, 3, 2, 4, 6, 8 for r = 0…7.

_SERIAL_DIGITS = 25  # the longest serial weighed: a 26-digit IMpb number minus its check digit
_REMOVE = r"[\s\p{Cc}\p{Cf}\p{Pd}\x{2212}]"
_ARTIFACT_RE = "^(?:" + _FLOAT_ARTIFACT.pattern + ")$"
_S10_WEIGHTS_FROM_RIGHT = (7, 9, 5, 3, 2, 4, 6, 8)
_FEDEX_12_WEIGHTS_FROM_RIGHT = (1, 3, 7)
_NULL_TEXT = pl.lit(None, dtype=pl.Utf8)


def _with_digit_bytes(frame: pl.DataFrame, text: str, width: int) -> pl.DataFrame:
    """Add the bytes of column ``text``, padded in front with ``"0"`` to ``width``, as UInt8
    columns ``_b0`` … ``_b{width-1}`` (a digit is ``ord("0")`` plus its value); null where
    the text is longer. Reading the padded text as one array of bytes and splitting it is far
    cheaper than slicing strings character by character."""
    padded = pl.col(text).str.pad_start(width, "0").cast(pl.Binary)
    array = padded.bin.reinterpret(dtype=pl.Array(pl.UInt8, width))
    fields = [f"_b{i}" for i in range(width)]
    return frame.with_columns(_bytes=array.arr.to_struct(fields=fields)).unnest("_bytes")


_Weight = Callable[[int], int]


def _check_byte(width: int, *, after: int = 0) -> pl.Expr:
    """The check digit of :func:`_with_digit_bytes` columns: the last character, or the one
    ``after`` characters before the end (S10 numbers end in a country code)."""
    return pl.col(f"_b{width - 1 - after}").cast(pl.Int16) - ord("0")


def _weighted_sum(
    width: int, weight: _Weight, below: int, *, after: int = 0, letters: bool = False
) -> pl.Expr:
    """Σ weight(r) × serial digit r over r < ``below``, in :func:`_with_digit_bytes` columns,
    where serial digit r (from the right, from 0) sits just before the check digit (see
    :func:`_check_byte` for ``after``). With ``letters``, a letter counts as UPS maps it:
    (ASCII code - 3) mod 10."""
    total: pl.Expr = pl.lit(0, dtype=pl.Int16)
    offset = 0
    for r in range(min(below, width - 1 - after)):
        if not weight(r):
            continue
        byte = pl.col(f"_b{width - 2 - after - r}").cast(pl.Int16)
        if letters:
            value = pl.when(byte >= ord("A")).then((byte - 3) % 10).otherwise(byte - ord("0"))
            total = total + value * weight(r)
        else:
            # the "0" offset of every digit byte comes off once, at the end
            total = total + byte * weight(r)
            offset += ord("0") * weight(r)
    return total - offset


def _mod10_check(total: pl.Expr, plus: int = 0) -> pl.Expr:
    return (10 - (total + plus) % 10) % 10


def _usps_weight(r: int) -> int:
    return 3 if r % 2 == 0 else 1


def _clean(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Utf8).str.replace_all(_REMOVE, "").str.to_uppercase()


def _batch(
    function: Callable[[pl.Series], pl.Series], dtype: pl.DataType, *inputs: pl.Expr
) -> pl.Expr:
    # the first input keeps its name, so the result is named after it as Polars does
    first, *others = (e.cast(pl.Utf8) for e in inputs)
    source = first
    if others:
        source = pl.struct(first, *(e.alias(f"_okc_recon_in{i}") for i, e in enumerate(others)))
    return source.map_batches(function, return_dtype=dtype, is_elementwise=True)


def _float_artifact_series(raw: pl.Series) -> pl.Series:
    return raw.to_frame("raw").select(_clean(pl.col("raw")).str.contains(_ARTIFACT_RE)).to_series()


def is_float_artifact(expr: pl.Expr) -> pl.Expr:
    """Whether each value is a number Excel mangled: ``7.9464E+11``, ``794644790148.0``, ….

    Boolean; null stays null. Such a value has no tracking key (:func:`tracking_key`): the
    digits Excel dropped cannot be recovered, so it is reported, never repaired.

    >>> pl.select(is_float_artifact(pl.lit("7.94644790148e+11"))).item()
    True
    """
    return _batch(_float_artifact_series, pl.Boolean(), expr)


def _strip_routing(frame: pl.DataFrame) -> pl.Series:
    """:func:`_strip_routing_one` for column ``_routed`` (digit strings starting ``420``)."""
    width = 38  # 420 + ZIP+4 + a 26-digit number
    frame = _with_digit_bytes(frame, "_routed", width)
    check = _check_byte(width)
    usps = [_weighted_sum(width, _usps_weight, below) for below in (19, 21, 25)]
    frame = frame.with_columns(
        _ok20=pl.any_horizontal(_mod10_check(usps[0], plus) == check for plus in (0, 29, 28)),
        _ok22=_mod10_check(usps[1]) == check,
        _ok26=_mod10_check(usps[2]) == check,
    )
    ok20, ok22, ok26 = pl.col("_ok20"), pl.col("_ok22"), pl.col("_ok26")
    routed, length = pl.col("_routed"), pl.col("_length")
    after_zip5 = routed.str.contains(r"^420[0-9]{5}9[1-5]")
    after_zip9 = routed.str.contains(r"^420[0-9]{9}9[1-5]")
    zip5, zip9 = routed.str.slice(8), routed.str.slice(12)
    stripped = (
        pl.when((length == 30) & after_zip5 & ok22)
        .then(zip5)
        .when((length == 34) & after_zip9 & ok22)
        .then(zip9)
        .when((length == 34) & after_zip5 & ok26)
        .then(zip5)
        .when((length == 38) & after_zip9 & ok26)
        .then(zip9)
        .when((length == 28) & ok20)
        .then(zip5)
        .when((length == 32) & ok20)
        .then(zip9)
        .otherwise(routed)
    )
    return frame.select(stripped).to_series()


def _barcode_keys(barcodes: pl.DataFrame) -> pl.Series:
    """The key of each row of ``_cleaned`` (digit strings of 22 to 38 digits) and ``_length``:
    FedEx barcodes reduced, USPS routing prefixes stripped, anything else as it is."""
    cleaned, length = pl.col("_cleaned"), pl.col("_length")
    fedex = (
        pl.when((length == 34) & cleaned.str.contains(r"^(?:10|96)"))
        .then(cleaned.str.slice(-12))
        .when((length == 22) & cleaned.str.starts_with("96"))
        .then(cleaned.str.slice(-15))
    )
    barcodes = barcodes.with_row_index("_at").with_columns(_fedex=fedex)
    routed = barcodes.filter(pl.col("_fedex").is_null() & cleaned.str.starts_with("420"))
    usps = pl.repeat(None, barcodes.height, dtype=pl.Utf8, eager=True)
    if routed.height:
        stripped = _strip_routing(routed.select(_routed=cleaned, _length=length))
        usps = usps.scatter(routed["_at"], stripped)
    barcodes = barcodes.with_columns(_usps=usps)
    return barcodes.select(pl.coalesce("_fedex", "_usps", "_cleaned")).to_series()


def _tracking_key_series(raw: pl.Series) -> pl.Series:
    cleaned, length = pl.col("_cleaned"), pl.col("_length")
    frame = raw.to_frame("raw").select(_cleaned=_clean(pl.col("raw")))
    frame = frame.with_columns(
        _length=cleaned.str.len_bytes(),
        _unusable=(cleaned == "") | cleaned.str.contains(_ARTIFACT_RE),
    )
    keys = frame["_cleaned"]
    # scanned barcodes are rare: reduce those rows only, then put them back
    barcodes = (
        frame.with_row_index("_row")
        .filter(length.is_between(22, 38) & cleaned.str.contains(r"^[0-9]+$"))
        .select("_row", "_cleaned", "_length")
    )
    if barcodes.height:
        keys = keys.clone().scatter(barcodes["_row"], _barcode_keys(barcodes.drop("_row")))
    unusable = pl.col("_unusable")
    return (
        frame.select(pl.when(unusable).then(_NULL_TEXT).otherwise(keys)).to_series().alias(raw.name)
    )


def tracking_key(expr: pl.Expr) -> pl.Expr:
    """The tracking key of each raw value (carrier-formats §3.7): what invoices and OKC match on.

    Text, trimmed, upper case, without spaces, hyphens and non-printing characters; null when
    nothing is left or the value is an Excel float artifact (:func:`is_float_artifact`).
    Scanned barcodes become the number printed for people: USPS ``420`` + ZIP5 / ZIP+4
    prefixes are stripped when what remains is a valid USPS-style number (``9[1-5]…``
    22-digit numbers first, then 26-digit, then 20-digit), FedEx 34-digit ``10…`` / ``96…``
    barcodes become their last 12 digits and 22-digit ``96…`` barcodes their last 15.
    Leading zeros are kept. Any other value is kept as cleaned, valid or not: validity is
    :func:`tracking_format`'s business.

    >>> df = pl.DataFrame({"raw": ["1z 5r8 939 03 5756 7127", "420 22153 91010268373310000395 21"]})
    >>> df.select(tracking_key(pl.col("raw")))["raw"].to_list()
    ['1Z5R89390357567127', '9101026837331000039521']
    """
    return _batch(_tracking_key_series, pl.Utf8(), expr)


def _format_series(keys: pl.Series) -> pl.Series:
    """The format of each key (null: none), computed in stages on a frame."""
    key = pl.col("_key")
    frame = keys.to_frame("_key").with_columns(
        _length=key.str.len_bytes(),
        _digits=key.str.contains(r"^[0-9]+$"),
        _ups=key.str.contains(r"^1Z[0-9A-Z]{15}[0-9]$"),
        _s10=key.str.contains(r"^[A-Z]{2}[0-9]{9}[A-Z]{2}$"),
    )
    length, is_digits, is_ups, is_s10 = (
        pl.col("_length"),
        pl.col("_digits"),
        pl.col("_ups"),
        pl.col("_s10"),
    )
    # keys of up to 26 characters as bytes; letters and other characters too, since every
    # rule below also asks for its pattern
    width = _SERIAL_DIGITS + 1
    frame = _with_digit_bytes(frame, "_key", width)
    frame = frame.with_columns(
        _check=_check_byte(width),
        _s10_given=_check_byte(width, after=2),
        _impb=key.str.contains(r"^9[1-5]"),
        _usps=_mod10_check(_weighted_sum(width, _usps_weight, _SERIAL_DIGITS)),
        # UPS: the 15 characters between "1Z" and the check digit, letters mapped
        _ups_check=_mod10_check(
            _weighted_sum(width, lambda r: 2 if r % 2 else 1, 15, letters=True)
        ),
        _fedex_12=_weighted_sum(width, lambda r: _FEDEX_12_WEIGHTS_FROM_RIGHT[r % 3], 11) % 11 % 10,
        _s10_rest=_weighted_sum(width, lambda r: _S10_WEIGHTS_FROM_RIGHT[r], 8, after=2) % 11,
        # DHL: the serial's value mod 7, as Σ digit r × (10**r mod 7)
        _dhl=_weighted_sum(width, lambda r: pow(10, r, 7), 10) % 7,
    )
    check, usps, s10_rest = pl.col("_check"), pl.col("_usps"), pl.col("_s10_rest")
    # S10: 11 - r, where 10 becomes 0 and 11 becomes 5
    s10 = pl.when(s10_rest == 0).then(5).when(s10_rest == 1).then(0).otherwise(11 - s10_rest)
    impb = is_digits & pl.col("_impb")

    def digits_of(n: int) -> pl.Expr:
        return is_digits & (length == n)

    rules: list[tuple[str, pl.Expr]] = [
        ("ups_1z", is_ups & (pl.col("_ups_check") == check)),
        ("fedex_express_12", digits_of(12) & (pl.col("_fedex_12") == check)),
        ("fedex_ground_15", digits_of(15) & (usps == check)),
        ("fedex_sscc_18", digits_of(18) & (usps == check)),
        # prepending 92 / 91 adds 29 / 28 to the sum: 1 / 2 off the plain check digit
        ("fedex_smartpost_20", digits_of(20) & ((usps + 1) % 10 == check)),
        ("usps_legacy_20", digits_of(20) & (usps == check)),
        ("usps_impb_20", digits_of(20) & ((usps + 2) % 10 == check)),
        ("usps_impb_22", impb & (length == 22) & (usps == check)),
        ("usps_impb_26", impb & (length == 26) & (usps == check)),
        ("usps_s10", is_s10 & (s10 == pl.col("_s10_given"))),
        ("dhl_express_10", digits_of(10) & (pl.col("_dhl") == check)),
        ("dhl_express_11", digits_of(11) & (pl.col("_dhl") == check)),
        ("dhl_express_piece", key.str.contains(r"^J[A-Z]{2,3}[0-9]{9,10}$")),
        ("dhl_ecommerce", key.str.contains(r"^(?:GM|LX|RX|UV|CN|SG|TH|IN|HK|MY)[0-9]{10,39}$")),
    ]
    # an integer code per row, named at the end: far cheaper than a chain of text values
    code: pl.Expr = pl.lit(None, dtype=pl.UInt8)
    for number, (_name, holds) in reversed(list(enumerate(rules))):
        code = pl.when(holds.fill_null(False)).then(pl.lit(number, dtype=pl.UInt8)).otherwise(code)
    named = {number: name for number, (name, _holds) in enumerate(rules)}
    names = pl.col("_code").replace_strict(named, return_dtype=pl.Utf8)
    return frame.select(_code=code).select(names).to_series().alias(keys.name)


def tracking_format(key: pl.Expr) -> pl.Expr:
    """The name of each key's format (see :data:`FORMATS`): the first whose pattern and check
    digit both hold; null when none does, or the key is null.

    ``dhl_express_piece`` and ``dhl_ecommerce`` have no check digit (:data:`NO_CHECK_DIGIT`):
    they are recognised by their pattern alone.

    >>> pl.select(tracking_format(pl.lit("986578788855"))).item()
    'fedex_express_12'
    """
    return _batch(_format_series, pl.Utf8(), key)


def _valid_expr(key: pl.Expr, fmt: pl.Expr, carrier: pl.Expr) -> pl.Expr:
    result: pl.Expr = pl.lit(None, dtype=pl.Boolean)
    for name, formats in CARRIER_FORMATS.items():
        result = (
            pl.when(carrier == name)
            .then(fmt.is_in(sorted(formats)).fill_null(False))
            .otherwise(result)
        )
    result = pl.when(carrier.is_null()).then(fmt.is_not_null()).otherwise(result)
    return pl.when(key.is_null()).then(pl.lit(None, dtype=pl.Boolean)).otherwise(result)


def _detect_expr(key: pl.Expr, fmt: pl.Expr) -> pl.Expr:
    by_format = fmt.replace_strict(dict(_FORMAT_CARRIER), default=None, return_dtype=pl.Utf8)
    s10_us = pl.when(key.str.ends_with("US")).then(pl.lit("usps"))
    return pl.when(fmt == "usps_s10").then(s10_us).otherwise(by_format)


def _inputs(batch: pl.Series, *names: str) -> pl.DataFrame:
    frame = batch.struct.unnest()
    return frame.rename(dict(zip(frame.columns, names, strict=True)))


def _key_carrier_frame(batch: pl.Series) -> pl.DataFrame:
    frame = _inputs(batch, "_key", "_carrier")
    return frame.with_columns(_format=_format_series(frame["_key"]))


def _valid_series(pair: pl.Series) -> pl.Series:
    key, fmt, carrier = pl.col("_key"), pl.col("_format"), pl.col("_carrier")
    return _key_carrier_frame(pair).select(_valid_expr(key, fmt, carrier)).to_series()


def _detect_series(keys: pl.Series) -> pl.Series:
    frame = keys.to_frame("_key").with_columns(_format=_format_series(keys))
    return frame.select(_detect_expr(pl.col("_key"), pl.col("_format"))).to_series()


def _mismatch_series(pair: pl.Series) -> pl.Series:
    key, fmt, carrier = pl.col("_key"), pl.col("_format"), pl.col("_carrier")
    frame = _key_carrier_frame(pair).with_columns(
        _valid=_valid_expr(key, fmt, carrier), _detected=_detect_expr(key, fmt)
    )
    mismatch = pl.col("_valid").not_() & (pl.col("_detected") != carrier)
    return frame.select(mismatch.fill_null(False)).to_series()


def valid_for_carrier(key: pl.Expr, carrier: pl.Expr) -> pl.Expr:
    """Whether each key is a valid number (format and check digit) for the row's carrier.

    ``carrier`` is normalised (``fedex``, ``ups``, ``usps``, ``dhl``: :data:`CARRIER_FORMATS`
    lists each one's formats). USPS-style IMpb numbers count for FedEx, UPS and DHL too:
    SmartPost / Ground Economy, SurePost / Mail Innovations and DHL eCommerce parcels are
    delivered by USPS under them (carrier-formats §3.6). A null carrier accepts any format.
    Null when the key is null, or the carrier is one with no rules (``other``).

    >>> pl.select(valid_for_carrier(pl.lit("9261292700768711948021"), pl.lit("fedex"))).item()
    True
    """
    return _batch(_valid_series, pl.Boolean(), key, carrier)


def detect_carrier(key: pl.Expr) -> pl.Expr:
    """The carrier each key identifies on its own, when that is unambiguous; else null.

    ``ups`` for a valid ``1Z``; ``fedex`` for a valid 12- or 15-digit FedEx number; ``usps``
    for a valid ``9[1-5]`` IMpb number or an S10 number ending ``US``; ``dhl`` for a valid
    10/11-digit DHL Express number, a piece ID or a DHL eCommerce number. Null for everything
    else, including the 20-digit formats (USPS legacy and FedEx SmartPost share the length)
    and SSCC-18.

    The declared carrier is the primary signal (carrier-formats §3.6): an IMpb number says
    ``usps`` although it is legitimate on FedEx and UPS invoices, and one random 12-digit
    string in ten passes the FedEx check. To flag a mismatch use :func:`carrier_mismatch`,
    which asks the declared carrier's formats first.
    """
    return _batch(_detect_series, pl.Utf8(), key)


def carrier_mismatch(key: pl.Expr, carrier: pl.Expr) -> pl.Expr:
    """True where the key is not valid for the declared carrier and names another one.

    The rule of carrier-formats §3.6: every format of the declared carrier fails, and
    :func:`detect_carrier` identifies a different carrier. False otherwise, including when
    the key is missing, invalid for everyone, or the carrier is null or ``other``.

    >>> pl.select(carrier_mismatch(pl.lit("1Z5R89390357567127"), pl.lit("fedex"))).item()
    True
    """
    return _batch(_mismatch_series, pl.Boolean(), key, carrier)
