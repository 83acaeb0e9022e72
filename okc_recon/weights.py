"""Weight units: converting to pounds, and inferring the unit OKC's ``weight`` is in.

OKC does not publish the unit of a fulfillment's ``weight``. Carriers do: UPS and FedEx bill
in pounds (or kilograms), postage tools in ounces, DHL in kilograms. So the unit can be
inferred by matching fulfillments to invoice lines by tracking number and asking which unit
makes OKC's numbers agree with the weights the shipper entered on the label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import polars as pl

__all__ = ["POUNDS_PER", "WeightUnitInference", "infer_weight_unit", "to_pounds"]

#: pounds in one unit
POUNDS_PER: dict[str, float] = {"lb": 1.0, "oz": 1 / 16, "kg": 2.20462262185, "g": 0.00220462262185}

Unit = Literal["lb", "oz", "kg", "g"]


def to_pounds(value: pl.Expr, unit: str | pl.Expr) -> pl.Expr:
    """``value`` converted to pounds; null when the unit is null or not a weight unit."""
    if isinstance(unit, str):
        factor = POUNDS_PER.get(unit)
        if factor is None:
            raise ValueError(
                f"unknown weight unit {unit!r}; expected one of {', '.join(POUNDS_PER)}"
            )
        return value.cast(pl.Float64) * factor
    return value.cast(pl.Float64) * unit.replace_strict(
        POUNDS_PER, default=None, return_dtype=pl.Float64
    )


@dataclass(frozen=True)
class WeightUnitInference:
    """What :func:`infer_weight_unit` concluded, with its evidence.

    ``unit`` is ``None`` when the evidence does not decide; weight comparisons are then
    skipped. ``agree_share`` is the share of matched shipments whose entered weight agrees
    with OKC's weight read in ``unit``; ``runner_up_share`` the same for the next best unit;
    ``median_ratio`` is the median of entered pounds ÷ OKC's number.
    """

    unit: Unit | None
    confidence: float
    matched: int
    agree_share: float
    runner_up: str | None
    runner_up_share: float
    median_ratio: float | None
    reason: str

    def describe(self) -> str:
        """One sentence for logs, notebooks and the workbook's Run info."""
        if self.unit is None:
            return f"weight unit not inferred: {self.reason}"
        return (
            f"weight unit inferred as {self.unit} ({self.confidence:.0%} confidence): "
            f"{self.agree_share:.0%} of {self.matched} matched shipments agree "
            f"(next best {self.runner_up} {self.runner_up_share:.0%}); "
            f"median entered/OKC ratio {self.median_ratio:.3g}"
        )


def infer_weight_unit(
    fulfillments: pl.DataFrame,
    invoice_lines: pl.DataFrame,
    *,
    min_matches: int = 20,
    min_agree: float = 0.6,
    min_margin: float = 0.2,
    rel_tolerance: float = 0.15,
    abs_tolerance_lb: float = 0.25,
) -> WeightUnitInference:
    """Infer the unit of ``fulfillments.weight`` from ``invoice_lines`` weights.

    Each fulfillment matched by ``tracking_key`` to an invoice line with an entered weight
    (falling back to a billed weight not rated on dimensions) votes for every unit in which
    its weight agrees with the invoice's within ``max(abs_tolerance_lb, rel_tolerance ×
    weight)``. The unit with the most votes wins when at least ``min_matches`` shipments
    matched, its share is at least ``min_agree``, and it beats the runner-up by
    ``min_margin``; otherwise the unit is ``None`` and the reason says why.
    """
    invoice_lb = (
        invoice_lines.lazy()
        .filter(pl.col("tracking_key").is_not_null() & pl.col("weight_unit").is_not_null())
        .with_columns(
            entered=to_pounds(pl.col("entered_weight"), pl.col("weight_unit")),
            billed=pl.when(~pl.col("rated_on_dim").fill_null(False))
            .then(to_pounds(pl.col("billed_weight"), pl.col("weight_unit")))
            .otherwise(None),
        )
        .group_by("tracking_key")
        .agg(pl.col("entered").max(), pl.col("billed").max())
        .select("tracking_key", invoice_lb=pl.coalesce("entered", "billed"))
        .filter(pl.col("invoice_lb") > 0)
    )
    matched = (
        fulfillments.lazy()
        .filter(pl.col("tracking_key").is_not_null() & (pl.col("weight") > 0))
        .select("tracking_key", "weight")
        .unique("tracking_key")
        .join(invoice_lb, on="tracking_key", how="inner")
        .collect()
    )
    n = matched.height
    if n < min_matches:
        return WeightUnitInference(
            None,
            0.0,
            n,
            0.0,
            None,
            0.0,
            None,
            f"only {n} shipments matched with weights on both sides (need {min_matches})",
        )
    shares = {
        unit: matched.select(
            (
                (pl.col("invoice_lb") - pl.col("weight") * factor).abs()
                <= pl.max_horizontal(
                    pl.lit(abs_tolerance_lb), pl.col("weight") * factor * rel_tolerance
                )
            ).mean()
        ).item()
        for unit, factor in POUNDS_PER.items()
    }
    ranked = sorted(shares.items(), key=lambda kv: kv[1], reverse=True)
    (best, best_share), (second, second_share) = ranked[0], ranked[1]
    median_ratio = matched.select((pl.col("invoice_lb") / pl.col("weight")).median()).item()
    confidence = round(max(0.0, best_share - second_share) * (1 - math.exp(-n / 50)), 3)
    if best_share < min_agree:
        reason = f"no unit fits: the best, {best}, agrees on only {best_share:.0%} of {n} shipments"
        return WeightUnitInference(
            None, confidence, n, best_share, second, second_share, median_ratio, reason
        )
    if best_share - second_share < min_margin:
        reason = (
            f"{best} ({best_share:.0%}) and {second} ({second_share:.0%}) fit about equally well"
        )
        return WeightUnitInference(
            None, confidence, n, best_share, second, second_share, median_ratio, reason
        )
    return WeightUnitInference(
        best,  # type: ignore[arg-type]
        confidence,
        n,
        best_share,
        second,
        second_share,
        median_ratio,
        f"{best} agrees on {best_share:.0%} of {n} matched shipments",
    )
