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

Called from a running event loop (a Jupyter cell), the pull runs on a private loop in a
worker thread; ``await pull_fulfillments_async(...)`` is there for async code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import polars as pl

from okc_recon.api.client import AsyncOKCClient
from okc_recon.config import Settings
from okc_recon.errors import ApiError, AuthenticationError, ConfigError, OkcReconError, PullError
from okc_recon.fulfillments import fulfillments_frame, records_to_json, write_fulfillments
from okc_recon.progress import progress_bar

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
    records: int  # API records received (parsed + rejected)
    count_check: CountCheck | None
    mode: Literal["orders", "list"] = "orders"
    query: str | None = None
    requests: int = 0  # HTTP requests sent, retries included
    elapsed: float = 0.0  # seconds
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
        """Write the pull: ``.json`` the API records as received (``label_url`` removed),
        ``.parquet``/``.csv`` the frame (:func:`~okc_recon.fulfillments.write_fulfillments`).
        """
        path = Path(path)
        if path.suffix.lower() == ".json":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                '{"fulfillments": ' + records_to_json(self._records, indent=1) + "}\n",
                encoding="utf-8",
            )
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
) -> tuple[list[Any], list[PullFailure]]:
    results: list[list[Any] | None] = [None] * len(ids)
    errors: dict[int, PullFailure] = {}
    positions = iter(range(len(ids)))
    bar = progress_bar(len(ids), desc="OKC orders", unit="order", enabled=progress)

    async def worker() -> None:
        for i in positions:  # a shared iterator: each index goes to exactly one worker
            try:
                results[i] = await client.order_fulfillments(ids[i])
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
    """Whether an error means every other request will fail too (credentials refused).

    A 403 on one resource is that resource's problem (the role lacks a permission, or the
    order belongs to another client): a failure to report, not a reason to stop.
    """
    if not isinstance(exc, AuthenticationError):
        return False
    return exc.status != 403 or exc.path.startswith("/v2/authentication")


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
    client: AsyncOKCClient, q: str | None, *, progress: bool
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


async def pull_with(
    client: AsyncOKCClient,
    order_ids: Iterable[Any] | str | None = None,
    *,
    all: bool = False,
    q: str | None = None,
    concurrency: int | None = None,
    progress: bool = True,
    service_map: Any = None,
) -> PullResult:
    """:func:`pull_fulfillments` on an existing :class:`AsyncOKCClient`."""
    walk = all or q is not None
    if order_ids is not None and walk:
        raise ConfigError("pull either order_ids or the list (all=True / q=…), not both")
    if order_ids is None and not walk:
        raise ConfigError("nothing to pull: give order_ids, or all=True (optionally with q)")
    concurrency = concurrency or client.settings.concurrency
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    started = time.perf_counter()
    requests_before = client.stats.requests
    statuses_task = asyncio.ensure_future(_statuses(client))
    try:
        check: CountCheck | None = None
        if walk:
            ids: tuple[str, ...] = ()
            records, failures, check = await _pull_list(client, q, progress=progress)
        else:
            assert order_ids is not None
            ids = _order_ids(order_ids)
            records, failures = await _pull_orders(
                client, ids, concurrency=concurrency, progress=progress
            )
        statuses = await statuses_task
    finally:
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
) -> PullResult:
    """:func:`pull_fulfillments` for async code (``await`` it on your own loop)."""
    settings = settings if settings is not None else Settings.from_env()
    async with AsyncOKCClient(settings, transport=transport, max_connections=concurrency) as client:
        return await pull_with(
            client,
            order_ids,
            all=all,
            q=q,
            concurrency=concurrency,
            progress=progress,
            service_map=service_map,
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
) -> PullResult:
    """Pull fulfillments from OKC into a frame: per order, or the whole (filtered) list.

    - ``order_ids``: pull each order's fulfillments, ``concurrency`` at a time (default
      ``settings.concurrency``, 16).
    - ``all=True``: walk ``GET /v2/fulfillments`` (``q``: OKC's query DSL, e.g.
      ``"updated_at:[2025-10-01 TO 2025-10-31]"``), cross-checked against ``/count``.
    - ``settings``: default :meth:`Settings.from_env` (``OKC_*`` variables, ``.env``).
    - ``progress``: a progress bar on long pulls (terminal or notebook).
    - ``service_map``: extra service aliases for the ``service`` column.

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
        )
    )
