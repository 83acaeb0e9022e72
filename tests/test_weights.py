import math
import random

import polars as pl
import pytest

from okc_recon.schema import FULFILLMENT_SCHEMA, INVOICE_LINE_SCHEMA, conform
from okc_recon.weights import POUNDS_PER, infer_weight_unit, to_pounds


def frames(
    okc_unit: str, invoice_unit: str = "lb", n: int = 200, seed: int = 1, noise: bool = False
):
    rng = random.Random(seed)
    keys = [f"T{i:06d}" for i in range(n)]
    true_lb = [round(rng.uniform(0.3, 9.0), 2) for _ in keys]
    okc = [lb / POUNDS_PER[okc_unit] for lb in true_lb]
    if noise:
        okc = [rng.uniform(0.1, 500) for _ in keys]
    entered = [round(lb / POUNDS_PER[invoice_unit], 1) for lb in true_lb]
    billed = [math.ceil(e) for e in entered]
    f = conform(pl.DataFrame({"tracking_key": keys, "weight": okc}), FULFILLMENT_SCHEMA)
    lines = conform(
        pl.DataFrame(
            {
                "tracking_key": keys,
                "entered_weight": entered,
                "billed_weight": [float(b) for b in billed],
                "weight_unit": [invoice_unit] * n,
                "rated_on_dim": [False] * n,
            }
        ),
        INVOICE_LINE_SCHEMA,
    )
    return f, lines


@pytest.mark.parametrize("okc_unit", ["lb", "oz", "kg", "g"])
@pytest.mark.parametrize("invoice_unit", ["lb", "oz", "kg"])
def test_infers_the_unit_okc_uses(okc_unit, invoice_unit):
    result = infer_weight_unit(*frames(okc_unit, invoice_unit))
    assert result.unit == okc_unit, result.describe()
    assert result.confidence > 0.5
    assert result.matched == 200


def test_too_few_matches_says_so():
    result = infer_weight_unit(*frames("lb", n=5))
    assert result.unit is None
    assert "only 5" in result.reason


def test_weights_that_fit_no_unit_are_not_guessed():
    result = infer_weight_unit(*frames("lb", noise=True))
    assert result.unit is None
    assert "weight unit not inferred" in result.describe()


def test_to_pounds_by_column_and_by_name():
    df = pl.DataFrame({"w": [16.0, 1.0, 1000.0, 2.0], "u": ["oz", "kg", "g", "stone"]})
    out = df.select(to_pounds(pl.col("w"), pl.col("u")))["w"].to_list()
    assert out[0] == pytest.approx(1.0)
    assert out[1] == pytest.approx(2.2046, rel=1e-4)
    assert out[2] == pytest.approx(2.2046, rel=1e-4)
    assert out[3] is None
    with pytest.raises(ValueError, match="stone"):
        to_pounds(pl.col("w"), "stone")
