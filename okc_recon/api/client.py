"""The OKC partner API v2 client: every endpoint okc-recon reads, async inside.

:class:`AsyncOKCClient` does the work on one shared :class:`httpx.AsyncClient` (one
connection pool for every concurrent request); :class:`OKCClient` is its synchronous facade
for notebooks and the CLI. The facade runs the async client on a private event loop in a
worker thread, so it works the same in a script and in a Jupyter cell, where an event loop
is already running.

    >>> from okc_recon import OKCClient, Settings
    >>> with OKCClient(Settings.from_env()) as okc:           # doctest: +SKIP
    ...     okc.order_fulfillments("a1b2c3d4-…")
    ...     okc.count_fulfillments(q="status_id:3")

Every request goes through one loop (:meth:`AsyncOKCClient.request_json`): bearer token from
the :class:`~okc_recon.api._auth.TokenManager` (renewed once on a 401), retries from the
:class:`~okc_recon.api._retry.RetryPolicy`, and typed errors from
:mod:`~okc_recon.api._errors`. Records are parsed with ``parse_float=Decimal`` so money stays
exact, and a record's ``label_url`` is wrapped in :class:`LabelUrl` the moment it arrives:
it never prints, logs, pickles or serialises.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

# httpcore asks `import sniffio` on every lock it creates (several per request). sniffio is
# not installed (anyio 4 no longer needs it), and a failed import is not cached, so each ask
# searches sys.path again: a third of the client's CPU time per request. Recording the
# absence makes the same ImportError immediate; httpcore then assumes asyncio, as it would.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

from okc_recon._version import __version__
from okc_recon.api._auth import TokenManager
from okc_recon.api._errors import api_error, connection_error
from okc_recon.api._pagination import CursorPaginator, Page, PaginationStall, find_records
from okc_recon.api._retry import RetryPolicy, parse_retry_after
from okc_recon.config import Secret, Settings
from okc_recon.errors import ResponseShapeError

if TYPE_CHECKING:
    from okc_recon.api.pull import PullResult

__all__ = ["AsyncOKCClient", "ClientStats", "LabelUrl", "OKCClient"]

log = logging.getLogger("okc_recon")

T = TypeVar("T")

# 401 renewals one request may trigger (token expiry while in flight, not a refusal loop)
_MAX_RENEWALS = 3

#: how long OKC's pre-signed label URLs live when the URL does not say (okc-api.md §5)
LABEL_URL_LIFETIME = timedelta(minutes=15)


class LabelUrl(Secret):
    """A fresh, pre-signed label URL: a credential for 15 minutes, so it never shows itself.

    ``reveal()`` gives the URL (to download the label right away); ``expires_at`` says when
    it stops working (from its ``X-Amz-Date``/``X-Amz-Expires`` when present).

    >>> url = LabelUrl("https://bucket.s3.amazonaws.com/l.pdf?X-Amz-Expires=900")
    >>> url
    LabelUrl('**********')
    """

    __slots__ = ("fetched_at",)

    def __init__(self, value: str, *, fetched_at: datetime | None = None) -> None:
        super().__init__(value)
        self.fetched_at = fetched_at or datetime.now(UTC)

    def __repr__(self) -> str:
        return "LabelUrl('**********')"

    __str__ = __repr__

    @property
    def expires_at(self) -> datetime:
        """When the URL stops working (read from the URL on demand: most never are)."""
        return _label_expiry(self.reveal(), self.fetched_at)

    @property
    def expired(self) -> bool:
        """Whether the URL has expired (fetch a new one with ``OKCClient.label_url``)."""
        return datetime.now(UTC) >= self.expires_at


def _label_expiry(url: str, fetched_at: datetime) -> datetime:
    query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}
    lifetime = LABEL_URL_LIFETIME
    with contextlib.suppress(KeyError, ValueError):
        lifetime = timedelta(seconds=int(query["x-amz-expires"]))
    start = fetched_at
    with contextlib.suppress(KeyError, ValueError):
        start = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return start + lifetime


def _protect(record: Any) -> Any:
    """Wrap a fulfillment record's ``label_url`` in :class:`LabelUrl` (in place)."""
    if isinstance(record, dict):
        value = record.get("label_url")
        if isinstance(value, str) and value:
            record["label_url"] = LabelUrl(value)
    return record


@dataclass
class ClientStats:
    """Counts of what the client did (requests sent, retries, statuses seen)."""

    requests: int = 0
    retries: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)


def _path_id(value: str | int) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("an OKC id cannot be empty")
    return quote(text, safe="")


def _clean(params: Mapping[str, Any] | None) -> dict[str, str | int]:
    return {k: v for k, v in (params or {}).items() if v is not None}


class AsyncOKCClient:
    """Async OKC client on one :class:`httpx.AsyncClient`; use it with ``async with``.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests); ``sleep`` and
    ``clock`` replace :func:`asyncio.sleep` and :func:`time.monotonic` (fake clocks in tests);
    ``policy`` replaces the retry policy built from ``settings``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_connections: int | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings)
        self.stats = ClientStats()
        self._sleep = sleep
        pool = max(max_connections or settings.concurrency, 1) + 2  # +2: token calls
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            transport=transport,
            timeout=httpx.Timeout(settings.timeout),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            headers={"Accept": "application/json", "User-Agent": f"okc-recon/{__version__}"},
            follow_redirects=False,
        )
        self.auth = TokenManager(settings, self._post_token, clock=clock)

    def __repr__(self) -> str:
        return f"<AsyncOKCClient {self.settings.base_url}>"

    async def __aenter__(self) -> AsyncOKCClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- the request loop -----------------------------------------------------------------

    async def _post_token(self, path: str, body: dict[str, Any]) -> Mapping[str, Any]:
        data = await self.request_json("POST", path, json_body=body, auth=False)
        if not isinstance(data, Mapping):
            raise ResponseShapeError(
                f"POST {path} answered {type(data).__name__}, not a JSON object",
                method="POST",
                path=path,
                status=200,
            )
        return data

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        """Send one request with retries and token renewal; the parsed JSON of the 2xx body.

        Raises the :class:`~okc_recon.errors.ApiError` subclass that fits, naming
        ``method`` and ``path`` (with the query), never a header or a request body.
        """
        query = _clean(params)
        where = f"{path}?{urlencode(query)}" if query else path
        policy = self.policy
        attempt = 0
        renewals = 0
        while True:
            attempt += 1
            headers: dict[str, str] = {}
            used: Secret | None = None
            if auth:
                used = await self.auth.token()
                headers["Authorization"] = f"Bearer {used.reveal()}"
            self.stats.requests += 1
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method, path, params=query or None, json=json_body, headers=headers
                )
            except httpx.TransportError as exc:
                self.stats.transport_errors[type(exc).__name__] += 1
                if policy.retryable_exception(exc) and policy.can_retry(attempt):
                    wait = policy.delay(attempt)
                    log.info(
                        "%s %s: %s; retry %d/%d in %.2f s",
                        method,
                        where,
                        type(exc).__name__,
                        attempt + 1,
                        policy.max_attempts,
                        wait,
                    )
                    self.stats.retries += 1
                    await self._sleep(wait)
                    continue
                raise connection_error(method, where, exc, attempts=attempt) from exc
            status = response.status_code
            self.stats.statuses[status] += 1
            log.debug(
                "%s %s → %d in %.0f ms",
                method,
                where,
                status,
                1000 * (time.perf_counter() - started),
            )
            if (
                status == 401
                and used is not None
                and (renewals == 0 or (renewals < _MAX_RENEWALS and self.auth.stale(used)))
            ):
                # Renew once; again only if the 401 is explained by expiry (a short-lived
                # token can expire while a slow request is in flight). A token refused
                # before it ever worked is refused: that 401 is raised below.
                renewals += 1
                attempt -= 1  # the renewal retry does not use up the retry budget
                await self.auth.unauthorized(used, method=method, path=where)
                continue
            if 200 <= status < 300:
                if used is not None:
                    self.auth.accepted(used)
                return self._parse(method, where, response)
            if policy.retryable_status(status) and policy.can_retry(attempt):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                wait = policy.delay(attempt, retry_after=retry_after)
                log.info(
                    "%s %s → %d; retry %d/%d in %.2f s%s",
                    method,
                    where,
                    status,
                    attempt + 1,
                    policy.max_attempts,
                    wait,
                    "" if retry_after is None else f" (Retry-After {retry_after:g} s)",
                )
                self.stats.retries += 1
                await self._sleep(wait)
                continue
            raise api_error(method, where, status, response.content, attempts=attempt)

    @staticmethod
    def _parse(method: str, where: str, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            # Never quote the body: a fulfillment body carries a label URL.
            raise ResponseShapeError(
                f"{method} {where} → {response.status_code}: the body is not JSON "
                f"({len(response.content)} bytes of "
                f"{response.headers.get('content-type', 'unknown type')})",
                method=method,
                path=where,
                status=response.status_code,
            ) from exc

    def _shape_error(self, where: str, expected: str, body: Any) -> ResponseShapeError:
        keys = sorted(body)[:10] if isinstance(body, Mapping) else type(body).__name__
        return ResponseShapeError(
            f"GET {where} → 200 but the body has no {expected} (got {keys})",
            method="GET",
            path=where,
            status=200,
        )

    # -- endpoints ------------------------------------------------------------------------

    async def _walk(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        limit: int,
        cursor: str | None,
        expected_total: int | None,
    ) -> AsyncGenerator[Page, None]:
        paginator = CursorPaginator(limit=limit, expected_total=expected_total, cursor=cursor)
        while not paginator.done:
            query = {**_clean(params), **paginator.params()}
            where = f"{path}?{urlencode(query)}"
            body = await self.request_json("GET", path, params=query)
            records = find_records(body)
            if records is None:
                raise self._shape_error(where, "list of fulfillments", body)
            try:
                page = paginator.update(body, records)
            except PaginationStall as exc:
                raise ResponseShapeError(
                    f"GET {where}: {exc}; the listing cannot be completed",
                    method="GET",
                    path=where,
                    status=200,
                ) from None
            for record in page.records:
                _protect(record)
            yield page

    async def list_fulfillments(
        self,
        *,
        q: str | None = None,
        order_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        expected_total: int | None = None,
    ) -> AsyncGenerator[Page, None]:
        """Pages of ``GET /v2/fulfillments`` (``q``: OKC query DSL; ``order_id``: filter).

        ``limit`` (default ``settings.page_size``) is always sent. ``expected_total`` (from
        :meth:`count_fulfillments`) lets the walk see through a server that caps its page
        size, and makes it raise rather than stop early when records would be lost.
        """
        async for page in self._walk(
            "/v2/fulfillments",
            {"q": q, "order_id": order_id},
            limit=limit or self.settings.page_size,
            cursor=cursor,
            expected_total=expected_total,
        ):
            yield page

    async def order_fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """Every fulfillment of one order (``GET /v2/orders/{id}/fulfillments``, all pages)."""
        records: list[dict[str, Any]] = []
        async for page in self._walk(
            f"/v2/orders/{_path_id(order_id)}/fulfillments",
            {},
            limit=self.settings.page_size,
            cursor=None,
            expected_total=None,
        ):
            records.extend(page.records)
        return records

    async def fulfillment(self, fulfillment_id: str) -> dict[str, Any]:
        """One fulfillment (``GET /v2/fulfillments/{id}``)."""
        path = f"/v2/fulfillments/{_path_id(fulfillment_id)}"
        body = await self.request_json("GET", path)
        record = body.get("fulfillment", body) if isinstance(body, Mapping) else None
        if not isinstance(record, dict) or "id" not in record:
            raise self._shape_error(path, "'fulfillment' object", body)
        return dict(_protect(record))

    async def count_fulfillments(self, *, q: str | None = None, order_id: str | None = None) -> int:
        """How many fulfillments match (``GET /v2/fulfillments/count``)."""
        path = "/v2/fulfillments/count"
        params = _clean({"q": q, "order_id": order_id})
        body = await self.request_json("GET", path, params=params)
        value = body.get("count") if isinstance(body, Mapping) else body
        try:
            return int(str(value))
        except ValueError:
            where = f"{path}?{urlencode(params)}" if params else path
            raise self._shape_error(where, "integer 'count'", body) from None

    async def label_url(self, fulfillment_id: str) -> LabelUrl:
        """A fresh pre-signed label URL (``GET /v2/fulfillments/{id}/label``), valid 15 min."""
        path = f"/v2/fulfillments/{_path_id(fulfillment_id)}/label"
        fetched_at = datetime.now(UTC)
        body = await self.request_json("GET", path)
        value = body.get("label_url") if isinstance(body, Mapping) else None
        if isinstance(body, Mapping) and isinstance(body.get("fulfillment"), Mapping):
            value = body["fulfillment"].get("label_url")
        if not isinstance(value, str) or not value:
            raise self._shape_error(path, "'label_url'", body)
        return LabelUrl(value, fetched_at=fetched_at)

    async def statuses(self, *, q: str | None = None) -> list[dict[str, Any]]:
        """Status records (``GET /v2/statuses``): ``id``, ``name``, ``group``."""
        path = "/v2/statuses"
        body = await self.request_json("GET", path, params={"q": q})
        records = body if isinstance(body, list) else None
        if isinstance(body, Mapping):
            for key in ("statuses", "data", "items", "results"):
                if isinstance(body.get(key), list):
                    records = body[key]
                    break
        if records is None:
            raise self._shape_error(path, "list of statuses", body)
        return [r for r in records if isinstance(r, dict)]


class _LoopThread:
    """A private event loop running in a daemon thread; runs coroutines from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="okc-recon-client", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if not self.loop.is_running():
            coro.close()
            raise RuntimeError("the OKC client is closed")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class OKCClient:
    """The OKC API, synchronously: for notebooks, scripts and the CLI.

    Runs an :class:`AsyncOKCClient` on a private event loop in a worker thread (so it works
    inside Jupyter's running loop too). Close it, or use it as a context manager.

    >>> with OKCClient(Settings.from_env()) as okc:           # doctest: +SKIP
    ...     records = okc.order_fulfillments("a1b2c3d4-…")
    ...     url = okc.label_url(records[0]["id"])              # LabelUrl('**********')
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self._runner = _LoopThread()
        try:
            self.aio = self._runner.run(self._make(transport, options))
        except BaseException:
            self._runner.stop()
            raise

    async def _make(
        self, transport: httpx.AsyncBaseTransport | None, options: dict[str, Any]
    ) -> AsyncOKCClient:
        return AsyncOKCClient(self.settings, transport=transport, **options)

    def __repr__(self) -> str:
        return f"<OKCClient {self.settings.base_url}>"

    def __enter__(self) -> OKCClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and stop the worker thread."""
        if not self._runner.loop.is_closed():
            self._runner.run(self.aio.aclose())
            self._runner.stop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine that uses ``self.aio`` on the client's loop; its result."""
        return self._runner.run(coro)

    @property
    def stats(self) -> ClientStats:
        """What the client did so far."""
        return self.aio.stats

    def order_fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """Every fulfillment of one order."""
        return self.run(self.aio.order_fulfillments(order_id))

    def fulfillment(self, fulfillment_id: str) -> dict[str, Any]:
        """One fulfillment record."""
        return self.run(self.aio.fulfillment(fulfillment_id))

    def list_fulfillments(
        self,
        *,
        q: str | None = None,
        order_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        expected_total: int | None = None,
    ) -> Iterator[Page]:
        """Pages of ``GET /v2/fulfillments`` (see :meth:`AsyncOKCClient.list_fulfillments`)."""
        pages = self.aio.list_fulfillments(
            q=q, order_id=order_id, limit=limit, cursor=cursor, expected_total=expected_total
        )

        async def _next() -> Page | None:
            try:
                return await anext(pages)
            except StopAsyncIteration:
                return None

        try:
            while (page := self.run(_next())) is not None:
                yield page
        finally:
            if not self._runner.loop.is_closed():
                self.run(pages.aclose())

    def count_fulfillments(self, *, q: str | None = None, order_id: str | None = None) -> int:
        """How many fulfillments match ``q`` / ``order_id``."""
        return self.run(self.aio.count_fulfillments(q=q, order_id=order_id))

    def label_url(self, fulfillment_id: str) -> LabelUrl:
        """A fresh label URL (valid 15 minutes); ``.reveal()`` it only to download the label."""
        return self.run(self.aio.label_url(fulfillment_id))

    def statuses(self, *, q: str | None = None) -> list[dict[str, Any]]:
        """Status records: ``id``, ``name``, ``group``."""
        return self.run(self.aio.statuses(q=q))

    def pull(self, order_ids: Any = None, **options: Any) -> PullResult:
        """:func:`~okc_recon.api.pull.pull_fulfillments` on this client's connection pool
        (same options, except ``settings`` and ``transport``, which are the client's)."""
        from okc_recon.api.pull import pull_with

        return self.run(pull_with(self.aio, order_ids, **options))
