"""What one run used and produced: the record that makes a reconciliation reproducible.

A :class:`RunInfo` is a small frozen value: the tool version, when the run happened, the OKC
base URL (never a credential), every input file with its SHA-256, row counts in and out, the
settings used, and the weight unit with the evidence for it. The workbook writes it to its
``Run info`` sheet; the monthly run and the local cache store it as JSON (:meth:`to_dict`,
:meth:`from_dict`).

    >>> info = RunInfo.create(settings=settings, input_files=[InputFile.from_path("ups.csv")])
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from okc_recon._version import __version__

if TYPE_CHECKING:
    import polars as pl

    from okc_recon.config import Settings
    from okc_recon.weights import WeightUnitInference

__all__ = ["InputFile", "RunInfo", "safe_base_url"]

# Settings fields that are credentials (or name who holds them): never recorded.
_CREDENTIAL_FIELDS = frozenset({"access_token", "password", "username"})


def safe_base_url(url: str | None) -> str | None:
    """``url`` without user info, query or fragment: where the API is, never how to log in.

    >>> safe_base_url("https://user:pw@na1-prod.okcapsule.app/?token=abc")
    'https://na1-prod.okcapsule.app/'
    """
    if url is None:
        return None
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True, kw_only=True)
class InputFile:
    """One file a run read: where it was, its SHA-256, and what it held."""

    path: str
    sha256: str
    size_bytes: int | None = None
    kind: str = ""  # fulfillments, invoice, rules, …
    format: str | None = None  # e.g. fedex_fbo, ups_billing_data, json
    rows: int | None = None  # data lines or records read from it

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        kind: str = "",
        format: str | None = None,
        rows: int | None = None,
    ) -> InputFile:
        """Hash ``path`` (read in 1 MiB blocks) and describe it."""
        path = Path(path)
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return cls(
            path=str(path),
            sha256=digest.hexdigest(),
            size_bytes=path.stat().st_size,
            kind=kind,
            format=format,
            rows=rows,
        )

    @classmethod
    def from_invoice_files(cls, files: pl.DataFrame) -> tuple[InputFile, ...]:
        """The invoice files of ``read_invoices(...).files`` (``schema.INVOICE_FILE_SCHEMA``)."""
        return tuple(
            cls(
                path=str(row["source_file"]),
                sha256=str(row["sha256"] or ""),
                kind="invoice",
                format=row["format"],
                rows=row["lines_in"],
            )
            # one row per file read: bounded by the number of files, not by the data
            for row in files.select("source_file", "sha256", "format", "lines_in").to_dicts()
        )


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """The record of one run. Build it with :meth:`create`; every field is plain data.

    ``run_at`` is a UTC datetime (whole seconds); the workbook uses it as its created and
    modified time, so the same inputs and the same ``RunInfo`` give the same file.
    """

    tool_version: str = __version__
    run_at: datetime
    base_url: str | None = None
    input_files: tuple[InputFile, ...] = ()
    rows_in: Mapping[str, int] = field(default_factory=dict)
    rows_out: Mapping[str, int] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)
    weight_unit: str | None = None
    weight_unit_evidence: str = ""
    period: str | None = None
    as_of: date | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        run_at = self.run_at
        run_at = run_at.replace(tzinfo=UTC) if run_at.tzinfo is None else run_at.astimezone(UTC)
        object.__setattr__(self, "run_at", run_at.replace(microsecond=0))
        object.__setattr__(self, "base_url", safe_base_url(self.base_url))
        object.__setattr__(self, "input_files", tuple(self.input_files))
        object.__setattr__(self, "notes", tuple(self.notes))
        for name in ("rows_in", "rows_out"):
            counts = {str(k): int(v) for k, v in getattr(self, name).items()}
            object.__setattr__(self, name, MappingProxyType(counts))
        settings = {str(k): str(v) for k, v in self.settings.items() if k not in _CREDENTIAL_FIELDS}
        object.__setattr__(self, "settings", MappingProxyType(settings))

    @classmethod
    def create(
        cls,
        *,
        settings: Settings | None = None,
        input_files: Iterable[InputFile] = (),
        rows_in: Mapping[str, int] | None = None,
        rows_out: Mapping[str, int] | None = None,
        weight: WeightUnitInference | str | None = None,
        extra_settings: Mapping[str, Any] | None = None,
        period: str | None = None,
        as_of: date | None = None,
        run_at: datetime | None = None,
        notes: Iterable[str] = (),
    ) -> RunInfo:
        """A ``RunInfo`` for a run now (or at ``run_at``).

        ``settings`` contributes its base URL and every non-credential field; the token,
        password and user name are never read. ``weight`` is the unit inference (its unit and
        :meth:`~okc_recon.weights.WeightUnitInference.describe` sentence are recorded) or a
        unit the user set. ``extra_settings`` adds other choices (rules, tolerances, flags).
        """
        recorded: dict[str, str] = {}
        base_url = None
        if settings is not None:
            base_url = settings.base_url
            for f in dataclasses.fields(settings):
                if f.name in _CREDENTIAL_FIELDS or f.name == "base_url":
                    continue
                recorded[f.name] = str(getattr(settings, f.name))
        recorded.update({str(k): str(v) for k, v in (extra_settings or {}).items()})
        unit: str | None
        if weight is None or isinstance(weight, str):
            unit, evidence = weight, ("set by the user" if weight else "")
        else:
            unit, evidence = weight.unit, weight.describe()
        return cls(
            run_at=run_at or datetime.now(UTC),
            base_url=base_url,
            input_files=tuple(input_files),
            rows_in=dict(rows_in or {}),
            rows_out=dict(rows_out or {}),
            settings=recorded,
            weight_unit=unit,
            weight_unit_evidence=evidence,
            period=period,
            as_of=as_of,
            notes=tuple(notes),
        )

    def replace(self, **changes: Any) -> RunInfo:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def items(self) -> list[tuple[str, str]]:
        """The run's scalar facts as (item, value) text pairs, in a fixed order."""
        pairs = [
            ("tool", f"okc-recon {self.tool_version}"),
            ("run at (UTC)", self.run_at.strftime("%Y-%m-%d %H:%M:%S")),
            ("OKC API base URL", self.base_url or ""),
            ("period", self.period or ""),
            ("as of", self.as_of.isoformat() if self.as_of else ""),
            ("weight unit", self.weight_unit or "unknown"),
            ("weight unit evidence", self.weight_unit_evidence),
        ]
        pairs += [("note", note) for note in self.notes]
        return pairs

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO text); :meth:`from_dict` reads it back."""
        return {
            "tool_version": self.tool_version,
            "run_at": self.run_at.isoformat(),
            "base_url": self.base_url,
            "input_files": [dataclasses.asdict(f) for f in self.input_files],
            "rows_in": dict(self.rows_in),
            "rows_out": dict(self.rows_out),
            "settings": dict(self.settings),
            "weight_unit": self.weight_unit,
            "weight_unit_evidence": self.weight_unit_evidence,
            "period": self.period,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunInfo:
        """The ``RunInfo`` that :meth:`to_dict` described."""
        as_of = data.get("as_of")
        return cls(
            tool_version=str(data["tool_version"]),
            run_at=datetime.fromisoformat(str(data["run_at"])),
            base_url=data.get("base_url"),
            input_files=tuple(InputFile(**f) for f in data.get("input_files", ())),
            rows_in=dict(data.get("rows_in", {})),
            rows_out=dict(data.get("rows_out", {})),
            settings=dict(data.get("settings", {})),
            weight_unit=data.get("weight_unit"),
            weight_unit_evidence=str(data.get("weight_unit_evidence", "")),
            period=data.get("period"),
            as_of=date.fromisoformat(as_of) if as_of else None,
            notes=tuple(data.get("notes", ())),
        )
