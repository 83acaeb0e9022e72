"""The :class:`Store`: where pulled fulfillments are kept, and how runs are snapshotted."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import polars as pl

from okc_recon._version import __version__
from okc_recon.config import Settings
from okc_recon.errors import ConfigError, StoreError
from okc_recon.fulfillments import ServiceAliases, fulfillments_frame
from okc_recon.schema import UTC_DATETIME
from okc_recon.store._db import Session
from okc_recon.store._records import load_record
from okc_recon.store._snapshot import Snapshot, invoice_file_list

__all__ = [
    "DEFAULT_LAG",
    "FINAL_STATUSES",
    "PulledRecords",
    "Store",
    "final_status_ids",
    "is_loopback",
    "resolve_store",
]

#: how long after its last update a final fulfillment is still re-read (OKC updates
#: statuses about every 6 hours, okc-api.md §2; a day leaves room for late corrections)
DEFAULT_LAG = timedelta(days=1)

#: status names (lower-case prefixes) after which a fulfillment no longer changes
FINAL_STATUSES = ("delivered", "canceled", "cancelled")

_SNAPSHOT_COLUMNS = {
    "snapshot_id": pl.Utf8(),
    "label": pl.Utf8(),
    "created_at": UTC_DATETIME,
    "records": pl.Int64(),
    "invoice_files": pl.Int64(),
    "base_url": pl.Utf8(),
    "tool_version": pl.Utf8(),
}


@runtime_checkable
class PulledRecords(Protocol):
    """What :meth:`Store.snapshot` takes from a pull (``okc_recon.api.PullResult``)."""

    @property
    def versions(self) -> tuple[str | None, ...]: ...

    @property
    def fulfillments(self) -> pl.DataFrame: ...


def is_loopback(base_url: str) -> bool:
    """Whether ``base_url`` points at this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def final_status_ids(
    statuses: Sequence[Any] | Mapping[Any, Any] | None,
    final: Sequence[str] = FINAL_STATUSES,
) -> set[str]:
    """The ids (as text) of the statuses whose names start with one of ``final``.

    ``statuses``: ``/v2/statuses`` records (the ``fulfillment`` group wins when there is
    one) or an ``{id: name}`` mapping.
    """
    prefixes = tuple(p.lower() for p in final)
    if statuses is None:
        return set()
    if isinstance(statuses, Mapping):
        pairs = [(k, v) for k, v in statuses.items()]
    else:
        records = [s for s in statuses if isinstance(s, Mapping) and s.get("id") is not None]
        grouped = [s for s in records if str(s.get("group", "")).lower() == "fulfillment"]
        pairs = [(s["id"], s.get("name")) for s in grouped or records]
    return {
        str(sid)
        for sid, name in pairs
        if isinstance(name, str) and name.strip().lower().startswith(prefixes)
    }


def _file_name(base_url: str) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or "okc"
    where = f"{host}_{parts.port}" if parts.port else host
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", where).strip("._") or "okc"
    # the hash tells apart URLs that differ in scheme or path, never user info
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:8]
    return f"{slug}-{digest}.duckdb"


def _settings_json(settings: Mapping[str, Any] | None) -> str:
    # str() of a Secret is its mask: a settings mapping cannot carry a credential through
    return json.dumps(dict(settings or {}), default=str, sort_keys=True, ensure_ascii=False)


def _status_pairs(frame: pl.DataFrame) -> dict[str, str]:
    """``{status_id: status}`` as a frame shows them: what reproduces its status column."""
    if not {"status_id", "status"} <= set(frame.columns):
        return {}
    pairs = (
        frame.select(pl.col("status_id").cast(pl.Utf8), pl.col("status").cast(pl.Utf8))
        .drop_nulls()
        .unique()
        .sort("status_id")
    )
    return dict(zip(pairs["status_id"], pairs["status"], strict=True))


class Store:
    """The local cache of pulled fulfillments: a DuckDB file for one OKC environment.

    It keeps every distinct version of every record (``label_url`` removed) with when it was
    fetched, which version is current, what each per-order pull and list walk returned,
    and snapshots of what monthly runs used. :func:`~okc_recon.pull_fulfillments` uses it
    by default for a real OKC API (see :func:`resolve_store`).

    - ``path``: the database file (:meth:`for_settings` names it after the base URL, in
      ``OKC_CACHE_DIR``).
    - ``lag``: a final (delivered, canceled) fulfillment is re-read until a fetch came at
      least this long after its last update (default a day).
    - ``final_statuses``: status-name prefixes that mean "will not change".
    - ``lock_timeout``: seconds to wait for another run to finish with the file (default 0:
      refuse at once with :class:`~okc_recon.errors.StoreError`).

    >>> store = Store.for_settings(Settings.from_env())             # doctest: +SKIP
    >>> result = pull_fulfillments(ids, store=store)                # doctest: +SKIP
    >>> sid = store.snapshot("2025-10", result, invoice_files=files) # doctest: +SKIP
    >>> store.load_snapshot(sid).fulfillments                       # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | Path,
        *,
        lag: timedelta = DEFAULT_LAG,
        final_statuses: Sequence[str] = FINAL_STATUSES,
        lock_timeout: float = 0.0,
    ) -> None:
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise ConfigError(
                f"{self.path} is a folder: give the cache file, or use Store.for_settings"
            )
        if lag < timedelta(0):
            raise ConfigError("the cache lag window cannot be negative")
        self.lag = lag
        self.final_statuses = tuple(final_statuses)
        self.lock_timeout = lock_timeout

    @classmethod
    def for_settings(cls, settings: Settings, **options: Any) -> Store:
        """The store for ``settings.base_url`` in ``settings.cache_dir`` (``OKC_CACHE_DIR``):
        one file per environment, so stage and production records never mix."""
        return cls(Path(settings.cache_dir) / _file_name(settings.base_url), **options)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def open(self, base_url: str | None = None) -> Session:
        """Open the file and hold its lock until the session is closed (use ``with``).

        ``base_url``: the environment being pulled; refused when the file holds another.
        """
        return Session(self.path, base_url=base_url, lock_timeout=self.lock_timeout)

    def _read(self) -> Session | None:
        return self.open() if self.path.exists() else None

    # -- what is cached ---------------------------------------------------------------------

    def fulfillments(self, *, service_map: ServiceAliases | None = None) -> pl.DataFrame:
        """Every cached fulfillment in its current version, as the fulfillments frame
        (status names from the last ``/v2/statuses`` stored): for work offline."""
        session = self._read()
        if session is None:
            return fulfillments_frame([])[0]
        with session:
            rows = session.frame(
                "SELECT v.record FROM current c JOIN versions v USING (sha256) "
                "ORDER BY c.fulfillment_id"
            )
            statuses = session.statuses()
        records = [load_record(text) for text in rows["record"]]
        return fulfillments_frame(records, statuses=statuses, service_map=service_map)[0]

    def history(self, fulfillment_id: str) -> pl.DataFrame:
        """Every stored version of one fulfillment, oldest update first: ``sha256``,
        ``updated_at``, ``status_id``, ``first_fetched_at``, ``last_fetched_at``,
        ``current``."""
        session = self._read()
        empty = pl.DataFrame(
            schema={
                "sha256": pl.Utf8,
                "updated_at": UTC_DATETIME,
                "status_id": pl.Utf8,
                "first_fetched_at": UTC_DATETIME,
                "last_fetched_at": UTC_DATETIME,
                "current": pl.Boolean,
            }
        )
        if session is None:
            return empty
        with session:
            frame = session.frame(
                """
                SELECT v.sha256, v.updated_at, v.status_id, v.first_fetched_at,
                       v.last_fetched_at, c.sha256 IS NOT NULL AS current
                FROM versions v
                LEFT JOIN current c ON c.sha256 = v.sha256
                WHERE v.fulfillment_id = $1
                ORDER BY v.updated_at NULLS FIRST, v.first_fetched_at
                """,
                [fulfillment_id],
            )
        return pl.concat([empty, frame], how="vertical_relaxed")

    # -- snapshots --------------------------------------------------------------------------

    def snapshot(
        self,
        label: str,
        fulfillments: PulledRecords | pl.DataFrame | Iterable[str],
        *,
        invoice_files: Iterable[Any] | pl.DataFrame = (),
        settings: Mapping[str, Any] | None = None,
    ) -> str:
        """Record exactly which fulfillment versions and invoice files a run used; its id.

        - ``fulfillments``: the :class:`~okc_recon.api.PullResult` of a pull that used this
          store (its exact versions, rejected records included); or a fulfillments frame
          (each row's version is the one with its ``updated_at``); or fulfillment ids
          (their current versions).
        - ``invoice_files``: ``(path, sha256)`` pairs, ``InputFile``\\ s, paths (hashed
          now) or ``read_invoices(...).files``.
        - ``settings``: what else the run depended on (rules, period…), as JSON.

        Raises :class:`~okc_recon.errors.StoreError` when a fulfillment has no such version
        in the cache (pull it with this store first).
        """
        label = str(label).strip()
        if not label:
            raise ConfigError("a snapshot needs a label, e.g. the month: '2025-10'")
        files = invoice_file_list(invoice_files)
        settings_text = _settings_json(settings)
        with self.open() as session:
            shas, statuses = self._versions_for(session, fulfillments)
            created = datetime.now(UTC)
            snapshot_id = f"{created:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
            while session.one("SELECT 1 FROM snapshots WHERE snapshot_id = ?", [snapshot_id]):
                snapshot_id = f"{created:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
            records = pl.DataFrame(
                {
                    "snapshot_id": pl.Series([snapshot_id] * len(shas), dtype=pl.Utf8),
                    "position": pl.int_range(len(shas), dtype=pl.Int32, eager=True),
                    "sha256": pl.Series(shas, dtype=pl.Utf8),
                }
            )
            file_rows = pl.DataFrame(
                {
                    "snapshot_id": pl.Series([snapshot_id] * len(files), dtype=pl.Utf8),
                    "position": pl.int_range(len(files), dtype=pl.Int32, eager=True),
                    "path": pl.Series([p for p, _ in files], dtype=pl.Utf8),
                    "sha256": pl.Series([s for _, s in files], dtype=pl.Utf8),
                }
            )
            con = session.con
            with session._transaction():
                con.execute(
                    "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        snapshot_id,
                        label,
                        created,
                        session.base_url or "",
                        __version__,
                        json.dumps(statuses, default=str, sort_keys=True),
                        settings_text,
                        len(shas),
                        len(files),
                    ],
                )
                con.register("okc_snapshot_records", records)
                con.register("okc_snapshot_files", file_rows)
                try:
                    con.execute("INSERT INTO snapshot_records SELECT * FROM okc_snapshot_records")
                    con.execute("INSERT INTO snapshot_files SELECT * FROM okc_snapshot_files")
                finally:
                    con.unregister("okc_snapshot_records")
                    con.unregister("okc_snapshot_files")
        return snapshot_id

    def _versions_for(
        self, session: Session, source: PulledRecords | pl.DataFrame | Iterable[str]
    ) -> tuple[list[str], Any]:
        """The version hashes a snapshot records, and the statuses that name them."""
        if isinstance(source, PulledRecords):
            versions = list(source.versions)
            stored = [v for v in versions if v is not None]
            if not stored and source.fulfillments.height:
                raise StoreError(
                    "this pull did not use the cache, so its records were not kept: pull "
                    "with a store (store=… or the default cache) to snapshot it"
                )
            known = session.by_sha(stored)
            missing = [v for v in stored if v not in known]
            if missing:
                raise StoreError(
                    f"{len(missing)} records of this pull are not in {self.path}: was it "
                    "pulled with another store?"
                )
            return stored, _status_pairs(source.fulfillments)
        if isinstance(source, pl.DataFrame):
            if "fulfillment_id" not in source.columns:
                raise ConfigError("a snapshot frame needs a fulfillment_id column")
            return self._frame_versions(session, source), _status_pairs(source)
        ids = [str(i) for i in ([source] if isinstance(source, str) else source)]
        current = session.current(ids)
        missing = [i for i in ids if i not in current]
        if missing:
            raise StoreError(
                f"{len(missing)} fulfillments are not in the cache {self.path} "
                f"(first: {missing[0]}); pull them with this store first"
            )
        return [current[i][0] for i in ids], session.statuses() or []

    def _frame_versions(self, session: Session, frame: pl.DataFrame) -> list[str]:
        has_time = "updated_at" in frame.columns
        wanted = frame.select(
            position=pl.int_range(pl.len(), dtype=pl.Int64),
            fulfillment_id=pl.col("fulfillment_id").cast(pl.Utf8),
            updated_at=(
                pl.col("updated_at").cast(UTC_DATETIME)
                if has_time
                else pl.lit(None, dtype=UTC_DATETIME)
            ),
        )
        match = (
            "v.updated_at IS NOT DISTINCT FROM w.updated_at"
            if has_time
            else "v.sha256 IN (SELECT sha256 FROM current)"
        )
        session.con.register("okc_snapshot_frame", wanted)
        try:
            rows = session.frame(
                f"""
                SELECT w.position, w.fulfillment_id, v.sha256
                FROM okc_snapshot_frame w
                LEFT JOIN versions v ON v.fulfillment_id = w.fulfillment_id AND {match}
                LEFT JOIN current c ON c.sha256 = v.sha256
                QUALIFY row_number() OVER (
                    PARTITION BY w.position
                    ORDER BY c.sha256 IS NOT NULL DESC, v.last_fetched_at DESC
                ) = 1
                ORDER BY w.position
                """
            )
        finally:
            session.con.unregister("okc_snapshot_frame")
        missing = rows.filter(pl.col("sha256").is_null())
        if missing.height:
            raise StoreError(
                f"{missing.height} fulfillments of the frame have no cached version "
                f"{'with their updated_at ' if has_time else ''}in {self.path} (first: "
                f"{missing['fulfillment_id'][0]}); pull them with this store first, or "
                "snapshot the PullResult itself"
            )
        return rows["sha256"].to_list()

    def _snapshot_row(self, session: Session, snapshot_id: str) -> tuple[Any, ...]:
        row = session.one(
            "SELECT label, created_at, base_url, tool_version, statuses, settings "
            "FROM snapshots WHERE snapshot_id = ?",
            [snapshot_id],
        )
        if row is None:
            raise StoreError(
                f"no snapshot {snapshot_id!r} in {self.path}; Store.snapshots() lists them"
            )
        return row

    def _snapshot_texts(self, session: Session, snapshot_id: str) -> list[str]:
        rows = session.frame(
            """
            SELECT r.position, v.record
            FROM snapshot_records r LEFT JOIN versions v USING (sha256)
            WHERE r.snapshot_id = $1 ORDER BY r.position
            """,
            [snapshot_id],
        )
        if rows["record"].null_count():
            raise StoreError(
                f"snapshot {snapshot_id} refers to {rows['record'].null_count()} record "
                f"versions that are not in {self.path}: the cache is damaged"
            )
        return rows["record"].to_list()

    def snapshot_records(self, snapshot_id: str) -> list[Any]:
        """The records of a snapshot, in order, as the API returned them (no ``label_url``;
        money as ``Decimal``)."""
        session = self._read()
        if session is None:
            raise StoreError(f"no snapshot {snapshot_id!r}: there is no cache at {self.path}")
        with session:
            self._snapshot_row(session, snapshot_id)
            texts = self._snapshot_texts(session, snapshot_id)
        return [load_record(text) for text in texts]

    def load_snapshot(
        self, snapshot_id: str, *, service_map: ServiceAliases | None = None
    ) -> Snapshot:
        """A recorded run given back: the same fulfillments frame (pass the run's
        ``service_map`` if it used one), its invoice files and settings.

        >>> snap = store.load_snapshot("20251105T120000Z-3f9a1c")   # doctest: +SKIP
        >>> snap.verify_invoice_files()                              # doctest: +SKIP
        >>> snap.fulfillments                                        # doctest: +SKIP
        """
        session = self._read()
        if session is None:
            raise StoreError(f"no snapshot {snapshot_id!r}: there is no cache at {self.path}")
        with session:
            label, created, base_url, version, statuses_text, settings_text = self._snapshot_row(
                session, snapshot_id
            )
            texts = self._snapshot_texts(session, snapshot_id)
            files = session.frame(
                "SELECT path, sha256 FROM snapshot_files WHERE snapshot_id = $1 ORDER BY position",
                [snapshot_id],
            )
        records = tuple(load_record(text) for text in texts)
        statuses = json.loads(statuses_text)
        frame, rejected = fulfillments_frame(records, statuses=statuses, service_map=service_map)
        return Snapshot(
            snapshot_id=snapshot_id,
            label=label,
            created_at=created.astimezone(UTC),
            base_url=base_url,
            tool_version=version,
            fulfillments=frame,
            rejected=rejected,
            invoice_files=tuple(zip(files["path"], files["sha256"], strict=True)),
            settings=json.loads(settings_text),
            statuses=statuses,
            records=records,
        )

    def snapshots(self) -> pl.DataFrame:
        """Every snapshot, oldest first: ``snapshot_id``, ``label``, ``created_at``,
        ``records``, ``invoice_files``, ``base_url``, ``tool_version``."""
        empty = pl.DataFrame(schema=_SNAPSHOT_COLUMNS)
        session = self._read()
        if session is None:
            return empty
        with session:
            frame = session.frame(
                f"SELECT {', '.join(_SNAPSHOT_COLUMNS)} FROM snapshots "
                "ORDER BY created_at, snapshot_id"
            )
        return pl.concat([empty, frame], how="vertical_relaxed")


def resolve_store(store: Store | bool | None, settings: Settings, *, auto: bool) -> Store | None:
    """The store a pull uses.

    ``False``: none. A :class:`Store`: that one. ``True``: :meth:`Store.for_settings`.
    ``None`` (the default): :meth:`Store.for_settings` when ``auto`` and the base URL is not
    on loopback — the sandbox regenerates its data on every start, so caching it would mix
    worlds; tests and notebooks against it stay out of the user's cache.
    """
    if store is False:
        return None
    if isinstance(store, Store):
        return store
    if store is True or (store is None and auto and not is_loopback(settings.base_url)):
        return Store.for_settings(settings)
    if store is None:
        return None
    raise ConfigError(f"store must be a Store, True, False or None, not {type(store).__name__}")
