"""Every issue code fires on its planted case, with its money; every look-alike stays quiet."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import polars as pl
import pytest

from okc_recon.reconciliation import Rules
from tests.reconciliation.factory import (
    billed,
    exception,
    found,
    fulfillment,
    line,
    number,
    run,
    shipment,
    utc,
)


def test_a_clean_shipment_raises_nothing():
    t = number()
    recon = run([fulfillment(t)], billed(t))
    assert found(recon) == set()
    row = shipment(recon, t)
    assert row["carrier_total"] == Decimal("10.00")
    assert row["variance"] == Decimal("0.00")
    assert row["issues"] is None
    assert row["amount_at_stake"] == Decimal("0.00")


# --- UNBILLED ----------------------------------------------------------------------------------


def test_unbilled_shipment_is_accrued_after_the_grace_days():
    t = number()
    recon = run([fulfillment(t)], [])
    assert found(recon) == {(t, "UNBILLED")}
    row = exception(recon, t, "UNBILLED")
    assert row["amount_at_stake"] == Decimal("10.00")
    assert row["severity"] == "low"
    assert row["refund_candidate"] is False
    assert "70 days before 2025-12-15" in row["detail"]


def test_unbilled_within_grace_days_is_only_listed_as_unmatched():
    t = number()
    recon = run([fulfillment(t)], [], as_of=date(2025, 10, 10))
    assert found(recon) == set()
    okc_side = recon.unmatched.filter(pl.col("side") == "okc")
    assert okc_side["reason"].to_list() == ["not billed yet (within the grace days)"]


def test_canceled_unbilled_fulfillment_is_no_exception():
    t = number()
    recon = run([fulfillment(t, status="Canceled by Client")], [])
    assert found(recon) == set()
    assert recon.unmatched["reason"].to_list() == ["canceled, not billed"]


# --- NOT_IN_OKC ----------------------------------------------------------------------------------


def test_a_tracking_number_okc_never_had_is_one_exception_with_all_its_lines():
    known, stranger = number(), number()
    lines = [*billed(known), *billed(stranger, invoice_number="I-200")]
    recon = run([fulfillment(known)], lines)
    assert found(recon) == {(stranger, "NOT_IN_OKC")}
    row = exception(recon, stranger, "NOT_IN_OKC")
    assert row["amount_at_stake"] == Decimal("10.00")
    assert row["invoice_number"] == "I-200"
    assert row["refund_candidate"] is True
    assert row["claim_deadline"] == date(2026, 4, 9)  # invoice date + 180 days


def test_a_stranger_whose_lines_net_to_nothing_is_not_billed_money():
    stranger = number("usps")
    lines = [
        line(stranger, "8.50", carrier="usps", charge_category="void"),
        line(stranger, "-8.50", carrier="usps", charge_category="void"),
    ]
    recon = run([], lines)
    assert found(recon) == set()
    assert recon.unmatched["reason"].to_list() == ["not in OKC", "not in OKC"]


# --- BILLED_CANCELED -----------------------------------------------------------------------------


def test_canceled_but_billed_claims_the_whole_total_and_nothing_else():
    t = number()
    lines = [
        *billed(t),
        line(t, "16.00", charge_type="saturday", charge_description="Saturday Delivery"),
    ]
    recon = run([fulfillment(t, status="Canceled by OKC")], lines)
    assert found(recon) == {(t, "BILLED_CANCELED")}
    row = exception(recon, t, "BILLED_CANCELED")
    assert row["amount_at_stake"] == Decimal("26.00")
    assert row["refund_candidate"] is True


# --- DUPLICATE_BILLING ---------------------------------------------------------------------------


def test_charges_billed_again_on_a_later_invoice_are_a_duplicate():
    t = number()
    again = billed(t, invoice_number="I-101", invoice_date=date(2025, 10, 18), source_file="b.csv")
    recon = run([fulfillment(t)], [*billed(t), *again])
    assert found(recon) == {(t, "DUPLICATE_BILLING")}
    row = exception(recon, t, "DUPLICATE_BILLING")
    assert row["amount_at_stake"] == Decimal("10.00")
    assert row["invoice_number"] == "I-101"
    assert shipment(recon, t)["unexplained_variance"] == Decimal("0.00")
    flags = recon.invoice_lines.filter(pl.col("tracking_key") == t)["duplicate"].to_list()
    assert flags == [False, False, True, True]


def test_the_same_transportation_line_twice_on_one_invoice_is_a_duplicate():
    t = number()
    recon = run([fulfillment(t)], [*billed(t), line(t, "8.50")])
    assert found(recon) == {(t, "DUPLICATE_BILLING")}
    assert exception(recon, t, "DUPLICATE_BILLING")["amount_at_stake"] == Decimal("8.50")


def test_the_same_invoice_number_from_another_file_is_a_resent_copy_not_a_duplicate():
    t = number()
    # Two transportation lines of one invoice, one per file: not billed twice on that invoice.
    lines = [line(t, "4.25"), line(t, "4.25", source_file="resent.csv"), *billed(t)[1:]]
    recon = run([fulfillment(t, shipping_net_charge=Decimal("10.00"))], lines)
    assert ("DUPLICATE_BILLING") not in {code for _, code in found(recon)}


def test_multi_piece_packages_return_and_adjustment_are_not_duplicates():
    lead, piece, ret = number(), number(), number()
    lines = [
        *billed(lead),
        line(piece, "8.50", alt_tracking_key=lead),
        line(piece, "1.50", alt_tracking_key=lead, charge_type="fuel"),
        line(ret, "7.00", alt_tracking_key=lead, charge_category="return", invoice_number="I-101"),
        line(
            lead,
            "-1.00",
            charge_category="adjustment",
            charge_type="adjustment",
            invoice_number="I-102",
        ),
    ]
    recon = run([fulfillment(lead, shipping_net_charge=Decimal("20.00"), weight=4.0)], lines)
    assert found(recon) == {(lead, "ADJUSTMENT")}
    row = shipment(recon, lead)
    assert row["match_via"] == "both"
    assert row["entered_weight_lb"] == 4.0  # the packages add up; the return does not count
    assert not recon.invoice_lines["duplicate"].any()


# --- CHARGE_VARIANCE -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transportation", "expected"),
    [
        ("9.50", Decimal("1.00")),  # billed 1.00 more: beyond 0.25 + 2 % of 10.00
        ("7.00", Decimal("-1.50")),  # billed less
        ("8.90", None),  # 0.40 is within 0.45
        ("8.05", None),  # -0.45 is not beyond 0.45
        ("8.04", Decimal("-0.46")),
    ],
)
def test_charge_variance_beyond_absolute_plus_percent_tolerance(transportation, expected):
    t = number()
    lines = [line(t, transportation), billed(t)[1]]
    recon = run([fulfillment(t)], lines)
    if expected is None:
        assert found(recon) == set()
        return
    assert found(recon) == {(t, "CHARGE_VARIANCE")}
    row = exception(recon, t, "CHARGE_VARIANCE")
    assert row["amount_at_stake"] == expected
    assert row["refund_candidate"] is (expected > 0)
    assert shipment(recon, t)["variance"] == expected


def test_markup_turns_okc_charge_into_the_expected_carrier_cost_rounded_half_up():
    t = number()
    # 11.00 / 1.10 = 10.00 exactly; 10.01 / 1.1 = 9.1 (9.0999…) -> 9.10
    recon = run(
        [fulfillment(t, shipping_net_charge=Decimal("11.00"))],
        billed(t),
        rules=Rules(weight_unit="lb", markup=Decimal("0.10")),
    )
    assert found(recon) == set()
    assert shipment(recon, t)["expected_charge"] == Decimal("10.00")
    u = number()
    recon = run(
        [fulfillment(u, shipping_net_charge=Decimal("0.55"))],
        [line(u, "0.50")],
        rules=Rules(weight_unit="lb", markup=Decimal("0.10")),
    )
    assert shipment(recon, u)["expected_charge"] == Decimal("0.50")
    v = number()
    recon = run(
        [fulfillment(v, shipping_net_charge=Decimal("0.05"))],
        [line(v, "0.03")],
        rules=Rules(weight_unit="lb", markup=Decimal("1")),
    )
    assert shipment(recon, v)["expected_charge"] == Decimal("0.03")  # 0.025 -> 0.03, half up


def test_flat_rate_is_compared_only_when_asked():
    t = number()
    rows = [fulfillment(t, shipping_net_charge=Decimal("5.99"), shipping_charge_model="FLAT_RATE")]
    assert found(run(rows, billed(t))) == set()
    recon = run(rows, billed(t), rules=Rules(weight_unit="lb", compare_flat_rate=True))
    assert found(recon) == {(t, "CHARGE_VARIANCE")}
    assert exception(recon, t, "CHARGE_VARIANCE")["amount_at_stake"] == Decimal("4.01")


def test_a_surcharge_okc_passed_through_is_no_variance():
    t = number()
    lines = [*billed(t), line(t, "4.00", charge_type="delivery_area", charge_description="DAS")]
    for okc in ("10.00", "14.00"):  # OKC's charge leaves the surcharge out, or passes it through
        recon = run([fulfillment(t, shipping_net_charge=Decimal(okc))], lines)
        assert found(recon) == {(t, "SURCHARGE")}, okc


def test_a_prior_shipment_billed_here_only_by_an_adjustment_has_no_variance():
    t = number()
    recon = run(
        [fulfillment(t, pickup=date(2025, 9, 25))],
        [
            line(
                t,
                "2.00",
                charge_category="adjustment",
                charge_type="adjustment",
                ship_date=date(2025, 9, 25),
            )
        ],
    )
    assert found(recon) == {(t, "ADJUSTMENT")}
    assert exception(recon, t, "ADJUSTMENT")["period"] == "prior"


# --- WEIGHT_VARIANCE and DIM_WEIGHT ---------------------------------------------------------------


def test_entered_weight_off_by_more_than_the_tolerance():
    t = number()
    lines = [line(t, "8.50", entered_weight=2.6, billed_weight=3.0), billed(t)[1]]
    assert found(run([fulfillment(t)], lines)) == {(t, "WEIGHT_VARIANCE")}
    lines = [line(t, "8.50", entered_weight=2.7, billed_weight=3.0)]
    lines.append(line(t, "1.50", charge_type="fuel", entered_weight=2.7, billed_weight=3.0))
    assert found(run([fulfillment(t, weight=2.3)], lines)) == set()


def test_billed_actual_weight_above_okc_rounded_up():
    t = number()
    lines = [line(t, "8.50", entered_weight=None, billed_weight=4.0), billed(t)[1]]
    assert found(run([fulfillment(t, weight=2.3)], lines)) == {(t, "WEIGHT_VARIANCE")}
    lines = [line(t, "8.50", entered_weight=None, billed_weight=3.0), billed(t)[1]]
    assert found(run([fulfillment(t, weight=2.3)], lines)) == set()


def test_a_weight_correction_billed_later_is_weight_variance_money_and_an_adjustment():
    t = number()
    correction = line(
        t,
        "2.10",
        invoice_number="I-130",
        invoice_date=date(2025, 10, 25),
        charge_category="adjustment",
        charge_type="adjustment",
        charge_description="Shipping Charge Correction",
        entered_weight=None,
        billed_weight=5.0,
    )
    recon = run([fulfillment(t)], [*billed(t), correction])
    assert found(recon) == {(t, "WEIGHT_VARIANCE"), (t, "ADJUSTMENT")}
    assert exception(recon, t, "WEIGHT_VARIANCE")["amount_at_stake"] == Decimal("2.10")
    assert exception(recon, t, "WEIGHT_VARIANCE")["invoice_number"] == "I-130"
    assert exception(recon, t, "ADJUSTMENT")["amount_at_stake"] == Decimal("0.00")
    assert shipment(recon, t)["amount_at_stake"] == Decimal("2.10")


def test_weight_checks_are_skipped_when_the_unit_is_unknown():
    t = number()
    lines = [line(t, "8.50", entered_weight=9.0, billed_weight=9.0), billed(t)[1]]
    recon = run([fulfillment(t)], lines, rules=Rules())  # auto: one shipment cannot decide
    assert recon.weight_unit is None
    assert "not inferred" in recon.weight_unit_source
    assert found(recon) == set()
    assert shipment(recon, t)["okc_weight_lb"] is None


def test_weights_in_ounces_and_kilograms_are_compared_in_pounds():
    t = number("usps")
    lines = [
        line(
            t,
            "10.00",
            carrier="usps",
            service="usps_ground_advantage",
            entered_weight=32.0,
            billed_weight=32.0,
            weight_unit="oz",
        )
    ]
    okc = fulfillment(t, carrier="usps", service="usps_ground_advantage", weight=2.0)
    assert found(run([okc], lines)) == set()
    recon = run([okc], lines, rules=Rules(weight_unit="oz"))  # OKC's 2 read as ounces
    assert found(recon) == {(t, "WEIGHT_VARIANCE")}
    assert shipment(recon, t)["okc_weight_lb"] == 0.125


def test_dimensional_billing_above_actual_weight():
    t = number()
    lines = [
        line(t, "8.50", rated_on_dim=True, billed_weight=6.0, entered_weight=2.0),
        billed(t)[1],
    ]
    recon = run([fulfillment(t)], lines)
    assert found(recon) == {(t, "DIM_WEIGHT")}
    assert exception(recon, t, "DIM_WEIGHT")["amount_at_stake"] == Decimal("0.00")
    lines.append(line(t, "3.25", charge_type="dimensional", charge_description="DIM"))
    recon = run([fulfillment(t, shipping_net_charge=Decimal("13.25"))], lines)
    assert exception(recon, t, "DIM_WEIGHT")["amount_at_stake"] == Decimal("3.25")
    assert shipment(recon, t)["rated_on_dim"] is True


def test_dimensional_billing_without_entered_weight_uses_okc_weight():
    t = number()
    dim = {"rated_on_dim": True, "billed_weight": 6.0, "entered_weight": None}
    lines = [line(t, "8.50", **dim), line(t, "1.50", charge_type="fuel", **dim)]
    assert found(run([fulfillment(t, weight=7.0)], lines)) == set()
    assert found(run([fulfillment(t, weight=2.0)], lines)) == {(t, "DIM_WEIGHT")}


# --- LATE_DELIVERY -------------------------------------------------------------------------------


def _next_day_air(t: str, shipped: date, delivered: date, **changes) -> list[dict]:
    return [
        line(
            t,
            "30.00",
            service="ups_next_day_air",
            ship_date=shipped,
            delivery_date=delivered,
            **changes,
        ),
        line(
            t,
            "5.00",
            service="ups_next_day_air",
            ship_date=shipped,
            delivery_date=delivered,
            charge_type="fuel",
            **changes,
        ),
    ]


def _nda_fulfillment(t: str, shipped: date) -> dict:
    return fulfillment(
        t, service="ups_next_day_air", shipping_net_charge=Decimal("35.00"), pickup=shipped
    )


def test_guaranteed_service_delivered_a_business_day_late():
    t = number()
    lines = _next_day_air(t, date(2025, 10, 9), date(2025, 10, 13))  # Thu -> due Fri
    recon = run([_nda_fulfillment(t, date(2025, 10, 9))], lines, as_of=date(2025, 10, 20))
    assert found(recon) == {(t, "LATE_DELIVERY")}
    row = exception(recon, t, "LATE_DELIVERY")
    assert row["amount_at_stake"] == Decimal("30.00")  # transportation only, not fuel
    assert row["expected_delivery"] == date(2025, 10, 10)
    assert row["claim_deadline"] == date(2025, 10, 28)  # 15 days after the later date
    assert row["days_left_to_file"] == 8
    assert row["refund_candidate"] is True
    late = run([_nda_fulfillment(t, date(2025, 10, 9))], lines)  # as of 15 December
    assert exception(late, t, "LATE_DELIVERY")["refund_candidate"] is False
    assert exception(late, t, "LATE_DELIVERY")["days_left_to_file"] == -48


def test_commitment_time_with_sixty_seconds_of_grace():
    t = number("fedex")
    okc = fulfillment(
        t,
        carrier="fedex",
        service="fedex_priority_overnight",
        shipping_net_charge=Decimal("40.00"),
        pickup=date(2025, 10, 7),
    )

    def delivered_at(at: time) -> set:
        lines = [
            line(
                t,
                "40.00",
                carrier="fedex",
                service="fedex_priority_overnight",
                ship_date=date(2025, 10, 7),
                delivery_date=date(2025, 10, 8),
                delivery_time=at,
            )
        ]
        return found(run([okc], lines))

    assert delivered_at(time(10, 31, 0)) == set()  # 10:30 + 60 s
    assert delivered_at(time(10, 31, 1)) == {(t, "LATE_DELIVERY")}


def test_carrier_holidays_are_not_transit_days():
    t = number()
    lines = _next_day_air(t, date(2025, 11, 26), date(2025, 11, 28))  # over Thanksgiving
    recon = run([_nda_fulfillment(t, date(2025, 11, 26))], lines, period="2025-11")
    assert found(recon) == set()


def test_no_guarantee_no_late_delivery():
    t = number()
    lines = [line(t, "8.50", delivery_date=date(2025, 10, 30)), billed(t)[1]]
    assert found(run([fulfillment(t)], lines)) == set()  # UPS Ground: suspended since 2020
    u = number("fedex")
    okc = fulfillment(
        u,
        carrier="fedex",
        service="fedex_priority_overnight",
        shipping_net_charge=Decimal("40.00"),
        pickup=date(2022, 12, 15),
        created_at=utc(date(2022, 12, 14)),
    )
    lines = [
        line(
            u,
            "40.00",
            carrier="fedex",
            service="fedex_priority_overnight",
            ship_date=date(2022, 12, 15),
            delivery_date=date(2022, 12, 19),
            invoice_date=date(2022, 12, 20),
        )
    ]
    recon = run([okc], lines, period="2022-12", as_of=date(2023, 1, 5))
    assert found(recon) == set()  # FedEx suspended its guarantee over peak 2022


def test_a_late_delivery_already_refunded_is_an_adjustment_only():
    t = number()
    lines = [
        *_next_day_air(t, date(2025, 10, 9), date(2025, 10, 13)),
        line(
            t,
            "-30.00",
            service="ups_next_day_air",
            charge_category="adjustment",
            charge_type="refund",
            charge_description="Guaranteed Service Refund",
            invoice_number="I-140",
            invoice_date=date(2025, 10, 25),
        ),
    ]
    recon = run([_nda_fulfillment(t, date(2025, 10, 9))], lines)
    assert found(recon) == {(t, "ADJUSTMENT")}
    assert exception(recon, t, "ADJUSTMENT")["amount_at_stake"] == Decimal("-30.00")


def test_extra_closures_from_the_rules_shift_the_due_date():
    t = number()
    lines = _next_day_air(t, date(2025, 10, 9), date(2025, 10, 13))
    rules = Rules(weight_unit="lb", holidays={"ups": ["2025-10-10"]})
    assert found(run([_nda_fulfillment(t, date(2025, 10, 9))], lines, rules=rules)) == set()


# --- CARRIER_MISMATCH and SERVICE_MISMATCH ------------------------------------------------------


def test_billed_by_another_carrier():
    t = number("fedex")
    lines = [
        line(t, "8.50", carrier="fedex", service="fedex_home_delivery"),
        line(t, "1.50", carrier="fedex", service="fedex_home_delivery", charge_type="fuel"),
    ]
    recon = run([fulfillment(t)], lines)  # OKC says UPS
    assert found(recon) == {(t, "CARRIER_MISMATCH")}
    row = exception(recon, t, "CARRIER_MISMATCH")
    assert row["amount_at_stake"] == Decimal("0.00")
    assert "billed by fedex" in row["detail"]


def test_unbilled_shipment_whose_number_belongs_to_another_carrier():
    t = number("fedex", "fedex_express_12")
    recon = run([fulfillment(t)], [])  # OKC says UPS
    assert found(recon) == {(t, "UNBILLED"), (t, "CARRIER_MISMATCH")}
    assert "fedex number" in exception(recon, t, "CARRIER_MISMATCH")["detail"]


def test_service_upgrade_is_a_mismatch_and_equivalent_services_are_not():
    t = number()
    lines = [line(t, "8.50", service="ups_2nd_day_air"), billed(t)[1]]
    recon = run([fulfillment(t)], lines)
    assert found(recon) == {(t, "SERVICE_MISMATCH")}
    assert exception(recon, t, "SERVICE_MISMATCH")["service"] == "ups_2nd_day_air"
    u = number("fedex")
    okc = fulfillment(u, carrier="fedex", service="fedex_ground")
    lines = [line(u, "10.00", carrier="fedex", service="fedex_home_delivery")]
    assert found(run([okc], lines)) == set()
    assert found(run([okc], lines, rules=Rules(weight_unit="lb", service_equivalents=[]))) == {
        (u, "SERVICE_MISMATCH")
    }


# --- ADDRESS_CORRECTION, SURCHARGE, ADJUSTMENT --------------------------------------------------


def test_address_correction_on_a_later_invoice():
    t = number()
    fix = line(
        t,
        "17.00",
        invoice_number="I-120",
        invoice_date=date(2025, 10, 20),
        charge_category="adjustment",
        charge_type="address_correction",
        charge_description="Address Correction",
    )
    recon = run([fulfillment(t)], [*billed(t), fix])
    assert found(recon) == {(t, "ADDRESS_CORRECTION")}
    row = exception(recon, t, "ADDRESS_CORRECTION")
    assert row["amount_at_stake"] == Decimal("17.00")
    assert row["invoice_number"] == "I-120"
    assert row["severity"] == "medium"


def test_one_surcharge_exception_per_flagged_type_and_residential_is_not_flagged():
    t = number()
    lines = [
        *billed(t),
        line(t, "16.00", charge_type="saturday", charge_description="Saturday Delivery"),
        line(t, "12.00", charge_type="additional_handling", charge_description="AH"),
        line(t, "3.00", charge_type="additional_handling", charge_description="AH weight"),
        line(t, "4.10", charge_type="residential", charge_description="Residential"),
    ]
    recon = run([fulfillment(t, shipping_net_charge=Decimal("14.10"))], lines)
    rows = recon.exceptions.sort("amount_at_stake")
    assert rows["issue_code"].to_list() == ["SURCHARGE", "SURCHARGE"]
    assert rows["amount_at_stake"].to_list() == [Decimal("15.00"), Decimal("16.00")]
    assert "additional_handling" in rows["detail"][0]
    custom = Rules(weight_unit="lb", surcharge_types={"saturday"}, severities={"SURCHARGE": "high"})
    recon = run([fulfillment(t, shipping_net_charge=Decimal("29.10"))], lines, rules=custom)
    assert recon.exceptions["severity"].to_list() == ["high"]


def test_later_corrections_and_credits_are_adjustments():
    t = number()
    later = {
        "invoice_number": "I-150",
        "invoice_date": date(2025, 10, 29),
        "charge_category": "adjustment",
    }
    lines = [
        *billed(t),
        line(t, "3.00", charge_type="transportation", **later),
        line(t, "-2.00", charge_type="discount", **later),
    ]
    recon = run([fulfillment(t)], lines)
    assert found(recon) == {(t, "ADJUSTMENT")}
    row = exception(recon, t, "ADJUSTMENT")
    assert row["amount_at_stake"] == Decimal("1.00")
    assert row["invoice_number"] == "I-150"
    credit = run([fulfillment(t)], [*billed(t), line(t, "-2.00", **later)])
    assert exception(credit, t, "ADJUSTMENT")["amount_at_stake"] == Decimal("-2.00")
    assert exception(credit, t, "ADJUSTMENT")["refund_candidate"] is False


# --- periods -------------------------------------------------------------------------------------


def test_prior_period_shipment_billed_this_month_is_matched_not_foreign():
    t = number()
    okc = fulfillment(t, pickup=date(2025, 9, 29), created_at=utc(date(2025, 9, 28)))
    recon = run([okc], billed(t, ship_date=date(2025, 9, 29), invoice_date=date(2025, 10, 4)))
    assert found(recon) == set()
    assert shipment(recon, t)["period"] == "prior"
    assert set(recon.invoice_lines["period"]) == {"prior"}


def test_a_prior_shipment_not_billed_in_this_run_is_outside_it():
    t = number("fedex", "fedex_express_12")
    okc = fulfillment(t, pickup=date(2025, 9, 10), created_at=utc(date(2025, 9, 9)))
    recon = run([okc], [])  # OKC says UPS for a FedEx number: its own month's business
    assert found(recon) == set()
    assert recon.unmatched.is_empty()
    assert recon.summary.filter(pl.col("carrier") == "all")["shipments"].item() == 0
    assert recon.shipments.height == 1


def test_a_line_shipped_after_the_period_belongs_to_the_next_run():
    t, u = number(), number()
    nov = date(2025, 11, 3)
    okc = fulfillment(u, pickup=nov, created_at=utc(nov))
    lines = [*billed(t, ship_date=nov), *billed(u, ship_date=date(2025, 10, 31))]
    recon = run([okc], lines)
    assert found(recon) == set()
    assert set(recon.unmatched["reason"]) == {"shipped after the period"}
    assert recon.cannot_reconcile["reason"].to_list() == ["picked up after the period"]
    assert recon.invoice_lines["period"].to_list() == ["next", "next", "current", "current"]


def test_exceptions_are_sorted_by_money_at_stake():
    a, b, c = number(), number(), number()
    lines = [*billed(a), line(a, "30.00", charge_type="saturday"), *billed(b)]
    lines += billed(b, invoice_number="I-101", invoice_date=date(2025, 10, 18))
    recon = run([fulfillment(a), fulfillment(b), fulfillment(c)], lines)
    assert recon.exceptions["issue_code"].to_list() == [
        "SURCHARGE",
        "UNBILLED",  # ties keep the rule book's order of codes
        "DUPLICATE_BILLING",
    ]
    assert recon.exceptions["amount_at_stake"].to_list() == [
        Decimal("30.00"),
        Decimal("10.00"),
        Decimal("10.00"),
    ]
