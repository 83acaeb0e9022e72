"""Pulling fulfillments: per order, concurrently, or by walking the list; nothing dropped.

:func:`pull_fulfillments` is the one call notebooks, the CLI and the monthly run use::

    >>> from okc_recon import pull_fulfillments
    >>> result = pull_fulfillments(order_ids=["a1b2…", "c3d4…"])      # doctest: +SKIP
    >>> result.fulfillments          # the frame (okc_recon.schema.FULFILLMENT_SCHEMA)
    >>> result.raise_for_failures()  # PullError unless every order and page came back

Per order: ``GET /v2/orders/{id}/fulfillments`` for each id, ``concurrency`` at a time over
one connection pool. A failed order (after the client's retries) is reported by id in
``result.failures``; the others still come back. Refused credentials stop the whole pull
(every order would fail the same way) with :class:`~okc_recon.errors.AuthenticationError`.

Walk (``all=True`` and/or ``q=…``): ``/v2/fulfillments/count`` first, then the cursor walk
(see :mod:`okc_recon.api._pagination`), then the count is compared with what arrived
(``result.count_check``). A page that fails ends the walk (its cursor is in
``result.failures``): the records before it are kept, and ``result.ok`` is false.

With the local cache (:mod:`okc_recon.store`: by default for a real OKC API, see
:func:`pull_fulfillments`), every page or batch of orders is committed as it arrives, so a
pull killed half-way keeps what it fetched, and a repeated pull fetches only what can still
change: ``result.from_cache`` counts the records served from the cache, ``result.versions``
names each record's stored version (what :meth:`Store.snapshot <okc_recon.store.Store.snapshot>`
records).

Called from a running event loop (a Jupyter cell), the pull runs on a private loop in a
worker thread; ``await pull_fulfillments_async(...)`` is there for async code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
import polars as pl

from okc_recon.api._errors import is_fatal
from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Settings
from okc_recon.errors import ApiError, ConfigError, OkcReconError, PullError
from okc_recon.fulfillments import fulfillments_frame, records_to_json, write_fulfillments
from okc_recon.progress import progress_bar
from okc_recon.store import Store, final_status_ids, resolve_store

if TYPE_CHECKING:
    from okc_recon.store._db import Session

__all__ = [
    "CountCheck",
    "PullFailure",
    "PullResult",
    "pull_fulfillments",
    "pull_fulfillments_async",
    "pull_with",
]

log = logging.getLogger("okc_recon")

T = TypeVar("T")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class PullFailure:
    """One thing a pull could not fetch: an ``order`` (by id) or a list ``page`` (by cursor)."""

    kind: Literal["order", "page"]
    key: str  # the order id, or the cursor the page was asked for with ("" for page 1)
    error: OkcReconError

    def __str__(self) -> str:
        what = f"order {self.key}" if self.kind == "order" else f"page at cursor {self.key!r}"
        if self.kind == "page" and not self.key:
            what = "first page"
        return f"{what}: {self.error}"


@dataclass(frozen=True)
class CountCheck:
    """``/v2/fulfillments/count`` before a walk against the records the walk returned."""

    expected: int
    received: int
    query: str  # the filter, "" for everything

    @property
    def matches(self) -> bool:
        return self.expected == self.received

    @property
    def missing(self) -> int:
        """Records /count announced that did not arrive (0 when as many or more arrived)."""
        return max(self.expected - self.received, 0)

    def __str__(self) -> str:
        if self.matches:
            return f"/count {self.expected} = {self.received} received"
        return (
            f"/count said {self.expected}, {self.received} received "
            f"({self.received - self.expected:+d}; records may have changed during the pull)"
        )


@dataclass(frozen=True, eq=False)
class PullResult:
    """What a pull returned: the frame, what did not parse, and what could not be fetched.

    ``ok`` is true when every order and page came back and (for a walk) no fewer records
    arrived than ``/count`` announced. :meth:`raise_for_failures` turns "not ok" into a
    :class:`~okc_recon.errors.PullError` (which carries this result as ``partial``).
    """

    fulfillments: pl.DataFrame
    rejected: pl.DataFrame
    failures: tuple[PullFailure, ...]
    requested: tuple[str, ...]  # the order ids asked for (empty for a list walk)
    records: int  # API records in the result (parsed + rejected), fetched or from the cache
    count_check: CountCheck | None
    mode: Literal["orders", "list"] = "orders"
    query: str | None = None
    requests: int = 0  # HTTP requests sent, retries included
    elapsed: float = 0.0  # seconds
    from_cache: int = 0  # records served from the local cache instead of fetched
    orders_from_cache: int = 0  # orders not re-fetched (all their fulfillments final)
    cache: Path | None = None  # the cache file used (None: no cache)
    # each record's version in the cache (its SHA-256; None where it could not be stored),
    # aligned with the records: what Store.snapshot(label, result) records
    versions: tuple[str | None, ...] = field(default=(), repr=False)
    #: the /v2/statuses records the pull resolved status names with (empty when unavailable)
    statuses: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    _records: tuple[Any, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """No failures, and no records missing against ``/count``."""
        return not self.failures and (self.count_check is None or self.count_check.missing == 0)

    @property
    def failed_order_ids(self) -> list[str]:
        """The ids of the orders that could not be fetched."""
        return [f.key for f in self.failures if f.kind == "order"]

    def summary(self) -> str:
        """One line: what was pulled, what was rejected, what failed."""
        what = (
            _plural(len(self.requested), "order")
            if self.mode == "orders"
            else "the fulfillment list" + (f" (q={self.query})" if self.query else "")
        )
        parts = [f"{self.fulfillments.height:,} fulfillments from {what}"]
        if self.from_cache:
            parts.append(f"{self.from_cache:,} of {self.records:,} records from the cache")
        if self.rejected.height:
            parts.append(f"{self.rejected.height:,} rejected")
        orders = len(self.failed_order_ids)
        pages = len(self.failures) - orders
        if orders:
            parts.append(f"{_plural(orders, 'order')} failed")
        if pages:
            parts.append(f"{_plural(pages, 'page')} failed")
        if self.count_check is not None and not self.count_check.matches:
            parts.append(str(self.count_check))
        rate = f"{self.requests:,} requests in {self.elapsed:.1f} s"
        return "; ".join(parts) + f" ({rate})"

    def __repr__(self) -> str:
        state = "ok" if self.ok else "NOT ok"
        return f"<PullResult {self.summary()}; {state}>"

    def raise_for_failures(self) -> PullResult:
        """``self`` when :attr:`ok`; else raise :class:`PullError` listing what failed."""
        if self.ok:
            return self
        lines = [str(f) for f in self.failures[:10]]
        if len(self.failures) > 10:
            lines.append(f"… and {len(self.failures) - 10} more")
        if self.count_check is not None and self.count_check.missing:
            lines.append(str(self.count_check))
        raise PullError(
            "the pull did not return every record: " + "; ".join(lines),
            failures=list(self.failures),
            partial=self,
        )

    def write(self, path: str | Path) -> Path:
        """Write the pull: ``.json`` the API records as received (``label_url`` removed) with
        the ``/v2/statuses`` records beside them, so :func:`~okc_recon.read_fulfillments`
        resolves status names offline; ``.parquet``/``.csv`` the frame
        (:func:`~okc_recon.fulfillments.write_fulfillments`).
        """
        path = Path(path)
        if path.suffix.lower() == ".json":
            path.parent.mkdir(parents=True, exist_ok=True)
            text = '{"fulfillments": ' + records_to_json(self._records, indent=1)
            if self.statuses:
                text += ',\n"statuses": ' + json.dumps(list(self.statuses), default=str, indent=1)
            path.write_text(text + "}\n", encoding="utf-8")
            return path
        return write_fulfillments(self.fulfillments, path)


def _order_ids(order_ids: Iterable[Any] | str) -> tuple[str, ...]:
    if isinstance(order_ids, str):
        order_ids = [order_ids]
    seen: dict[str, None] = {}
    for value in order_ids:
        text = str(value).strip() if value is not None else ""
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


async def _pull_orders(
    client: AsyncOKCClient,
    ids: Sequence[str],
    *,
    concurrency: int,
    progress: bool,
    on_order: Callable[[str, list[Any]], None] | None = None,
) -> tuple[list[Any], list[PullFailure]]:
    results: list[list[Any] | None] = [None] * len(ids)
    errors: dict[int, PullFailure] = {}
    positions = iter(range(len(ids)))
    bar = progress_bar(len(ids), desc="OKC orders", unit="order", enabled=progress)

    async def worker() -> None:
        for i in positions:  # a shared iterator: each index goes to exactly one worker
            try:
                chunk = await client.order_fulfillments(ids[i])
                results[i] = chunk
                if on_order is not None:
                    on_order(ids[i], chunk)
            except ApiError as exc:
                if _fatal(exc):
                    raise
                log.warning("order %s failed: %s", ids[i], exc)
                errors[i] = PullFailure("order", ids[i], exc)
            finally:
                bar.update(1)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(ids))):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        raise _first(group_error) from None
    finally:
        bar.close()
    records = [r for chunk in results if chunk is not None for r in chunk]
    return records, [errors[i] for i in sorted(errors)]


def _fatal(exc: ApiError) -> bool:
    """Whether an error means every other request will fail too (credentials refused, or a
    base URL that does not lead to OKC's v2 API): :func:`okc_recon.api._errors.is_fatal`."""
    return is_fatal(exc)


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    # Surface the error that stopped the pull, not the group around it.
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for leaf in leaves:
        if isinstance(leaf, OkcReconError):
            return leaf
    return leaves[0]


async def _pull_list(
    client: AsyncOKCClient,
    q: str | None,
    *,
    progress: bool,
    on_page: Callable[[Sequence[Any]], None] | None = None,
) -> tuple[list[Any], list[PullFailure], CountCheck | None]:
    expected: int | None = None
    try:
        expected = await client.count_fulfillments(q=q)
    except ApiError as exc:
        if _fatal(exc):
            raise
        log.warning("no /count cross-check for this pull: %s", exc)
    records: list[Any] = []
    failures: list[PullFailure] = []
    cursor = ""
    with progress_bar(expected, desc="OKC fulfillments", unit="rec", enabled=progress) as bar:
        try:
            async for page in client.list_fulfillments(q=q, expected_total=expected):
                records.extend(page.records)
                if on_page is not None:
                    on_page(page.records)
                bar.update(len(page.records))
                cursor = page.next_cursor or ""
        except ApiError as exc:
            if _fatal(exc):
                raise
            log.warning("the fulfillment walk stopped: %s", exc)
            failures.append(PullFailure("page", cursor, exc))
    check = None
    if expected is not None:
        check = CountCheck(expected=expected, received=len(records), query=q or "")
        if not check.matches:
            log.warning("fulfillment count cross-check: %s", check)
    return records, failures, check


async def _statuses(client: AsyncOKCClient) -> list[dict[str, Any]] | None:
    try:
        return await client.statuses()
    except ApiError as exc:
        if _fatal(exc):
            raise
        log.warning("status names unavailable (the status column stays empty): %s", exc)
        return None


# -- with the local cache ----------------------------------------------------------------------


@dataclass
class _Gathered:
    """What a cached pull assembled: records in order, their cache versions, counts."""

    records: list[Any]
    versions: list[str | None]
    failures: list[PullFailure]
    check: CountCheck | None = None
    from_cache: int = 0
    orders_from_cache: int = 0


class _OrderWriter:
    """Commits per-order results as they arrive, a batch at a time: each batch is one
    transaction (a pull killed mid-way keeps every batch committed before), written in a
    worker thread while the requests go on (DuckDB works without the GIL), one at a time.
    """

    def __init__(self, session: Session, *, every: float = 0.2, most: int = 500) -> None:
        from okc_recon.store._db import OrderBatch

        self._session = session
        self._every = every
        self._most = most
        self._new_batch = OrderBatch
        self._batch = OrderBatch()
        self._writing: asyncio.Future[None] | None = None
        self.done: dict[str, tuple[list[Any], list[str | None]]] = {}

    def add(self, order_id: str, records: list[Any]) -> None:
        self._batch.orders.append((order_id, records))
        due = (
            len(self._batch) >= self._most or time.monotonic() - self._batch.started >= self._every
        )
        if due and (self._writing is None or self._writing.done()):
            if self._writing is not None:
                self._writing.result()  # a failed write stops the pull here
            batch, self._batch = self._batch, self._new_batch()
            self._writing = asyncio.ensure_future(asyncio.to_thread(self._commit, batch))

    def _commit(self, batch: Any) -> None:
        versions = self._session.put_orders(batch)
        for order_id, records in batch.orders:
            self.done[order_id] = (records, versions[order_id])

    async def close(self) -> None:
        """Wait for the write in progress, then commit what is left."""
        if self._writing is not None:
            # shielded: the session must not close under a write, even when cancelled
            await asyncio.shield(self._writing)
        batch, self._batch = self._batch, self._new_batch()
        if len(batch):
            self._commit(batch)


async def _pull_orders_cached(
    client: AsyncOKCClient,
    session: Session,
    store: Store,
    ids: Sequence[str],
    *,
    statuses: list[dict[str, Any]] | None,
    refresh: bool,
    concurrency: int,
    progress: bool,
) -> _Gathered:
    from okc_recon.store._records import load_record

    cached: dict[str, list[tuple[str, str]]] = {}
    if not refresh:
        finals = final_status_ids(statuses, store.final_statuses)
        cached = session.cached_orders(ids, final_status_ids=finals, lag=store.lag)
    writer = _OrderWriter(session)
    try:
        _, failures = await _pull_orders(
            client,
            [i for i in ids if i not in cached],
            concurrency=concurrency,
            progress=progress,
            on_order=writer.add,
        )
    finally:
        await writer.close()
    gathered = _Gathered([], [], failures, orders_from_cache=len(cached))
    for order_id in ids:  # the requested order, as without the cache
        if order_id in cached:
            for sha, text in cached[order_id]:
                gathered.records.append(load_record(text))
                gathered.versions.append(sha)
            gathered.from_cache += len(cached[order_id])
        elif order_id in writer.done:
            records, versions = writer.done[order_id]
            gathered.records.extend(records)
            gathered.versions.extend(versions)
    return gathered


class _PageWriter:
    """Commits each page of a walk as it arrives; remembers ids, versions, latest update."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.ids: list[str | None] = []
        self.versions: list[str | None] = []
        self.latest: datetime | None = None
        self.undated = 0

    def page(self, records: Sequence[Any]) -> None:
        put = self._session.put(records)
        self.ids.extend(put.ids)
        self.versions.extend(put.shas)
        self.undated += put.undated
        if put.latest is not None and (self.latest is None or put.latest > self.latest):
            self.latest = put.latest


def _since_query(q: str | None, since: datetime) -> str:
    # ≥ (an inclusive bound, floored to the second): records sharing the boundary second
    # are read again and merged by id, never lost (okc-api.md, estuary/connectors #5205)
    bound = f"updated_at:[{since.strftime('%Y-%m-%dT%H:%M:%SZ')} TO *]"
    return f"{q} AND {bound}" if q else bound


async def _pull_list_cached(
    client: AsyncOKCClient,
    session: Session,
    store: Store,
    q: str | None,
    *,
    refresh: bool,
    progress: bool,
) -> _Gathered:
    from okc_recon.store._records import load_record

    key = q or ""
    state = None
    if client.settings.q_ranges and not refresh:
        state = session.walk(key)
        if state is not None and (state.high_water is None or state.undated):
            state = None  # records without updated_at cannot be found by a range: walk all
    if state is None:
        pages = _PageWriter(session)
        records, failures, check = await _pull_list(
            client, q, progress=progress, on_page=pages.page
        )
        if not failures and (check is None or not check.missing) and None not in pages.versions:
            walked = [(i, str(v)) for i, v in zip(pages.ids, pages.versions, strict=True)]
            session.save_walk(key, walked, high_water=pages.latest, undated=pages.undated)
        return _Gathered(records, list(pages.versions), failures, check)

    assert state.high_water is not None
    expected: int | None = None
    try:
        expected = await client.count_fulfillments(q=q)
    except ApiError as exc:
        if _fatal(exc):
            raise
        log.warning("no /count cross-check for this pull: %s", exc)
    since = state.high_water - store.lag
    changed = _PageWriter(session)
    records, failures, _ = await _pull_list(
        client, _since_query(q, since), progress=progress, on_page=changed.page
    )
    gone: set[str] = set()
    if q:
        # records that changed and left the query: the filtered walk cannot return them
        moved = _PageWriter(session)
        _, more, _ = await _pull_list(
            client, _since_query(None, since), progress=progress, on_page=moved.page
        )
        failures += more
        gone = {i for i in moved.ids if i is not None}
        if moved.latest is not None and (changed.latest is None or moved.latest > changed.latest):
            changed.latest = moved.latest
    fresh = {i: n for n, i in enumerate(changed.ids) if i is not None}
    current = session.current([i for i, _ in state.members if i is not None and i not in fresh])
    known_unkeyed = {sha for i, sha in state.members if i is None}
    cached_unkeyed = session.by_sha(sorted(known_unkeyed))
    gathered = _Gathered([], [], failures)
    members: list[tuple[str | None, str]] = []

    def take(record: Any, fid: str | None, sha: str | None, *, cached: bool) -> None:
        gathered.records.append(record)
        gathered.versions.append(sha)
        gathered.from_cache += cached
        if sha is not None:
            members.append((fid, sha))

    for fid, known in state.members:  # the last walk's order, changed records in place
        if fid is None:
            if known in cached_unkeyed:
                take(load_record(cached_unkeyed[known]), None, known, cached=True)
        elif fid in fresh:
            n = fresh.pop(fid)
            take(records[n], fid, changed.versions[n], cached=False)
        elif fid not in gone and fid in current:
            version, text = current[fid]
            take(load_record(text), fid, version, cached=True)
    for n, (fid, sha) in enumerate(zip(changed.ids, changed.versions, strict=True)):
        if (fid is not None and fid in fresh) or (fid is None and sha not in known_unkeyed):
            take(records[n], fid, sha, cached=False)  # new to this query
    if expected is not None:
        gathered.check = CountCheck(expected=expected, received=len(gathered.records), query=key)
        if not gathered.check.matches:
            log.warning("fulfillment count cross-check: %s", gathered.check)
    complete = not failures and (gathered.check is None or not gathered.check.missing)
    if complete and None not in gathered.versions:
        high_water = max(state.high_water, changed.latest or state.high_water)
        session.save_walk(key, members, high_water=high_water, undated=changed.undated)
    return gathered


async def pull_with(
    client: AsyncOKCClient,
    order_ids: Iterable[Any] | str | None = None,
    *,
    all: bool = False,
    q: str | None = None,
    concurrency: int | None = None,
    progress: bool = True,
    service_map: Any = None,
    store: Store | bool | None = None,
    refresh: bool = False,
) -> PullResult:
    """:func:`pull_fulfillments` on an existing :class:`AsyncOKCClient`.

    Here the cache is used only when asked for: ``store=Store(…)``, or ``store=True`` for
    :meth:`Store.for_settings(client.settings) <okc_recon.store.Store.for_settings>`.
    """
    walk = all or q is not None
    if order_ids is not None and walk:
        raise ConfigError("pull either order_ids or the list (all=True / q=…), not both")
    if order_ids is None and not walk:
        raise ConfigError("nothing to pull: give order_ids, or all=True (optionally with q)")
    concurrency = concurrency or client.settings.concurrency
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    cache = resolve_store(store, client.settings, auto=False)
    started = time.perf_counter()
    requests_before = client.stats.requests
    # opened before any request: a cache in use by another run stops the pull at once
    session = cache.open(client.settings.base_url) if cache is not None else None
    statuses_task = asyncio.ensure_future(_statuses(client))
    gathered: _Gathered | None = None
    try:
        check: CountCheck | None = None
        ids: tuple[str, ...] = () if walk else _order_ids(order_ids or ())
        if session is not None and cache is not None:
            if walk:
                gathered = await _pull_list_cached(
                    client, session, cache, q, refresh=refresh, progress=progress
                )
            else:
                # which orders are final depends on the status names: ask for them first
                statuses = await statuses_task
                gathered = await _pull_orders_cached(
                    client,
                    session,
                    cache,
                    ids,
                    statuses=statuses if statuses is not None else session.statuses(),
                    refresh=refresh,
                    concurrency=concurrency,
                    progress=progress,
                )
            records, failures, check = gathered.records, gathered.failures, gathered.check
        elif walk:
            records, failures, check = await _pull_list(client, q, progress=progress)
        else:
            records, failures = await _pull_orders(
                client, ids, concurrency=concurrency, progress=progress
            )
        statuses = await statuses_task
        if session is not None:
            if statuses is not None:
                session.save_statuses(statuses)
            else:
                statuses = session.statuses()  # the last names seen beat none at all
    finally:
        if session is not None:
            session.close()
        if not statuses_task.done():
            statuses_task.cancel()
        elif not statuses_task.cancelled():
            statuses_task.exception()  # retrieved: no "exception never retrieved" noise
    frame, rejected = fulfillments_frame(records, statuses=statuses, service_map=service_map)
    result = PullResult(
        fulfillments=frame,
        rejected=rejected,
        failures=tuple(failures),
        requested=ids,
        records=len(records),
        count_check=check,
        mode="list" if walk else "orders",
        query=q,
        requests=client.stats.requests - requests_before,
        elapsed=time.perf_counter() - started,
        from_cache=gathered.from_cache if gathered is not None else 0,
        orders_from_cache=gathered.orders_from_cache if gathered is not None else 0,
        cache=cache.path if cache is not None else None,
        versions=tuple(gathered.versions) if gathered is not None else (),
        statuses=tuple(statuses or ()),
        _records=tuple(records),
    )
    log.info("pull: %s", result.summary())
    return result


async def pull_fulfillments_async(
    order_ids: Iterable[Any] | str | None = None,
    *,
    settings: Settings | None = None,
    all: bool = False,
    q: str | None = None,
    concurrency: int | None = None,
    progress: bool = True,
    service_map: Any = None,
    transport: httpx.AsyncBaseTransport | None = None,
    store: Store | bool | None = None,
    refresh: bool = False,
) -> PullResult:
    """:func:`pull_fulfillments` for async code (``await`` it on your own loop)."""
    settings = settings if settings is not None else Settings.from_env()
    # the default cache is for the real API: not when a transport replaces the network
    cache = resolve_store(store, settings, auto=transport is None)
    async with AsyncOKCClient(settings, transport=transport, max_connections=concurrency) as client:
        return await pull_with(
            client,
            order_ids,
            all=all,
            q=q,
            concurrency=concurrency,
            progress=progress,
            service_map=service_map,
            store=cache if cache is not None else False,
            refresh=refresh,
        )


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code, even inside a running event loop
    (Jupyter): then it runs on a private loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="okc-recon-pull") as pool:
        return pool.submit(asyncio.run, coro).result()


def pull_fulfillments(
    order_ids: Iterable[Any] | str | None = None,
    *,
    settings: Settings | None = None,
    all: bool = False,
    q: str | None = None,
    concurrency: int | None = None,
    progress: bool = True,
    service_map: Any = None,
    transport: httpx.AsyncBaseTransport | None = None,
    store: Store | bool | None = None,
    refresh: bool = False,
) -> PullResult:
    """Pull fulfillments from OKC into a frame: per order, or the whole (filtered) list.

    - ``order_ids``: pull each order's fulfillments, ``concurrency`` at a time (default
      ``settings.concurrency``, 16).
    - ``all=True``: walk ``GET /v2/fulfillments`` (``q``: OKC's query DSL, e.g.
      ``"updated_at:[2025-10-01 TO 2025-10-31]"``), cross-checked against ``/count``.
    - ``settings``: default :meth:`Settings.from_env` (``OKC_*`` variables, ``.env``).
    - ``progress``: a progress bar on long pulls (terminal or notebook).
    - ``service_map``: extra service aliases for the ``service`` column.
    - ``store``: the local cache (:class:`~okc_recon.store.Store`). By default
      (``None``) the one in ``settings.cache_dir`` (``OKC_CACHE_DIR``), except for a
      loopback base URL (the sandbox, whose data is generated anew on each start) or when
      ``transport`` replaces the network (tests); ``True`` uses it even then, ``False``
      never. With a cache, every page or batch of orders is stored as it arrives, and
      only what can still change is fetched: orders whose fulfillments are all final and
      settled (``Store.lag``) come from the cache; list walks read only what changed
      since the last complete walk when ``settings.q_ranges`` says the server can filter
      on ``updated_at``. ``result.from_cache`` says how many records were not fetched.
    - ``refresh``: fetch everything again (and store it).

    Returns a :class:`PullResult`; failed orders are listed in ``.failures`` (by id), never
    dropped silently — call ``.raise_for_failures()`` to make them an exception. Raises
    :class:`~okc_recon.errors.AuthenticationError` when OKC refuses the credentials.

    >>> result = pull_fulfillments(order_ids=ids)            # doctest: +SKIP
    >>> result.fulfillments.group_by("carrier").len()        # doctest: +SKIP
    """
    return run_sync(
        pull_fulfillments_async(
            order_ids,
            settings=settings,
            all=all,
            q=q,
            concurrency=concurrency,
            progress=progress,
            service_map=service_map,
            transport=transport,
            store=store,
            refresh=refresh,
        )
    )
