"""Carrier and service names: what OKC and the carriers write, normalised to one vocabulary.

Carriers become one of :data:`okc_recon.schema.CARRIERS`. Services become a name from
``data/services.csv`` (``fedex_ground``, ``ups_next_day_air``, …) through an alias table,
``data/service_aliases.csv``, that users extend with their own CSV (columns ``carrier``,
``alias``, ``service``) or mapping, because OKC's method codes (``FE10``…) are not published.
Texts are matched after lower-casing and collapsing every run of non-alphanumerics to one
space, so ``"FedEx Home-Delivery"`` and ``"FEDEX_HOME_DELIVERY"`` are the same alias.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from okc_recon.errors import ConfigError

__all__ = [
    "ServiceMap",
    "normalize_carrier",
    "normalize_key",
    "normalize_service",
    "service_catalog",
]

# Checked in order; the first pattern that matches the normalised carrier text wins.
_CARRIER_PATTERNS = (
    (
        "usps",
        r"\b(usps|us postal|u s postal|united states postal|postal service|stamps com|endicia)\b",
    ),
    ("fedex", r"\b(fedex|fed ex|federal express|fdx|fdxe|fdxg|fxsp|smartpost)\b"),
    ("ups", r"\b(ups|united parcel|ups mail innovations)\b"),
    ("dhl", r"\b(dhl|dhlexpress|dhl express|dhl ecommerce)\b"),
)


def normalize_key(expr: pl.Expr) -> pl.Expr:
    """Lower case, every run of non-alphanumerics one space, trimmed; empty text is null."""
    key = (
        expr.cast(pl.Utf8).str.to_lowercase().str.replace_all(r"[^0-9a-z]+", " ").str.strip_chars()
    )
    return pl.when(key == "").then(None).otherwise(key)


def _normalize_key_one(text: str) -> str:
    return " ".join(
        "".join(c if c.isalnum() and c.isascii() else " " for c in text.lower()).split()
    )


def normalize_carrier(expr: pl.Expr) -> pl.Expr:
    """``fedex``, ``ups``, ``usps``, ``dhl`` or ``other`` from free carrier text; null stays null.

    >>> pl.select(normalize_carrier(pl.lit("Federal Express"))).item()
    'fedex'
    """
    key = normalize_key(expr)
    result: pl.Expr = pl.lit("other")
    for carrier, pattern in reversed(_CARRIER_PATTERNS):
        result = pl.when(key.str.contains(pattern)).then(pl.lit(carrier)).otherwise(result)
    return pl.when(key.is_null()).then(pl.lit(None, dtype=pl.Utf8)).otherwise(result)


@cache
def service_catalog() -> pl.DataFrame:
    """Every known service: ``service``, ``carrier``, ``label``, ``service_class``.

    ``service_class`` (overnight, 2day, 3day, ground, economy, international) lets
    comparisons tell an upgrade from an equivalent service.
    """
    text = resources.files("okc_recon.data").joinpath("services.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return pl.DataFrame(
        rows,
        schema={"service": pl.Utf8, "carrier": pl.Utf8, "label": pl.Utf8, "service_class": pl.Utf8},
    )


def _read_alias_rows(lines: Iterable[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(line for line in lines if line.strip() and not line.startswith("#")))


@dataclass(frozen=True)
class ServiceMap:
    """Aliases ``(carrier, text) -> service``, built-ins first, user entries overriding them.

    >>> smap = ServiceMap.default().extend({("fedex", "FX99"): "fedex_2day"})
    >>> smap.lookup("fedex", "fx-99")
    'fedex_2day'
    """

    aliases: Mapping[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    @cache
    def default(cls) -> ServiceMap:
        """The aliases shipped with okc-recon."""
        text = (
            resources.files("okc_recon.data")
            .joinpath("service_aliases.csv")
            .read_text(encoding="utf-8")
        )
        return cls()._with_rows(_read_alias_rows(text.splitlines()), origin="built-in table")

    def extend(self, extra: Mapping[tuple[str, str], str] | str | Path | None) -> ServiceMap:
        """A map with ``extra`` added: a ``{(carrier, alias): service}`` mapping or a CSV path."""
        if extra is None:
            return self
        if isinstance(extra, (str, Path)):
            path = Path(extra)
            try:
                lines = path.read_text(encoding="utf-8-sig").splitlines()
            except OSError as exc:
                raise ConfigError(f"cannot read service map {path}: {exc.strerror}") from exc
            return self._with_rows(_read_alias_rows(lines), origin=str(path))
        rows = [{"carrier": c, "alias": a, "service": s} for (c, a), s in extra.items()]
        return self._with_rows(rows, origin="service map")

    def _with_rows(self, rows: list[dict[str, str]], *, origin: str) -> ServiceMap:
        known = set(service_catalog()["service"].to_list())
        aliases = dict(self.aliases)
        for number, row in enumerate(rows, start=2):
            try:
                carrier, alias, service = (
                    row["carrier"].strip().lower(),
                    row["alias"],
                    row["service"].strip(),
                )
            except (KeyError, AttributeError):
                raise ConfigError(
                    f"{origin}: row {number} needs carrier, alias and service columns"
                ) from None
            if service not in known:
                raise ConfigError(
                    f"{origin}: row {number}: unknown service {service!r}; "
                    f"known: {', '.join(sorted(known))}"
                )
            aliases[(carrier, _normalize_key_one(alias))] = service
        return ServiceMap(aliases)

    def lookup(self, carrier: str, text: str) -> str | None:
        """The service for one carrier + text, or ``None``."""
        return self.aliases.get((carrier, _normalize_key_one(text)))

    def as_dict(self) -> dict[str, str]:
        """``"carrier|alias" -> service``, the form :func:`normalize_service` joins on."""
        return {f"{carrier}|{alias}": service for (carrier, alias), service in self.aliases.items()}


def normalize_service(
    carrier: pl.Expr, text: pl.Expr, service_map: ServiceMap | None = None
) -> pl.Expr:
    """The normalised service for a normalised ``carrier`` and a raw service ``text``.

    Null when the text is empty or not in the map: unknown is reported, never guessed.
    """
    smap = service_map or ServiceMap.default()
    lookup = carrier.cast(pl.Utf8) + pl.lit("|") + normalize_key(text)
    return lookup.replace_strict(smap.as_dict(), default=None, return_dtype=pl.Utf8)
