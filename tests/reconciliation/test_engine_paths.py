"""The engine's shortcuts give the answers of the plain path.

Tracking keys and invoices are matched through 64-bit hashes verified on the text, and the
work frames are rebuilt so their columns share one chunk layout. These tests force the rare
paths (hash collisions, inputs made of many chunks) and check that nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from okc_recon.reconciliation import Reconciliation, Rules, _match, reconcile
from tests.reconciliation.factory import (
    AS_OF,
    PERIOD,
    billed,
    fulfillment,
    fulfillments_frame,
    line,
    lines_frame,
    number,
    utc,
)

_FRAMES = (
    "shipments",
    "exceptions",
    "invoice_lines",
    "unmatched",
    "cannot_reconcile",
    "summary",
    "issue_summary",
)


def _month() -> tuple[pl.DataFrame, pl.DataFrame]:
    """A month with one of each matching situation."""
    clean, shared, lead, dup, copy, late_adj, stranger = (number() for _ in range(7))
    piece = number()
    fulfillments = [
        fulfillment(clean),
        fulfillment(shared, fulfillment_id="first", created_at=utc(date(2025, 10, 1))),
        fulfillment(shared, fulfillment_id="second", created_at=utc(date(2025, 10, 2))),
        fulfillment(lead),
        fulfillment(dup),
        fulfillment(copy),
        fulfillment(late_adj, status="Canceled"),
        fulfillment(None, fulfillment_id="no-key"),
        fulfillment(number(), pickup=date(2025, 11, 3)),  # after the period
    ]
    lines = [
        *billed(clean),
        *billed(shared),
        *billed(lead),
        line(piece, "6.50", alt_tracking_key=lead),  # a second package of a multi-piece
        line(piece, "0.90", alt_tracking_key=lead, charge_type="fuel"),
        *billed(dup),
        *billed(dup, invoice_number="I-200", invoice_date=date(2025, 10, 18)),
        *billed(copy),
        line(copy, "8.50"),  # the same transportation line twice on one invoice
        *billed(late_adj),
        line(
            late_adj,
            "2.25",
            charge_category="adjustment",
            charge_type="adjustment",
            invoice_number=None,
            source_file="adjustments.csv",
        ),
        line(stranger, "9.99"),
        line(None, "4.00", charge_category="invoice", charge_type="other"),
    ]
    return fulfillments_frame(fulfillments), lines_frame(lines)


def _reconcile(fulfillments: pl.DataFrame, lines: pl.DataFrame) -> Reconciliation:
    return reconcile(fulfillments, lines, rules=Rules(weight_unit="lb"), period=PERIOD, as_of=AS_OF)


def _assert_same(got: Reconciliation, want: Reconciliation) -> None:
    for name in _FRAMES:
        assert_frame_equal(getattr(got, name), getattr(want, name))


def test_the_month_exercises_every_path() -> None:
    recon = _reconcile(*_month())
    codes = set(recon.exceptions["issue_code"])
    assert {"DUPLICATE_BILLING", "NOT_IN_OKC", "BILLED_CANCELED"} <= codes
    assert recon.invoice_lines["duplicate"].sum() == 3
    assert set(recon.invoice_lines["match_via"].drop_nulls()) == {
        "tracking_key",
        "alt_tracking_key",
    }
    assert "shares tracking number with fulfillment first" in set(recon.cannot_reconcile["reason"])


@pytest.mark.parametrize(
    "weak",
    [
        # every key of the same length collides: the join pairs lines with wrong shipments
        pytest.param(
            {"_key_hash": lambda key: pl.when(key.is_not_null()).then(key.str.len_bytes())},
            id="tracking-keys",
        ),
        # every invoice collides: the invoice table falls back to the text
        pytest.param(
            {"_invoice_hash": lambda: pl.col("carrier").is_null().cast(pl.UInt64)},
            id="invoices",
        ),
    ],
)
def test_hash_collisions_change_nothing(
    weak: dict[str, Callable[..., pl.Expr]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fulfillments, lines = _month()
    want = _reconcile(fulfillments, lines)
    for name, function in weak.items():
        monkeypatch.setattr(_match, name, function)
    _assert_same(_reconcile(fulfillments, lines), want)


def test_inputs_made_of_many_chunks_give_the_same_result() -> None:
    fulfillments, lines = _month()

    def chunked(frame: pl.DataFrame) -> pl.DataFrame:
        pieces = [frame.slice(start, 3) for start in range(0, frame.height, 3)]
        return pl.concat(pieces, rechunk=False)

    many = (chunked(fulfillments), chunked(lines))
    assert many[1].n_chunks() > 1
    _assert_same(_reconcile(*many), _reconcile(fulfillments, lines))


def test_a_copy_is_judged_among_transportation_lines_only() -> None:
    # An adjustment with the same text and amount, earlier in the same file, is not the first
    # of the copies: the first transportation line is.
    t = number()
    lines = [
        line(t, "8.50", charge_category="adjustment"),
        *billed(t),
        line(t, "8.50"),
    ]
    recon = _reconcile(fulfillments_frame([fulfillment(t)]), lines_frame(lines))
    assert recon.invoice_lines["duplicate"].to_list() == [False, False, False, True]
