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

What the loop does about servers that misbehave (tests/api/test_hostile_*.py):

- **a whole-response deadline**: httpx's timeout is per read, so a server that trickles a
  byte at a time (slow loris) would hold a request forever; each attempt must be complete
  within ``2 × settings.timeout`` (``OKC_TIMEOUT``), else it counts as a timeout (retried);
- **bodies**: JSON is parsed whatever the ``Content-Type`` says; a gzip body that was not
  declared is unpacked; a 2xx body that is not JSON (a proxy's HTML page, a body cut short,
  a broken ``Content-Encoding``) is retried like a 5xx, then raised as
  :class:`~okc_recon.errors.ResponseShapeError` with its size and type, never its text;
- **rate limits**: a 429's wait (``Retry-After``, else ``X-RateLimit-Reset``) pauses *every*
  request of the client, not only the one refused, and ``X-RateLimit-Remaining: 0`` pauses
  them until the reset before any 429 (capped at ``retry_after_cap``);
- **redirects** are not followed (a bearer token must not travel): a 3xx is an
  :class:`~okc_recon.api._errors.EndpointError` naming only the target's origin — except on
  ``/label``, where a redirect's ``Location`` *is* the fresh label URL;
- **listings** (:meth:`AsyncOKCClient.list_fulfillments`, each order's
  ``/orders/{id}/fulfillments``): next links are followed as given on ``OKC_BASE_URL``'s
  host (never another host), with our ``q``/``order_id``/``limit`` added when the link
  dropped them; a refused ``limit`` is lowered; the filter is checked on every record
  (:mod:`okc_recon.api._query`): records outside it fail the listing, they are neither kept
  nor dropped silently; habits learned on one walk (page size, cursor on the last page)
  serve the next (:class:`~okc_recon.api._pagination.PageHabits`);
- **errors** quote what the server said, minus any secret it echoed and any signed URL.
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
import zlib
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit

import httpx

# httpcore asks `import sniffio` on every lock it creates (several per request). sniffio is
# not installed (anyio 4 no longer needs it), and a failed import is not cached, so each ask
# searches sys.path again: a third of the client's CPU time per request. Recording the
# absence makes the same ImportError immediate; httpcore then assumes asyncio, as it would.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

from okc_recon._version import __version__
from okc_recon.api._auth import TokenManager
from okc_recon.api._errors import api_error, connection_error, parse_error_body, scrub
from okc_recon.api._pagination import (
    CursorPaginator,
    Page,
    PageHabits,
    PaginationStall,
    find_records,
)
from okc_recon.api._query import RecordFilter, record_filter
from okc_recon.api._retry import RetryPolicy, parse_rate_limit_reset, parse_retry_after
from okc_recon.api._transport import fast_transport
from okc_recon.config import Secret, Settings
from okc_recon.errors import ApiError, ResponseShapeError

if TYPE_CHECKING:
    from okc_recon.api.pull import PullResult

__all__ = ["AsyncOKCClient", "ClientStats", "LabelUrl", "OKCClient"]

log = logging.getLogger("okc_recon")

T = TypeVar("T")

# 401 renewals one request may trigger (token expiry while in flight, not a refusal loop)
_MAX_RENEWALS = 3
# A whole response must arrive within this many read timeouts (slow-loris guard).
_DEADLINE_TIMEOUTS = 2.0
# The API's largest page (okc-api.md §4).
MAX_LIMIT = 250
# A gzip body larger than this once unpacked is refused (a decompression bomb).
_MAX_UNPACKED = 512 * 2**20


class _NotJson(Exception):
    """A 2xx body that is not JSON; retried like a 5xx, then a ResponseShapeError."""


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
    rate_limit_pauses: int = 0  # times every request was paused for a rate limit


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
        self._clock = clock
        self._deadline = _DEADLINE_TIMEOUTS * settings.timeout
        self._not_before = 0.0  # on self._clock: no request starts before (rate limits)
        self._habits: dict[str, PageHabits] = {}
        self._warned_foreign_link = False
        self._reached = False  # whether the host has answered anything yet
        pool = max(max_connections or settings.concurrency, 1) + 2  # +2: token calls
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            transport=transport if transport is not None else fast_transport(limits),
            timeout=httpx.Timeout(settings.timeout),
            limits=limits,
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

    def _pause(self, seconds: float, why: str) -> None:
        """Hold every request of this client for ``seconds`` (a rate limit)."""
        until = self._clock() + seconds
        if until > self._not_before:
            self._not_before = until
            self.stats.rate_limit_pauses += 1
            log.info("OKC rate limit: every request waits %.2f s (%s)", seconds, why)

    async def _wait_turn(self) -> None:
        # again if the pause was extended while this request slept (a few times at most)
        for _ in range(4):
            wait = self._not_before - self._clock()
            if wait <= 0:
                return
            await self._sleep(wait)

    def _rate_limit_headers(self, response: httpx.Response) -> float | None:
        """Seconds until ``X-RateLimit-Reset`` when ``X-RateLimit-Remaining`` is 0."""
        remaining = response.headers.get("X-RateLimit-Remaining")
        if remaining is None or remaining.strip() != "0":
            return None
        reset = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"))
        return None if reset is None else min(reset, self.policy.retry_after_cap)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        auth: bool = True,
        on_redirect: Callable[[str], Any] | None = None,
    ) -> Any:
        """Send one request with retries and token renewal; the parsed JSON of the 2xx body.

        ``path`` may carry its own query (a next link, sent byte for byte) when ``params`` is
        None. ``on_redirect(location)`` answers a 3xx with a ``Location`` (else a 3xx is an
        error). Raises the :class:`~okc_recon.errors.ApiError` subclass that fits, naming
        ``method`` and ``path`` (with the query), never a header or a request body.
        """
        query = _clean(params)
        where = f"{path}?{urlencode(query)}" if query else path
        # One absolute URL, parsed once: httpx would parse base, path and params apart and
        # merge them (the same bytes: httpx encodes params with urlencode too).
        url = httpx.URL(self.settings.base_url + where)
        policy = self.policy
        attempt = 0
        renewals = 0
        while True:
            attempt += 1
            await self._wait_turn()
            headers: dict[str, str] = {}
            used: Secret | None = None
            if auth:
                used = await self.auth.token()
                headers["Authorization"] = f"Bearer {used.reveal()}"
            self.stats.requests += 1
            started = time.perf_counter()
            failure: BaseException | None = None
            response: httpx.Response | None = None
            try:
                async with asyncio.timeout(self._deadline):
                    response = await self._http.request(
                        method, url, json=json_body, headers=headers
                    )
            except TimeoutError as exc:
                failure = httpx.ReadTimeout(
                    f"no complete response within {self._deadline:g} s (2 × OKC_TIMEOUT)"
                )
                failure.__cause__ = exc
            except httpx.TransportError as exc:
                failure = exc
            except httpx.DecodingError as exc:
                # a body whose Content-Encoding does not decode: like a body that is not JSON
                failure = _NotJson(
                    "the body does not decode as its Content-Encoding (gzip, deflate, br) "
                    f"says ({exc})"
                )
            except httpx.HTTPError as exc:
                raise connection_error(
                    method, where, exc, attempts=attempt, base_url=self.settings.base_url
                ) from exc
            if failure is not None and not isinstance(failure, _NotJson):
                self.stats.transport_errors[type(failure).__name__] += 1
                if policy.retryable_exception(failure) and policy.can_retry(attempt):
                    wait = policy.delay(attempt)
                    log.info(
                        "%s %s: %s; retry %d/%d in %.2f s",
                        method,
                        where,
                        type(failure).__name__,
                        attempt + 1,
                        policy.max_attempts,
                        wait,
                    )
                    self.stats.retries += 1
                    await self._sleep(wait)
                    continue
                raise connection_error(
                    method,
                    where,
                    failure,
                    attempts=attempt,
                    base_url=self.settings.base_url,
                    secrets=self.auth.secrets(),
                    first_contact=not self._reached,
                ) from failure
            status = response.status_code if response is not None else 200
            self._reached = True
            self.stats.statuses[status] += 1
            log.debug(
                "%s %s → %d in %.0f ms",
                method,
                where,
                status,
                1000 * (time.perf_counter() - started),
            )
            if response is not None:
                pause = self._rate_limit_headers(response)
                if pause and status != 429:
                    self._pause(pause, "X-RateLimit-Remaining: 0")
            if (
                status == 401
                and used is not None
                and (renewals == 0 or (renewals < _MAX_RENEWALS and self.auth.stale(used)))
            ):
                # Renew once; again only if the 401 is explained by expiry (a short-lived
                # token can expire while a slow request is in flight). A token refused
                # before it ever worked is refused: that 401 is raised below.
                renewals += 1
                refused = api_error(
                    method,
                    where,
                    status,
                    response.content if response is not None else b"",
                    attempts=attempt,
                    secrets=self.auth.secrets(),
                    hint="OKC refused the access token: set a fresh OKC_ACCESS_TOKEN, or "
                    "OKC_USERNAME/OKC_PASSWORD so that it can be renewed",
                )
                attempt -= 1  # the renewal retry does not use up the retry budget
                await self.auth.unauthorized(used, method=method, path=where, refused=refused)
                continue
            if 200 <= status < 300:
                try:
                    if failure is not None:
                        raise failure
                    assert response is not None
                    data = self._parse(response)
                except _NotJson as exc:
                    if policy.can_retry(attempt):
                        wait = policy.delay(attempt)
                        log.info(
                            "%s %s → %d but %s; retry %d/%d in %.2f s",
                            method,
                            where,
                            status,
                            exc,
                            attempt + 1,
                            policy.max_attempts,
                            wait,
                        )
                        self.stats.retries += 1
                        await self._sleep(wait)
                        continue
                    # Never quote the body: a fulfillment body carries a label URL.
                    raise ResponseShapeError(
                        f"{method} {where} → {status}: {exc} (after {attempt} attempt"
                        f"{'s' if attempt != 1 else ''}); OKC or a proxy in between is "
                        "answering with something else than its JSON",
                        method=method,
                        path=where,
                        status=status,
                        attempts=attempt,
                    ) from None
                if used is not None:
                    self.auth.accepted(used)
                return data
            assert response is not None
            location = response.headers.get("Location")
            if 300 <= status < 400 and location and on_redirect is not None:
                return on_redirect(location)
            if policy.retryable_status(status) and policy.can_retry(attempt):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is None and status == 429:
                    retry_after = parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"))
                wait = policy.delay(attempt, retry_after=retry_after)
                log.info(
                    "%s %s → %d; retry %d/%d in %.2f s%s",
                    method,
                    where,
                    status,
                    attempt + 1,
                    policy.max_attempts,
                    wait,
                    "" if retry_after is None else f" (server asked for {retry_after:g} s)",
                )
                self.stats.retries += 1
                if status == 429:
                    self._pause(wait, f"{status} on {method} {path}")
                else:
                    await self._sleep(wait)
                continue
            raise api_error(
                method,
                where,
                status,
                response.content,
                attempts=attempt,
                secrets=self.auth.secrets(),
                location=location,
            )

    @staticmethod
    def _parse(response: httpx.Response) -> Any:
        """The JSON of a 2xx body (whatever its Content-Type); :class:`_NotJson` if it is not."""
        if response.status_code == 204:
            return None
        content = response.content
        kind = response.headers.get("content-type", "unknown type")
        if not content.strip():
            raise _NotJson(f"the body is empty ({kind})")
        if content[:2] == b"\x1f\x8b":  # gzip the server did not declare
            unpack = zlib.decompressobj(wbits=31)
            try:
                content = unpack.decompress(content, _MAX_UNPACKED)
            except zlib.error:
                raise _NotJson(f"the body is gzip that does not unpack ({kind})") from None
            if unpack.unconsumed_tail:
                raise _NotJson(f"the body is gzip larger than {_MAX_UNPACKED} bytes unpacked")
        try:
            return json.loads(content, parse_float=Decimal)
        except ValueError:
            raise _NotJson(f"the body is not JSON ({len(content)} bytes of {kind})") from None

    def _shape_error(self, where: str, expected: str, body: Any) -> ResponseShapeError:
        keys = sorted(body)[:10] if isinstance(body, Mapping) else type(body).__name__
        text = f"GET {where} → 200 but the body has no {expected} (got {keys})"
        code = message = None
        if isinstance(body, Mapping) and ("error" in body or "errors" in body):
            # an error reported with a 200 status: say what it says
            info = parse_error_body(json.dumps(body, default=str))
            code = info.code
            message = scrub(info.message, self.auth.secrets()) if info.message else None
            if code or message:
                text += f": it is an error, {message or 'no message'}"
                text += f" [{code}]" if code else ""
        return ResponseShapeError(
            text,
            method="GET",
            path=where,
            status=200,
            error_code=code,
            api_message=message,
        )

    # -- endpoints ------------------------------------------------------------------------

    def _link(self, link: str, path: str, ours: Mapping[str, Any]) -> str:
        """A next link as a request target on OKC_BASE_URL: its path and query kept byte for
        byte (never re-encoded), our parameters added when it dropped them."""
        base = urlsplit(self.settings.base_url)
        if link.startswith("?"):
            link_path, link_query = path, link[1:]
        else:
            parts = urlsplit(link)
            origin = (parts.scheme.lower(), parts.netloc.lower())
            foreign = parts.netloc and origin != (base.scheme.lower(), base.netloc.lower())
            if foreign and not self._warned_foreign_link:
                self._warned_foreign_link = True
                log.warning(
                    "OKC's next link points at %s://%s; its path is followed on "
                    "OKC_BASE_URL instead (the token is sent nowhere else)",
                    parts.scheme,
                    parts.hostname,
                )
            link_path, link_query = parts.path or path, parts.query
            prefix = base.path.rstrip("/")
            if prefix and link_path.startswith(prefix + "/"):
                link_path = link_path[len(prefix) :]
        present = {key for key, _ in parse_qsl(link_query, keep_blank_values=True)}
        missing = {k: v for k, v in _clean(ours).items() if k not in present}
        if missing:
            link_query = f"{link_query}&{urlencode(missing)}" if link_query else urlencode(missing)
        return f"{link_path}?{link_query}" if link_query else link_path

    @staticmethod
    def _mentions_limit(exc: ApiError) -> bool:
        text = " ".join([exc.api_message or "", *(str(d) for d in exc.details)]).lower()
        return exc.status in (400, 422) and "limit" in text

    async def _walk(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        limit: int,
        cursor: str | None,
        expected_total: int | None,
        habits: str,
        check: RecordFilter | None,
    ) -> AsyncGenerator[Page, None]:
        paginator = CursorPaginator(
            limit=max(1, min(limit, MAX_LIMIT)),
            expected_total=expected_total,
            cursor=cursor,
            habits=self._habits.setdefault(habits, PageHabits()),
        )
        fixed = _clean(params)
        while not paginator.done:
            if paginator.url is not None:
                target = self._link(paginator.url, path, {**fixed, "limit": paginator.limit})
                query: dict[str, str | int] | None = None
                where = target
            else:
                target, query = path, {**fixed, **paginator.params()}
                where = f"{path}?{urlencode(query)}"
            try:
                body = await self.request_json("GET", target, params=query)
            except ApiError as exc:
                if query is not None and self._mentions_limit(exc):
                    refused = paginator.limit
                    if paginator.lower_limit() is not None:
                        log.warning(
                            "GET %s: OKC refused limit=%d (%s); asking for %d a page instead",
                            path,
                            refused,
                            exc.api_message,
                            paginator.limit,
                        )
                        continue
                if paginator.speculative and exc.status in (400, 404, 409, 422):
                    try:
                        paginator.abandon(
                            f"GET {where} → {exc.status}: the server refused the last "
                            "record's id as a cursor after repeating its own"
                        )
                    except PaginationStall as stall:
                        raise ResponseShapeError(
                            f"GET {where}: {stall}; the listing cannot be completed",
                            method="GET",
                            path=where,
                            status=exc.status,
                        ) from exc
                    continue
                raise
            records = find_records(body)
            if records is None:
                raise self._shape_error(where, "list of fulfillments", body)
            if check is not None:
                self._check(check, where, records)
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

    @staticmethod
    def _check(check: RecordFilter, where: str, records: list[Any]) -> None:
        """Raise when records outside the filter came back (the server did not apply it)."""
        outside = [(r, c) for r in records if (c := check.outside(r)) is not None]
        if not outside:
            return
        record, condition = outside[0]
        value = condition.value(record)
        raise ResponseShapeError(
            f"GET {where} → 200: {len(outside)} of {len(records)} records on this page are "
            f"outside the filter {check.description}, so the server did not apply it "
            f"(record {record.get('id')!r} has {condition.field}={value!r}, outside "
            f"{condition.term}); none of this page is kept: check the filter's syntax, or "
            "pull without it and filter the frame",
            method="GET",
            path=where,
            status=200,
        )

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

        ``limit`` (default ``settings.page_size``, at most 250) is always sent.
        ``expected_total`` (from :meth:`count_fulfillments`) lets the walk see through a
        server that caps its page size, and makes it raise rather than stop early when
        records would be lost. Records outside ``q``/``order_id`` (a server that ignored the
        filter) raise :class:`~okc_recon.errors.ResponseShapeError`.
        """
        async for page in self._walk(
            "/v2/fulfillments",
            {"q": q, "order_id": order_id},
            limit=limit or self.settings.page_size,
            cursor=cursor,
            expected_total=expected_total,
            habits="list",
            check=record_filter(q, order_id),
        ):
            yield page

    async def order_fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """Every fulfillment of one order (``GET /v2/orders/{id}/fulfillments``, all pages).

        Records of another order in the answer raise
        :class:`~okc_recon.errors.ResponseShapeError` (the pull reports the order failed).
        """
        records: list[dict[str, Any]] = []
        async for page in self._walk(
            f"/v2/orders/{_path_id(order_id)}/fulfillments",
            {},
            limit=self.settings.page_size,
            cursor=None,
            expected_total=None,
            habits="order",
            check=record_filter(None, str(order_id).strip()),
        ):
            records.extend(page.records)
        return records

    async def fulfillment(self, fulfillment_id: str) -> dict[str, Any]:
        """One fulfillment (``GET /v2/fulfillments/{id}``)."""
        path = f"/v2/fulfillments/{_path_id(fulfillment_id)}"
        body = await self.request_json("GET", path)
        record = None
        if isinstance(body, Mapping):
            record = body.get("fulfillment", body.get("data", body))
        if not isinstance(record, dict) or "id" not in record:
            raise self._shape_error(path, "'fulfillment' object", body)
        return dict(_protect(record))

    async def count_fulfillments(self, *, q: str | None = None, order_id: str | None = None) -> int:
        """How many fulfillments match (``GET /v2/fulfillments/count``)."""
        path = "/v2/fulfillments/count"
        params = _clean({"q": q, "order_id": order_id})
        body = await self.request_json("GET", path, params=params)
        value = body
        if isinstance(body, Mapping):
            data = body.get("data")
            value = next(
                (
                    node[key]
                    for node in (body, data if isinstance(data, Mapping) else {})
                    for key in ("count", "total")
                    if key in node
                ),
                None,
            )
        count = None
        if not isinstance(value, bool):
            with contextlib.suppress(ArithmeticError, ValueError):
                number = Decimal(str(value).strip())
                if number == number.to_integral_value() and number >= 0:
                    count = int(number)
        if count is None:
            where = f"{path}?{urlencode(params)}" if params else path
            raise self._shape_error(where, "integer 'count'", body)
        return count

    async def label_url(self, fulfillment_id: str) -> LabelUrl:
        """A fresh pre-signed label URL (``GET /v2/fulfillments/{id}/label``), valid 15 min."""
        path = f"/v2/fulfillments/{_path_id(fulfillment_id)}/label"
        fetched_at = datetime.now(UTC)
        # a redirect's Location *is* the label (S3 serves it): take it, do not follow it
        body = await self.request_json(
            "GET", path, on_redirect=lambda location: {"label_url": location}
        )
        value = body.get("label_url") if isinstance(body, Mapping) else None
        for key in ("fulfillment", "data"):
            if isinstance(body, Mapping) and isinstance(body.get(key), Mapping):
                value = body[key].get("label_url", value)
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
