"""The cache's DuckDB file: opening it (one writer at a time), its tables, and every query.

One file holds one OKC environment (its base URL is written into the file on first use and
checked on every pull). A :class:`Session` is one open connection holding the file's lock:
DuckDB's own lock refuses a second *process*, and a per-path lock here refuses a second
*thread or pull* of this process (DuckDB would share its connection within a process).
Every write is its own transaction: a pull killed at any moment leaves the file as of its
last commit, which the next open replays from DuckDB's write-ahead log.

Tables (``versions`` is content-addressed: a record's SHA-256 is its key)::

    store_info      key → value: format, base_url, created_at
    versions        sha256 → fulfillment_id, order_id, status_id, updated_at, record (JSON,
                    no label_url), first_fetched_at, last_fetched_at
    current         fulfillment_id → sha256 of the version the API returned last, fetched_at
    orders          order_id → fetched_at: per-order pulls that came back complete
    order_members   order_id, position → fulfillment_id: what that pull returned
    walks           query → high_water (max updated_at), undated, completed_at: list walks
                    that ran to the end
    walk_members    query, position → fulfillment_id, sha256: what that walk returned
    statuses        the last /v2/statuses answer (JSON)
    snapshots       snapshot_id → label, created_at, base_url, tool version, statuses used,
                    settings (JSON), counts
    snapshot_records snapshot_id, position → sha256 (the exact versions a run used)
    snapshot_files  snapshot_id, position → path, sha256 (the invoice files it read)
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import polars as pl

from okc_recon.errors import StoreError
from okc_recon.store._records import batch_frame

if TYPE_CHECKING:
    import duckdb

__all__ = ["FORMAT", "OrderBatch", "PutResult", "Session", "WalkState"]

log = logging.getLogger("okc_recon")

#: the layout version written into every cache file
FORMAT = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    sha256 VARCHAR PRIMARY KEY,
    fulfillment_id VARCHAR,
    order_id VARCHAR,
    status_id VARCHAR,
    updated_at TIMESTAMPTZ,
    record VARCHAR NOT NULL,
    first_fetched_at TIMESTAMPTZ NOT NULL,
    last_fetched_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS current (
    fulfillment_id VARCHAR PRIMARY KEY,
    sha256 VARCHAR NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (order_id VARCHAR PRIMARY KEY, fetched_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS order_members (
    order_id VARCHAR NOT NULL, position INTEGER NOT NULL, fulfillment_id VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS walks (
    query VARCHAR PRIMARY KEY,
    high_water TIMESTAMPTZ,
    undated INTEGER NOT NULL,
    records INTEGER NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS walk_members (
    query VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    fulfillment_id VARCHAR,
    sha256 VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS statuses (
    key VARCHAR PRIMARY KEY, fetched_at TIMESTAMPTZ NOT NULL, records VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id VARCHAR PRIMARY KEY,
    label VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    base_url VARCHAR NOT NULL,
    tool_version VARCHAR NOT NULL,
    statuses VARCHAR NOT NULL,
    settings VARCHAR NOT NULL,
    records INTEGER NOT NULL,
    invoice_files INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot_records (
    snapshot_id VARCHAR NOT NULL, position INTEGER NOT NULL, sha256 VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot_files (
    snapshot_id VARCHAR NOT NULL, position INTEGER NOT NULL, path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL
);
"""

# Pulls of this process, by cache file: DuckDB shares one database instance per file within
# a process, so its file lock cannot keep two threads' pulls apart; this does.
_IN_USE: set[str] = set()
_IN_USE_GUARD = threading.Lock()

_PID = re.compile(r"\(PID (\d+)\)")


class _InUse(StoreError):
    """The file is held by another run: the one refusal worth waiting out."""


def _damaged(path: Path, exc: Exception) -> StoreError:
    return StoreError(
        f"cannot open the cache {path} ({exc}); if it is damaged or not an okc-recon cache, "
        "move it away: the next pull rebuilds it"
    )


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    import duckdb  # imported here: `import okc_recon` stays light

    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = _PID.search(text)
            who = f" (PID {pid.group(1)})" if pid else ""
            raise _InUse(
                f"the cache {path} is in use by another okc-recon run{who}; wait for it to "
                "finish, or pull without the cache (--no-cache / store=False)"
            ) from None
        raise _damaged(path, exc) from exc
    except duckdb.Error as exc:
        raise _damaged(path, exc) from exc
    try:
        con.execute("SET TimeZone = 'UTC'")
    except duckdb.Error:  # no ICU: TIMESTAMPTZ values are still instants, shown in local time
        log.debug("DuckDB has no time zone support; cache times are shown in local time")
    return con


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PutResult:
    """What :meth:`Session.put` stored: per record its version hash and id (``None`` where
    it has none), the latest ``updated_at`` and how many stored records had none."""

    shas: list[str | None]
    ids: list[str | None]
    latest: datetime | None
    undated: int


class WalkState:
    """What the last complete walk of one query returned."""

    __slots__ = ("completed_at", "high_water", "members", "undated")

    def __init__(
        self,
        high_water: datetime | None,
        undated: int,
        completed_at: datetime,
        members: list[tuple[str | None, str]],
    ) -> None:
        self.high_water = high_water
        self.undated = undated
        self.completed_at = completed_at
        self.members = members  # (fulfillment_id or None, sha256) in the walk's order


class OrderBatch:
    """Per-order results waiting to be committed together (one transaction per batch)."""

    def __init__(self) -> None:
        self.orders: list[tuple[str, list[Any]]] = []
        self.started = time.monotonic()

    def __len__(self) -> int:
        return len(self.orders)


class Session:
    """One open cache file: its lock held, its connection, its writes.

    Use it as a context manager; every method is one statement or one transaction.
    """

    def __init__(self, path: Path, *, base_url: str | None, lock_timeout: float = 0.0) -> None:
        self.path = path
        self._key = str(path.resolve())
        self._con: duckdb.DuckDBPyConnection | None = None
        deadline = time.monotonic() + lock_timeout
        while True:
            try:
                self._open(base_url)
                return
            except _InUse:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _open(self, base_url: str | None) -> None:
        with _IN_USE_GUARD:
            if self._key in _IN_USE:
                raise _InUse(
                    f"the cache {self.path} is in use by another pull in this process; wait "
                    "for it to finish, or pull without the cache (store=False)"
                )
            _IN_USE.add(self._key)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = _connect(self.path)
            self._prepare(base_url)
        except BaseException:
            self.close()
            raise

    def _prepare(self, base_url: str | None) -> None:
        con = self.con
        con.execute("BEGIN")
        con.execute(_SCHEMA)
        info = dict(con.execute("SELECT key, value FROM store_info").fetchall())
        if not info:
            con.executemany(
                "INSERT INTO store_info VALUES (?, ?)",
                [("format", FORMAT), ("created_at", _now().isoformat())],
            )
        elif info.get("format") != FORMAT:
            con.execute("ROLLBACK")
            raise StoreError(
                f"{self.path} is an okc-recon cache of format {info.get('format')!r}, this "
                f"version reads format {FORMAT!r}; move it away and pull again"
            )
        stored = info.get("base_url")
        if base_url is not None:
            if stored is None:
                con.execute("INSERT INTO store_info VALUES ('base_url', ?)", [base_url])
            elif stored != base_url:
                con.execute("ROLLBACK")
                raise StoreError(
                    f"the cache {self.path} holds records of {stored}, not {base_url}: "
                    "environments never share a cache; use Store.for_settings(settings) "
                    "or another OKC_CACHE_DIR"
                )
        con.execute("COMMIT")
        self.base_url = base_url or stored

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError(f"the cache {self.path} is closed")
        return self._con

    def close(self) -> None:
        """Close the connection and release the lock (idempotent)."""
        if self._con is not None:
            try:
                self._con.close()
            finally:
                self._con = None
        with _IN_USE_GUARD:
            _IN_USE.discard(self._key)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers ----------------------------------------------------------------------------

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """A query's rows as a Polars frame."""
        relation = self.con.sql(sql, params=list(params) if params is not None else None)
        frame: pl.DataFrame = relation.pl()
        return frame

    def one(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        """A query's first row, or ``None`` (every row is fetched: DuckDB refuses further
        work on a connection whose last result was not read to the end)."""
        rows = self.con.execute(sql, list(params) if params is not None else None).fetchall()
        return tuple(rows[0]) if rows else None

    def _transaction(self) -> _Transaction:
        return _Transaction(self.con, self.path)

    # -- writing records --------------------------------------------------------------------

    def _put(self, batch: pl.DataFrame, fetched_at: datetime) -> None:
        """Upsert versions and the current version of each id (inside a transaction)."""
        con = self.con
        versions = batch.unique("sha256", keep="last", maintain_order=True)
        current = batch.filter(pl.col("fulfillment_id").is_not_null()).unique(
            "fulfillment_id", keep="last", maintain_order=True
        )
        con.register("okc_batch_versions", versions)
        con.register("okc_batch_current", current)
        try:
            con.execute(
                """
                INSERT INTO versions
                SELECT sha256, fulfillment_id, order_id, status_id, updated_at, record,
                       $1, $1
                FROM okc_batch_versions
                ON CONFLICT (sha256) DO UPDATE SET last_fetched_at = excluded.last_fetched_at
                """,
                [fetched_at],
            )
            con.execute(
                """
                INSERT INTO current
                SELECT fulfillment_id, sha256, $1 FROM okc_batch_current
                ON CONFLICT (fulfillment_id) DO UPDATE
                SET sha256 = excluded.sha256, fetched_at = excluded.fetched_at
                """,
                [fetched_at],
            )
        finally:
            con.unregister("okc_batch_versions")
            con.unregister("okc_batch_current")

    def put(self, records: Sequence[Any]) -> PutResult:
        """Store a page of records in one transaction; what was stored (:class:`PutResult`)."""
        batch = batch_frame(records)
        shas: list[str | None] = [None] * len(records)
        ids: list[str | None] = [None] * len(records)
        for position, sha, fid in zip(
            batch["position"], batch["sha256"], batch["fulfillment_id"], strict=True
        ):
            shas[position], ids[position] = sha, fid
        if batch.height:
            with self._transaction():
                self._put(batch, _now())
        latest = batch["updated_at"].max() if batch.height else None
        return PutResult(
            shas=shas,
            ids=ids,
            latest=latest if isinstance(latest, datetime) else None,
            undated=batch["updated_at"].null_count(),
        )

    def put_orders(self, batch: OrderBatch) -> dict[str, list[str | None]]:
        """Commit per-order results in one transaction; each order's version hashes.

        An order is remembered as complete (so a later pull may serve it from the cache)
        only when every record it returned has an id.
        """
        if not batch.orders:
            return {}
        records = [r for _, chunk in batch.orders for r in chunk]
        frame = batch_frame(records)
        shas: list[str | None] = [None] * len(records)
        for position, sha in zip(frame["position"], frame["sha256"], strict=True):
            shas[position] = sha
        ids = frame.select("position", "fulfillment_id")
        keyed = dict(zip(ids["position"], ids["fulfillment_id"], strict=True))
        by_order: dict[str, list[str | None]] = {}
        members: list[tuple[str, int, str]] = []
        complete: list[str] = []
        start = 0
        for order_id, chunk in batch.orders:
            positions = range(start, start + len(chunk))
            start += len(chunk)
            by_order[order_id] = [shas[p] for p in positions]
            member_ids = [keyed.get(p) for p in positions]
            if all(m is not None for m in member_ids):
                complete.append(order_id)
                members.extend((order_id, i, str(m)) for i, m in enumerate(member_ids))
        fetched_at = _now()
        with self._transaction():
            if frame.height:
                self._put(frame, fetched_at)
            con = self.con
            done = [order_id for order_id, _ in batch.orders]
            con.execute("DELETE FROM order_members WHERE order_id IN (SELECT unnest($1))", [done])
            incomplete = sorted(set(done) - set(complete))
            if incomplete:
                con.execute(
                    "DELETE FROM orders WHERE order_id IN (SELECT unnest($1))", [incomplete]
                )
            if complete:
                con.execute(
                    """
                    INSERT INTO orders SELECT unnest($1::VARCHAR[]), $2
                    ON CONFLICT (order_id) DO UPDATE SET fetched_at = excluded.fetched_at
                    """,
                    [complete, fetched_at],
                )
                frame_members = pl.DataFrame(
                    members,
                    schema={"order_id": pl.Utf8, "position": pl.Int32, "fulfillment_id": pl.Utf8},
                    orient="row",
                )
                con.register("okc_batch_members", frame_members)
                try:
                    con.execute("INSERT INTO order_members SELECT * FROM okc_batch_members")
                finally:
                    con.unregister("okc_batch_members")
        return by_order

    # -- reading records --------------------------------------------------------------------

    def cached_orders(
        self, order_ids: Sequence[str], *, final_status_ids: Iterable[str], lag: timedelta
    ) -> dict[str, list[tuple[str, str]]]:
        """The requested orders that need no fetch, each with its ``(sha256, record)`` list.

        An order qualifies when a per-order pull returned it complete before, and each of
        its fulfillments (in their current version) is in a final status, has an
        ``updated_at``, and was last fetched at least ``lag`` after that update: any late
        change inside the window would have been seen.
        """
        finals = sorted(set(final_status_ids))
        if not order_ids or not finals:
            return {}
        rows = self.frame(
            """
            WITH wanted AS (SELECT unnest($1::VARCHAR[]) AS order_id),
            members AS (
                SELECT m.order_id, m.position, c.sha256, c.fetched_at, v.status_id,
                       v.updated_at, v.record
                FROM order_members m
                JOIN wanted USING (order_id)
                JOIN orders USING (order_id)
                LEFT JOIN current c USING (fulfillment_id)
                LEFT JOIN versions v ON v.sha256 = c.sha256
            ),
            stable AS (
                SELECT order_id FROM members GROUP BY order_id
                HAVING bool_and(
                    coalesce(list_contains($2::VARCHAR[], status_id)
                             AND fetched_at >= updated_at + to_seconds($3::DOUBLE), false)
                )
            )
            SELECT order_id, sha256, record FROM members JOIN stable USING (order_id)
            ORDER BY order_id, position
            """,
            [list(order_ids), finals, lag.total_seconds()],
        )
        cached: dict[str, list[tuple[str, str]]] = {}
        # one row per cached fulfillment: what the pull returns, as the API would have
        for order_id, sha, record in zip(
            rows["order_id"], rows["sha256"], rows["record"], strict=True
        ):
            cached.setdefault(order_id, []).append((sha, record))
        return cached

    def current(self, fulfillment_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``id → (sha256, record)`` of the current version of each id that has one."""
        if not fulfillment_ids:
            return {}
        rows = self.frame(
            """
            SELECT c.fulfillment_id, c.sha256, v.record
            FROM current c JOIN versions v USING (sha256)
            WHERE c.fulfillment_id IN (SELECT unnest($1::VARCHAR[]))
            """,
            [list(fulfillment_ids)],
        )
        return {
            fid: (sha, record)
            for fid, sha, record in zip(
                rows["fulfillment_id"], rows["sha256"], rows["record"], strict=True
            )
        }

    def by_sha(self, shas: Sequence[str]) -> dict[str, str]:
        """``sha256 → record`` for the versions asked for that exist."""
        if not shas:
            return {}
        rows = self.frame(
            "SELECT sha256, record FROM versions WHERE sha256 IN (SELECT unnest($1::VARCHAR[]))",
            [list(set(shas))],
        )
        return dict(zip(rows["sha256"], rows["record"], strict=True))

    # -- list walks -------------------------------------------------------------------------

    def walk(self, query: str) -> WalkState | None:
        """The last complete walk of ``query``, or ``None``."""
        row = self.one(
            "SELECT high_water, undated, completed_at FROM walks WHERE query = ?", [query]
        )
        if row is None:
            return None
        members = self.frame(
            "SELECT fulfillment_id, sha256 FROM walk_members WHERE query = $1 ORDER BY position",
            [query],
        )
        return WalkState(
            row[0],
            int(row[1]),
            row[2],
            list(zip(members["fulfillment_id"], members["sha256"], strict=True)),
        )

    def save_walk(
        self,
        query: str,
        members: Sequence[tuple[str | None, str]],
        *,
        high_water: datetime | None,
        undated: int,
    ) -> None:
        """Record a complete walk of ``query`` (replacing the previous one), atomically.

        The walk's high-water mark is the latest ``updated_at`` seen in the whole cache (not
        only in this walk's records: any later change gets a later time, so a filtered
        walk's next range stays narrow), but never later than now (a record stamped in the
        future must not hide the changes before that time).
        """
        row = self.one("SELECT max(updated_at) FROM versions")
        seen = [t for t in (high_water, row[0] if row else None) if t is not None]
        high_water = min(max(seen), _now()) if seen else None
        frame = pl.DataFrame(
            {
                "query": pl.Series([query] * len(members), dtype=pl.Utf8),
                "position": pl.int_range(len(members), dtype=pl.Int32, eager=True),
                "fulfillment_id": pl.Series([m[0] for m in members], dtype=pl.Utf8),
                "sha256": pl.Series([m[1] for m in members], dtype=pl.Utf8),
            }
        )
        con = self.con
        with self._transaction():
            con.execute("DELETE FROM walk_members WHERE query = ?", [query])
            con.execute(
                """
                INSERT INTO walks VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (query) DO UPDATE SET high_water = excluded.high_water,
                    undated = excluded.undated, records = excluded.records,
                    completed_at = excluded.completed_at
                """,
                [query, high_water, undated, len(members), _now()],
            )
            con.register("okc_batch_walk", frame)
            try:
                con.execute("INSERT INTO walk_members SELECT * FROM okc_batch_walk")
            finally:
                con.unregister("okc_batch_walk")

    # -- statuses ---------------------------------------------------------------------------

    def save_statuses(self, statuses: Sequence[Any]) -> None:
        """Keep the last ``/v2/statuses`` answer (to classify cached records offline)."""
        text = json.dumps(list(statuses), default=str, sort_keys=True)
        self.con.execute(
            """
            INSERT INTO statuses VALUES ('statuses', ?, ?)
            ON CONFLICT (key) DO UPDATE SET fetched_at = excluded.fetched_at,
                records = excluded.records
            """,
            [_now(), text],
        )

    def statuses(self) -> list[dict[str, Any]] | None:
        """The last ``/v2/statuses`` answer stored, or ``None``."""
        row = self.one("SELECT records FROM statuses WHERE key = 'statuses'")
        if row is None:
            return None
        data = json.loads(row[0])
        return [s for s in data if isinstance(s, dict)] if isinstance(data, list) else None


class _Transaction:
    """``BEGIN`` … ``COMMIT``, or ``ROLLBACK`` when the block raises."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con = con
        self.path = path

    def __enter__(self) -> None:
        self.con.execute("BEGIN")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import duckdb

        if exc_type is None:
            try:
                self.con.execute("COMMIT")
            except duckdb.Error as error:
                raise StoreError(f"writing to the cache {self.path} failed: {error}") from error
            return
        self.con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error):
            raise StoreError(f"writing to the cache {self.path} failed: {exc}") from exc
