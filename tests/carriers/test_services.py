import polars as pl
import pytest

from okc_recon.carriers.services import (
    ServiceMap,
    normalize_carrier,
    normalize_service,
    service_catalog,
)
from okc_recon.errors import ConfigError
from okc_recon.schema import CARRIERS


@pytest.mark.parametrize(
    ("text", "carrier"),
    [
        ("FedEx", "fedex"),
        ("Federal Express", "fedex"),
        ("FEDEX_GROUND", "fedex"),
        ("UPS", "ups"),
        ("United Parcel Service", "ups"),
        ("USPS", "usps"),
        ("U.S. Postal Service", "usps"),
        ("Stamps.com", "usps"),
        ("DHL Express", "dhl"),
        ("OnTrac", "other"),
        ("GROUPS", "other"),
        (None, None),
        ("  ", None),
    ],
)
def test_normalize_carrier(text, carrier):
    assert pl.select(normalize_carrier(pl.lit(text, dtype=pl.Utf8))).item() == carrier


@pytest.mark.parametrize(
    ("carrier", "text", "service"),
    [
        ("fedex", "FE10", "fedex_ground"),
        ("fedex", "Ground", "fedex_ground"),
        ("fedex", "GROUND_HOME_DELIVERY", "fedex_home_delivery"),
        ("fedex", "FedEx Home-Delivery", "fedex_home_delivery"),
        ("ups", "03", "ups_ground"),
        ("ups", "3", "ups_ground"),
        ("ups", "Ground", "ups_ground"),
        ("usps", "GroundAdvantage", "usps_ground_advantage"),
        ("dhl", "EXPRESS WORLDWIDE", "dhl_express_worldwide"),
        ("ups", "FE10", None),
        ("fedex", "teleportation", None),
        ("fedex", None, None),
    ],
)
def test_normalize_service(carrier, text, service):
    expr = normalize_service(pl.lit(carrier), pl.lit(text, dtype=pl.Utf8))
    assert pl.select(expr).item() == service


def test_every_alias_names_a_catalog_service_of_its_carrier():
    catalog = dict(zip(*service_catalog().select("service", "carrier"), strict=True))
    for (carrier, _alias), service in ServiceMap.default().aliases.items():
        assert carrier in CARRIERS
        assert catalog[service] == carrier


def test_user_map_overrides_and_extends(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text(
        "carrier,alias,service\nfedex,FE10,fedex_home_delivery\nups,U-77,ups_2nd_day_air\n"
    )
    smap = ServiceMap.default().extend(path)
    assert smap.lookup("fedex", "fe10") == "fedex_home_delivery"
    assert smap.lookup("ups", "u 77") == "ups_2nd_day_air"
    assert ServiceMap.default().lookup("fedex", "FE10") == "fedex_ground"


def test_user_map_with_unknown_service_is_refused(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("carrier,alias,service\nfedex,FX,fedex_teleport\n")
    with pytest.raises(ConfigError, match=r"row 2.*fedex_teleport"):
        ServiceMap.default().extend(path)
