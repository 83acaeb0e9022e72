"""Charge descriptions and codes → ``charge_type`` (``schema.CHARGE_TYPES``).

Carriers describe the same charge many ways ("Residential", "Residential Delivery",
"Demand-Residential Del."; UPS ``RES``). Two classifiers, both Polars expressions:

- :func:`charge_type_from_text` for free text (FedEx charge descriptions, DHL extra-charge
  names, postage tools, generic files): ordered patterns, first match wins, ``other`` when
  none does. Order matters: "DAS Resi" is a delivery-area charge, not a residential one;
  "Service Failure Credit (GSR)" is a refund, not a credit-card fee.
- :func:`ups_charge_type` for UPS Billing Data, which classifies by code (classification
  code, charge description code, charge category detail code) and falls back to the text
  only for codes it does not know, because UPS descriptions can be localised.

The tables are data; extend them when a real file shows a new wording.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "TEXT_RULES",
    "UPS_ADJUSTMENT_DETAIL_CODES",
    "UPS_DESCRIPTION_CODES",
    "charge_type_from_text",
    "charge_type_one",
    "ups_charge_category",
    "ups_charge_type",
    "ups_code_type",
]

#: (charge_type, pattern) checked in order on the lower-cased text; the first match wins.
TEXT_RULES: tuple[tuple[str, str], ...] = (
    ("refund", r"\bgsr\b|\bmbg\b|money.?back|service failure|guarantee|\brefund|\bvoid"),
    ("address_correction", r"address correction|addr\.? ?corr|\badc\b|address change"),
    ("discount", r"discount|performance pricing|incentive|earned|\bgrace\b|rebate|promo"),
    ("fuel", r"\bfuel|\bfsc\b"),
    ("residential", r"demand.{0,3}resi"),
    ("additional_handling", r"demand.{0,3}(?:add.?l|additional|oversize|large)"),
    (
        "additional_handling",
        r"add.?l\.? handling|additional handling|\bahs\b|oversize|over size|large package"
        r"|non.?standard|additional weight|\bahc\b|\bahg\b",
    ),
    (
        "delivery_area",
        r"\bdas\b|delivery area|out of delivery|remote area|extended area|\boda\b|rural|"
        r"\bedas\b|area surcharge",
    ),
    ("residential", r"residential|\bresi\b|\bres\b"),
    ("dimensional", r"dimensional|\bdim\b|dim weight|volumetric|cubic"),
    ("signature", r"signature|\bdsr\b|adult sig|indirect sig|direct sig|delivery confirmation"),
    ("saturday", r"saturday"),
    ("tax", r"\btax|\bvat\b|\bgst\b|\bhst\b|\bpst\b|\bdut(?:y|ies)\b"),
    (
        "adjustment",
        r"adjust|correction|audit|\bapv\b|underpaid|overpaid|re.?bill|weight change|"
        r"not previously billed|chargeback",
    ),
    (
        "transportation",
        r"transportation|freight|base charge|base rate|weight charge|postage|shipping charge|"
        r"\bshipment charge|ground|express|priority|overnight|next day|2.?day|2nd day|3 day|"
        r"home delivery|smartpost|surepost|first.?class|parcel select|media mail|\bnet charge",
    ),
)

#: UPS charge description codes (position 44) with a known meaning.
UPS_DESCRIPTION_CODES: dict[str, str] = {
    "FSC": "fuel",
    "RES": "residential",
    "RDC": "delivery_area",
    "RDR": "delivery_area",
    "LDC": "delivery_area",
    "LDR": "delivery_area",
    "RDE": "delivery_area",
    "RDX": "delivery_area",
    "AHC": "additional_handling",
    "AHG": "additional_handling",
    "AHL": "additional_handling",
    "AHW": "additional_handling",
    "AHD": "additional_handling",
    "NCB": "additional_handling",
    "NLN": "additional_handling",
    "LPS": "additional_handling",
    "OVS": "additional_handling",
    "DCS": "signature",
    "DCR": "signature",
    "CSG": "signature",
    "ADS": "signature",
    "SAT": "saturday",
    "SDL": "saturday",
    "SDP": "saturday",
    "ADC": "address_correction",
    "PSC": "other",
    "PSR": "other",
    "SAH": "other",
    "NPF": "other",
    "GSR": "refund",
    # Not a published UPS code: okc-recon's writers mark separate discount lines with it.
    "DSC": "discount",
}

#: UPS charge category detail codes (position 35) that mark a post-shipment adjustment.
UPS_ADJUSTMENT_DETAIL_CODES = (
    "ADC",
    "RADJ",
    "SCC",
    "CADJ",
    "CLB",
    "ZONE",
    "DIN",
    "GSR",
    "AGSR",
    "ADJ",
    "RCC",
)


def _key(text: pl.Expr) -> pl.Expr:
    return text.cast(pl.Utf8).str.to_lowercase().str.replace_all(r"[_\s]+", " ")


def charge_type_from_text(text: pl.Expr) -> pl.Expr:
    """The charge type of each description; ``other`` for unknown text, null for null."""
    key = _key(text)
    result: pl.Expr = pl.lit("other")
    for charge_type, pattern in reversed(TEXT_RULES):
        result = pl.when(key.str.contains(pattern)).then(pl.lit(charge_type)).otherwise(result)
    return pl.when(key.is_null()).then(pl.lit(None, dtype=pl.Utf8)).otherwise(result)


def charge_type_one(text: str) -> str:
    """:func:`charge_type_from_text` for one string (writers and tests)."""
    value = pl.select(charge_type_from_text(pl.lit(text, dtype=pl.Utf8))).item()
    return str(value)


def ups_charge_category(
    category_code: pl.Expr,
    detail_code: pl.Expr,
    has_tracking: pl.Expr,
    *,
    upper: bool = False,
) -> pl.Expr:
    """``schema.CHARGE_CATEGORIES`` from UPS charge category (34) and detail (35) codes.

    ``upper`` says the codes are upper case already (no need to convert them per row).
    """
    cat = category_code if upper else category_code.str.to_uppercase()
    detail = detail_code if upper else detail_code.str.to_uppercase()
    return (
        pl.when(detail == "VOID")
        .then(pl.lit("void"))
        .when((cat == "ADJ") | detail.is_in(UPS_ADJUSTMENT_DETAIL_CODES))
        .then(pl.lit("adjustment"))
        .when((cat == "MIS") | ~has_tracking)
        .then(pl.lit("invoice"))
        .when(cat == "RTN")
        .then(pl.lit("return"))
        .otherwise(pl.lit("shipment"))
    )


def ups_code_type(description_code: pl.Expr) -> pl.Expr:
    """The charge type a UPS charge description code (position 44) names, null if none."""
    return description_code.str.to_uppercase().replace_strict(
        UPS_DESCRIPTION_CODES, default=None, return_dtype=pl.Utf8
    )


def ups_charge_type(
    classification: pl.Expr,
    description_code: pl.Expr,
    detail_code: pl.Expr,
    description: pl.Expr,
    category: pl.Expr,
    *,
    text_type: pl.Expr | None = None,
    code_type: pl.Expr | None = None,
    upper: bool = False,
) -> pl.Expr:
    """The charge type of UPS rows, by code first and by description text only as fallback.

    ``category`` is the result of :func:`ups_charge_category`. Freight (``FRT``) rows are
    ``transportation`` whatever their category: a shipping charge correction re-rates the
    freight (its ``charge_category`` says it is an adjustment); guaranteed-service refunds
    are ``refund``; credit adjustments and other miscellaneous rows are classified by text.
    ``text_type`` (:func:`charge_type_from_text` of ``description``) and ``code_type``
    (:func:`ups_code_type` of ``description_code``) may be given when the caller has them
    already (computed once per distinct value); ``upper`` says the classification and detail
    codes are upper case already.
    """
    cls = classification if upper else classification.str.to_uppercase()
    detail = detail_code if upper else detail_code.str.to_uppercase()
    by_code = ups_code_type(description_code) if code_type is None else code_type
    if text_type is None:
        text_type = charge_type_from_text(description)
    return (
        pl.when(cls == "FSC")
        .then(pl.lit("fuel"))
        .when(cls.is_in(["TAX", "GOV"]))
        .then(pl.lit("tax"))
        .when(detail.is_in(["GSR", "AGSR"]))
        .then(pl.lit("refund"))
        .when(detail == "ADC")
        .then(pl.lit("address_correction"))
        .when(detail == "RADJ")
        .then(pl.lit("residential"))
        .when(by_code.is_not_null())
        .then(by_code)
        .when((cls == "FRT") & (category == "void"))
        .then(pl.lit("refund"))
        .when(cls == "FRT")
        .then(pl.lit("transportation"))
        .otherwise(text_type.fill_null(pl.lit("other")))
    )
