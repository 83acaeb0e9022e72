"""What a snapshot gives back: the exact records and invoice files a run used."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from okc_recon.errors import ConfigError, StoreError

__all__ = ["Snapshot", "file_sha256", "invoice_file_list"]

_SHA256 = re.compile(r"[0-9a-f]{64}")


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (read in 1 MiB blocks), as lower-case hex."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pair(item: Any) -> tuple[str, str]:
    if isinstance(item, (str, Path)):
        try:
            return str(item), file_sha256(item)
        except OSError as exc:
            raise ConfigError(f"cannot hash the invoice file {item}: {exc.strerror}") from exc
    if isinstance(item, (tuple, list)) and len(item) == 2:
        path, sha = item
    elif hasattr(item, "path") and hasattr(item, "sha256"):  # runinfo.InputFile and the like
        path, sha = item.path, item.sha256
    else:
        raise ConfigError(
            f"an invoice file is (path, sha256), an InputFile or a path, not {type(item).__name__}"
        )
    sha = str(sha).strip().lower()
    if not _SHA256.fullmatch(sha):
        raise ConfigError(f"{path}: {sha!r} is not a SHA-256 (64 hex digits)")
    return str(path), sha


def invoice_file_list(files: Iterable[Any] | pl.DataFrame) -> list[tuple[str, str]]:
    """``(path, sha256)`` pairs from pairs, ``InputFile``\\ s, paths (hashed here) or the
    ``files`` frame of :func:`~okc_recon.read_invoices` (``source_file``, ``sha256``)."""
    if isinstance(files, pl.DataFrame):
        missing = {"source_file", "sha256"} - set(files.columns)
        if missing:
            raise ConfigError(
                f"an invoice files frame needs the columns source_file and sha256 "
                f"(missing {', '.join(sorted(missing))})"
            )
        items: Iterable[Any] = zip(files["source_file"], files["sha256"], strict=True)
    else:
        items = files
    return [_pair(item) for item in items]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """A recorded run, given back: its fulfillments as they were, and its invoice files.

    ``fulfillments`` and ``rejected`` are rebuilt from the exact record versions the run
    used (with the status names it saw), so they equal the run's frames. ``invoice_files``
    are the ``(path, sha256)`` pairs it read; :meth:`verify_invoice_files` checks the files
    on disk still have those bytes. ``settings`` is what the run recorded, as given.
    """

    snapshot_id: str
    label: str
    created_at: datetime
    base_url: str
    tool_version: str
    fulfillments: pl.DataFrame
    rejected: pl.DataFrame
    invoice_files: tuple[tuple[str, str], ...]
    settings: dict[str, Any]
    statuses: list[Any] | dict[str, Any] = field(repr=False)
    records: tuple[Any, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        return (
            f"<Snapshot {self.snapshot_id} {self.label!r} of {self.created_at:%Y-%m-%d %H:%M} "
            f"UTC: {self.fulfillments.height:,} fulfillments, "
            f"{len(self.invoice_files)} invoice files>"
        )

    def verify_invoice_files(self, *, root: str | Path | None = None) -> None:
        """Raise :class:`~okc_recon.errors.StoreError` unless every invoice file is where it
        was (relative paths under ``root`` when given) with the same SHA-256."""
        problems: list[str] = []
        for path, sha in self.invoice_files:
            where = Path(root) / path if root is not None and not Path(path).is_absolute() else path
            try:
                actual = file_sha256(where)
            except OSError:
                problems.append(f"{where}: missing")
                continue
            if actual != sha:
                problems.append(f"{where}: changed (SHA-256 {actual[:12]}…, was {sha[:12]}…)")
        if problems:
            shown = "; ".join(problems[:5]) + (
                f"; … and {len(problems) - 5} more" if len(problems) > 5 else ""
            )
            raise StoreError(
                f"snapshot {self.snapshot_id}: {len(problems)} of {len(self.invoice_files)} "
                f"invoice files are not as recorded: {shown}"
            )
