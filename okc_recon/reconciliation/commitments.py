"""Service commitments: which services carry a money-back guarantee, on which dates, and how
long a refund claim may wait.

Carriers have suspended and reinstated their guarantees several times since 2020, so the table
is dated: each row is valid from ``valid_from`` to ``valid_to`` (inclusive, empty = open). The
built-in rows live in ``okc_recon/data/service_commitments.csv`` with a ``confidence`` and a
``source`` note each; users add or override rows with their own CSV of the same columns.
When several rows match a shipment, the one added last wins, so a user's row overrides a
built-in one for the dates it covers.

    >>> table = Commitments.default().extend("my_commitments.csv")  # doctest: +SKIP
    >>> table.lookup("ups", "ups_next_day_air", date(2025, 10, 7)).commitment_time
    datetime.time(23, 59)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import polars as pl

from okc_recon.carriers.services import service_catalog
from okc_recon.errors import ConfigError
from okc_recon.schema import CARRIERS

__all__ = ["CLAIM_WINDOW_STARTS", "COLUMNS", "Commitments", "ServiceCommitment"]

#: When a claim window starts: ``delivery`` the later of the scheduled and the actual
#: delivery date, ``invoice`` the date of the invoice that billed the shipment, ``ship`` the
#: ship date.
CLAIM_WINDOW_STARTS = ("delivery", "invoice", "ship")
ClaimWindowStart = Literal["delivery", "invoice", "ship"]

#: The columns of a commitments CSV, in order.
COLUMNS = (
    "carrier",
    "service",
    "valid_from",
    "valid_to",
    "transit_business_days",
    "commitment_time",
    "guaranteed",
    "claim_window_days",
    "claim_window_start",
    "confidence",
    "source",
)

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


@dataclass(frozen=True)
class ServiceCommitment:
    """One carrier service's commitment over a range of ship dates.

    ``transit_business_days`` is ``None`` when the commitment depends on the lane or zone
    (okc-recon then cannot check it); ``commitment_time`` ``None`` means end of day.
    """

    carrier: str
    service: str
    valid_from: date | None
    valid_to: date | None
    transit_business_days: int | None
    commitment_time: time | None
    guaranteed: bool
    claim_window_days: int | None
    claim_window_start: ClaimWindowStart
    confidence: str = "low"
    source: str = ""

    def covers(self, ship_date: date) -> bool:
        """Whether ``ship_date`` falls in this row's validity range."""
        return (self.valid_from is None or self.valid_from <= ship_date) and (
            self.valid_to is None or ship_date <= self.valid_to
        )


def _parse_date(text: str, where: str, column: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{where}: {column} {text!r} is not a YYYY-MM-DD date") from None


def _parse_int(text: str, where: str, column: str) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{where}: {column} {text!r} is not a whole number") from None
    if value < 0:
        raise ConfigError(f"{where}: {column} must not be negative, got {value}")
    return value


def _parse_row(row: dict[str, str], where: str) -> ServiceCommitment:
    values = {key.strip(): (value or "").strip() for key, value in row.items() if key}
    missing = [column for column in COLUMNS[:9] if column not in values]
    if missing:
        raise ConfigError(f"{where}: missing column(s) {', '.join(missing)}")
    carrier = values["carrier"].lower()
    if carrier not in CARRIERS:
        raise ConfigError(f"{where}: unknown carrier {carrier!r}; known: {', '.join(CARRIERS)}")
    service = values["service"]
    known = set(service_catalog()["service"].to_list())
    if service not in known:
        raise ConfigError(f"{where}: unknown service {service!r} (see okc_recon/data/services.csv)")
    commitment_time = None
    if values["commitment_time"]:
        try:
            commitment_time = time.fromisoformat(values["commitment_time"])
        except ValueError:
            raise ConfigError(
                f"{where}: commitment_time {values['commitment_time']!r} is not HH:MM"
            ) from None
    guaranteed_text = values["guaranteed"].lower()
    if guaranteed_text not in _TRUE | _FALSE:
        raise ConfigError(f"{where}: guaranteed must be true or false, got {guaranteed_text!r}")
    start = values["claim_window_start"] or "delivery"
    if start not in CLAIM_WINDOW_STARTS:
        raise ConfigError(
            f"{where}: claim_window_start must be one of {', '.join(CLAIM_WINDOW_STARTS)}, "
            f"got {start!r}"
        )
    valid_from = _parse_date(values["valid_from"], where, "valid_from")
    valid_to = _parse_date(values["valid_to"], where, "valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise ConfigError(f"{where}: valid_to {valid_to} is before valid_from {valid_from}")
    return ServiceCommitment(
        carrier=carrier,
        service=service,
        valid_from=valid_from,
        valid_to=valid_to,
        transit_business_days=_parse_int(
            values["transit_business_days"], where, "transit_business_days"
        ),
        commitment_time=commitment_time,
        guaranteed=guaranteed_text in _TRUE,
        claim_window_days=_parse_int(values["claim_window_days"], where, "claim_window_days"),
        claim_window_start=start,  # type: ignore[arg-type]
        confidence=values.get("confidence", "") or "low",
        source=values.get("source", ""),
    )


def _read_rows(lines: Iterable[str], origin: str) -> tuple[ServiceCommitment, ...]:
    data = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(data)
    return tuple(
        _parse_row(row, f"{origin}: row {number}") for number, row in enumerate(reader, start=2)
    )


@dataclass(frozen=True)
class Commitments:
    """A dated table of :class:`ServiceCommitment` rows; later rows override earlier ones."""

    rows: tuple[ServiceCommitment, ...] = ()

    @classmethod
    @cache
    def default(cls) -> Commitments:
        """The table shipped with okc-recon (``okc_recon/data/service_commitments.csv``)."""
        text = (
            resources.files("okc_recon.data")
            .joinpath("service_commitments.csv")
            .read_text(encoding="utf-8")
        )
        return cls(_read_rows(text.splitlines(), "service_commitments.csv"))

    @classmethod
    def from_csv(cls, path: str | Path) -> Commitments:
        """Rows read from a CSV with the columns of :data:`COLUMNS` (``#`` lines are comments)."""
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read commitments table {path}: {exc.strerror}") from exc
        return cls(_read_rows(lines, str(path)))

    def extend(
        self, extra: Commitments | Iterable[ServiceCommitment] | str | Path | None
    ) -> Commitments:
        """This table with ``extra`` rows added after it (so they win where they overlap)."""
        if extra is None:
            return self
        if isinstance(extra, (str, Path)):
            extra = Commitments.from_csv(extra)
        rows = extra.rows if isinstance(extra, Commitments) else tuple(extra)
        return Commitments(self.rows + rows)

    def lookup(self, carrier: str, service: str, ship_date: date) -> ServiceCommitment | None:
        """The row that applies to one shipment, or ``None``."""
        for row in reversed(self.rows):
            if row.carrier == carrier and row.service == service and row.covers(ship_date):
                return row
        return None

    def frame(self) -> pl.DataFrame:
        """The rows as a frame, with ``priority`` (higher wins) for joins."""
        return pl.DataFrame(
            [
                {
                    "priority": index,
                    "carrier": row.carrier,
                    "service": row.service,
                    "valid_from": row.valid_from,
                    "valid_to": row.valid_to,
                    "transit_business_days": row.transit_business_days,
                    "commitment_time": row.commitment_time,
                    "guaranteed": row.guaranteed,
                    "claim_window_days": row.claim_window_days,
                    "claim_window_start": row.claim_window_start,
                    "confidence": row.confidence,
                    "source": row.source,
                }
                for index, row in enumerate(self.rows)
            ],
            schema={
                "priority": pl.Int32,
                "carrier": pl.Utf8,
                "service": pl.Utf8,
                "valid_from": pl.Date,
                "valid_to": pl.Date,
                "transit_business_days": pl.Int32,
                "commitment_time": pl.Time,
                "guaranteed": pl.Boolean,
                "claim_window_days": pl.Int32,
                "claim_window_start": pl.Utf8,
                "confidence": pl.Utf8,
                "source": pl.Utf8,
            },
        )
