"""Following OKC's list cursor, whose field OKC does not document.

:func:`find_cursor` looks for the next cursor in the envelopes real APIs use
(``next_cursor``, ``cursor``, ``next``, ``pagination.*``, ``meta.*``, ``links.next``, with
``has_more``); a ``next`` that is a link (a URL, a ``/v2/…`` path or a ``?query``) is
*followed as given* — its cursor parameter may have another name, and re-encoding an opaque
base64 cursor (``+``, ``/``, ``=``) would corrupt it. :class:`CursorPaginator` decides, page
by page, what to ask for next and when to stop. The client drives it with a short loop::

    paginator = CursorPaginator(limit=100, expected_total=count)
    while not paginator.done:
        body = GET(paginator.url or path, params=None if paginator.url else paginator.params())
        new_records = paginator.update(body, find_records(body))

Stop rules, in order (each page):

1. an empty page (``[]``, or ``null`` as a ``fulfillments`` value) ends the walk;
2. a page whose records were all seen before ends it too (the server repeated a page) —
   unless ``/count`` says records are still missing: then following on would loop and
   stopping would lose records, so :class:`PaginationStall` is raised;
3. ``has_more: false`` or an explicit ``null`` next cursor ends it;
4. a page shorter than ``limit`` ends it, unless ``/count`` says records are still
   missing, ``has_more`` is true, or the page *carries a new next cursor*: then the cursor is
   followed once (a server may ignore ``limit`` and page by its own default — 20 in the
   docs, 50 in the spec — or may put a cursor on its last page: following costs one
   request, stopping could lose records without a word). Without any cursor field, a short
   page of exactly 20 or 50 records is probed once with the last id, for the same reason.
   What the probe shows is remembered in :class:`PageHabits` for every later walk of that
   endpoint: the server's real page size, or that its last page carries a cursor;
5. the next request uses the envelope's link or cursor, or the last record's ``id`` when the
   envelope has no cursor field. A cursor or link is never followed twice: when the
   envelope's repeats, the last id is tried *speculatively* (:attr:`~CursorPaginator.
   speculative`): if the server refuses it (4xx), :meth:`~CursorPaginator.abandon` ends the
   walk with a warning (or :class:`PaginationStall` when ``/count`` says records are missing).

A ``limit`` the server refuses (422 naming ``limit``: its maximum is below ours) is lowered
through 100, 50, 20 (:meth:`~CursorPaginator.lower_limit`), and remembered too.

Records are de-duplicated by ``id`` across pages (APIs repeat records at page boundaries);
records without an ``id`` are kept (they are reported later as unparseable), once each: a
page that repeats one is recognised by its content. A record
wrapped one by one (``{"fulfillment": {…}}``) is unwrapped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CURSOR_PATHS",
    "DEFAULT_PAGE_SIZES",
    "RECORD_KEYS",
    "CursorInfo",
    "CursorPaginator",
    "Page",
    "PageHabits",
    "PaginationStall",
    "find_cursor",
    "find_records",
]

log = logging.getLogger("okc_recon")

#: where a next cursor may be, checked in order (dotted paths into the response body)
CURSOR_PATHS: tuple[str, ...] = (
    "next_cursor",
    "nextCursor",
    "cursor",
    "next",
    "pagination.next_cursor",
    "pagination.nextCursor",
    "pagination.cursor",
    "pagination.next",
    "meta.next_cursor",
    "meta.nextCursor",
    "meta.cursor",
    "meta.next",
    "links.next",
)
_HAS_MORE_PATHS = (
    "has_more",
    "hasMore",
    "pagination.has_more",
    "pagination.hasMore",
    "meta.has_more",
    "meta.hasMore",
)
#: page sizes a server uses when it ignores ``limit``: the docs' default and the spec's
DEFAULT_PAGE_SIZES = (20, 50)
#: smaller limits to fall back to when the server refuses ours
_LOWER_LIMITS = (100, 50, 20)
_LINK = re.compile(r"^(?:https?://|/v\d+/|\?)", re.IGNORECASE)
#: keys a list of records may be under, checked in order
RECORD_KEYS: tuple[str, ...] = ("fulfillments", "data", "items", "results")


class PaginationStall(Exception):
    """Following the cursor would loop, and stopping would lose records."""


@dataclass(frozen=True)
class CursorInfo:
    """What a response body says about the next page."""

    present: bool  # a cursor field exists (even if null)
    cursor: str | None  # its value, as text (None when null, or when it is a link)
    has_more: bool | None  # an explicit has_more flag, when given
    url: str | None = None  # a next *link* (URL, path or ?query), to follow as given

    @property
    def next(self) -> str | None:
        """The link or cursor to follow, whichever was given."""
        return self.url if self.url is not None else self.cursor


def _get(body: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def find_cursor(body: Mapping[str, Any], paths: Sequence[str] = CURSOR_PATHS) -> CursorInfo:
    """The next cursor in ``body``, from the first of ``paths`` present.

    A ``next`` that is a link (``https://…``, ``/v2/…``, ``?cursor=…``) comes back as
    ``url``, to be followed as given. Empty strings count as null.

    >>> find_cursor({"meta": {"next_cursor": "abc", "has_more": True}})
    CursorInfo(present=True, cursor='abc', has_more=True, url=None)
    >>> find_cursor({"fulfillments": []})
    CursorInfo(present=False, cursor=None, has_more=None, url=None)
    >>> find_cursor({"next": "/v2/fulfillments?after=%2B%2F8%3D"}).url
    '/v2/fulfillments?after=%2B%2F8%3D'
    """
    has_more: bool | None = None
    for path in _HAS_MORE_PATHS:
        found, value = _get(body, path)
        if found and _flag(value) is not None:
            has_more = _flag(value)
            break
    for path in paths:
        found, value = _get(body, path)
        if not found or isinstance(value, (Mapping, list, bool)):
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            return CursorInfo(True, None, has_more)
        text = str(value)
        named_next = path.rsplit(".", 1)[-1] == "next"
        if (named_next and _LINK.match(text)) or text.lower().startswith(("http://", "https://")):
            return CursorInfo(True, None, has_more, url=text.strip())
        return CursorInfo(True, text, has_more)
    return CursorInfo(False, None, has_more)


def _unwrap(records: list[Any]) -> list[Any]:
    return [
        r["fulfillment"]
        if isinstance(r, Mapping) and len(r) == 1 and isinstance(r.get("fulfillment"), Mapping)
        else r
        for r in records
    ]


def find_records(body: Any) -> list[Any] | None:
    """The list of records in a list response (top-level list or under a known key); ``[]``
    when the key holds ``null`` (an empty page, as some servers say it); ``None`` when the
    body has no list at all."""
    if isinstance(body, list):
        return _unwrap(body)
    if isinstance(body, Mapping):
        for key in RECORD_KEYS:
            value = body.get(key)
            if isinstance(value, list):
                return _unwrap(value)
        if any(key in body and body[key] is None for key in RECORD_KEYS):
            return []
    return None


@dataclass
class PageHabits:
    """What one endpoint of a server was seen to do, shared by every walk of it (a per-order
    pull walks thousands of small listings: each habit is learned once, not per walk)."""

    page_cap: int | None = None  # it returns at most this many records a page
    cursor_on_last_page: bool = False  # its last page still carries a next cursor
    max_limit: int | None = None  # the largest `limit` it accepted after refusing ours
    warned_cap: bool = False


@dataclass(frozen=True)
class Page:
    """One page of a listing: its new records, and the cursors around it."""

    number: int  # 1-based
    cursor: str | None  # the cursor this page was asked for with (None: the first page)
    records: tuple[Any, ...]  # records not seen on an earlier page (JSON objects, normally)
    received: int  # records in the response, duplicates included
    next_cursor: str | None  # the next page's cursor or link (None: this was the last)


def _record_id(record: Any) -> str | None:
    if isinstance(record, Mapping):
        value = record.get("id")
        if value is not None and not isinstance(value, (Mapping, list)) and str(value) != "":
            return str(value)
    return None


def _content_key(record: Any) -> str:
    # a record without an id is recognised by its whole content when a page repeats it
    return "\0" + json.dumps(record, sort_keys=True, default=str)


class CursorPaginator:
    """Decides the next request of a cursor listing, and when to stop (module docstring).

    After each :meth:`update`, the next request is :attr:`url` (a link to follow as given)
    when set, else the endpoint with :meth:`params`.
    """

    def __init__(
        self,
        *,
        limit: int,
        expected_total: int | None = None,
        cursor: str | None = None,
        cursor_paths: Sequence[str] = CURSOR_PATHS,
        habits: PageHabits | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.habits = habits if habits is not None else PageHabits()
        if self.habits.max_limit is not None:
            limit = min(limit, self.habits.max_limit)
        self.limit = limit
        self.expected_total = expected_total
        self.cursor_paths = tuple(cursor_paths)
        self.cursor = cursor  # the cursor of the *next* request
        self.url: str | None = None  # or the link the next request follows
        #: the next request is a guess (the last id after a repeated cursor, or a probe):
        #: a 4xx answer to it ends the walk (:meth:`abandon`) rather than failing it
        self.speculative = False
        self.done = False
        self.stop_reason: str | None = None
        self.pages = 0
        self.seen: set[str] = set()
        self.records = 0  # unique records so far (id-less ones included)
        self.duplicates = 0
        self.warnings: list[str] = []
        self._used: set[str] = set() if cursor is None else {cursor}
        self._probe: tuple[str, int] | None = None  # (how, size of the short page)

    def params(self) -> dict[str, str | int]:
        """Query parameters of the next request: ``limit`` always, ``cursor`` after page 1
        (not used when :attr:`url` is set: a link carries its own)."""
        params: dict[str, str | int] = {"limit": self.limit}
        if self.cursor is not None:
            params["cursor"] = self.cursor
        return params

    def lower_limit(self) -> int | None:
        """After the server refused ``limit``: the next smaller size to ask for (remembered
        in :attr:`habits`), or ``None`` when there is none left."""
        for size in _LOWER_LIMITS:
            if size < self.limit:
                self.limit = size
                self.habits.max_limit = size
                return size
        return None

    def abandon(self, reason: str) -> None:
        """The server refused a :attr:`speculative` request: end the walk here (raises
        :class:`PaginationStall` when ``/count`` says records are still missing)."""
        if self._missing():
            raise PaginationStall(
                f"{reason}, while /count reports {self.expected_total} and only "
                f"{self.records} arrived"
            )
        self._stop(reason, warn=True)

    def _missing(self) -> bool:
        return self.expected_total is not None and self.records < self.expected_total

    def _stop(self, reason: str, *, warn: bool = False) -> None:
        self.done = True
        self.stop_reason = reason
        self.cursor = None
        self.url = None
        self.speculative = False
        if warn:
            self.warnings.append(reason)
            log.warning("pagination: %s", reason)
        else:
            log.debug("pagination: %s", reason)

    def _follow(self, target: str, *, link: bool, speculative: bool = False) -> None:
        self._used.add(target)
        self.url, self.cursor = (target, None) if link else (None, target)
        self.speculative = speculative

    def update(self, body: Any, records: Sequence[Any]) -> Page:
        """Take one response (``body``, its ``records``); return the page of new records."""
        if self.done:
            raise RuntimeError("the listing is already complete")
        self.pages += 1
        asked_with = self.url or self.cursor
        new: list[Any] = []
        last_id: str | None = None
        for record in records:
            rid = _record_id(record)
            if rid is not None:
                last_id = rid
            key = rid if rid is not None else _content_key(record)
            if key in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(key)
            new.append(record)
        self.records += len(new)
        info = find_cursor(body, self.cursor_paths) if isinstance(body, Mapping) else None
        self._decide(len(records), len(new), last_id, info)
        return Page(self.pages, asked_with, tuple(new), len(records), self.url or self.cursor)

    def _learn(self, probe: tuple[str, int] | None, new: int) -> None:
        """What following a short page showed about the server."""
        if probe is None:
            return
        how, size = probe
        if new:
            if self.habits.page_cap is None or size < self.habits.page_cap:
                self.habits.page_cap = size
            if not self.habits.warned_cap:
                self.habits.warned_cap = True
                self.warnings.append(
                    f"the server returns {size} records a page though limit={self.limit} was "
                    "asked for; following its cursor past short pages"
                )
                log.warning(
                    "pagination: the server returns %d records a page though limit=%d was "
                    "asked for (it ignores or caps limit); following on past short pages",
                    size,
                    self.limit,
                )
        elif how == "cursor":
            self.habits.cursor_on_last_page = True
            log.debug("pagination: the server puts a cursor on its last page")

    def _decide(
        self, received: int, new: int, last_id: str | None, info: CursorInfo | None
    ) -> None:
        page = f"page {self.pages}"
        probe, self._probe = self._probe, None
        self._learn(probe, new)
        if received == 0:
            if self._missing():
                self._stop(
                    f"{page} was empty but /count reported {self.expected_total} records and "
                    f"{self.records} arrived",
                    warn=True,
                )
            else:
                self._stop(f"{page} was empty")
            return
        if new == 0:
            if self._missing():
                raise PaginationStall(
                    f"{page} repeated records already received while /count reports "
                    f"{self.expected_total} and only {self.records} arrived"
                )
            self._stop(f"{page} repeated records already received; stopping", warn=probe is None)
            return
        missing = self._missing()
        has_more = info.has_more if info is not None else None
        explicit = info.next if info is not None else None
        if has_more is False and not missing:
            self._stop(f"{page} said has_more=false")
            return
        no_cursor = info is not None and info.present and explicit is None
        if no_cursor and has_more is not True and not missing:
            self._stop(f"{page} had no next cursor")
            return
        fresh = explicit is not None and explicit not in self._used
        cap = self.habits.page_cap
        full = received >= self.limit or (cap is not None and received >= cap)
        if not full and not missing:
            if fresh and has_more is True:
                pass  # the server says there is more: followed below
            elif fresh and not self.habits.cursor_on_last_page:
                self._probe = ("cursor", received)  # followed below
            elif has_more is True and explicit is None and last_id not in self._used:
                pass  # more, but no cursor: the last id, tried below (speculatively)
            elif (
                (info is None or not info.present)
                and received in DEFAULT_PAGE_SIZES
                and cap is None
                and last_id is not None
                and last_id not in self._used
            ):
                self._probe = ("last_id", received)
                self._follow(last_id, link=False, speculative=True)
                return
            else:
                self._stop(f"{page} was short ({received} < limit {self.limit})")
                return
        if fresh:
            assert explicit is not None
            self._follow(explicit, link=info is not None and info.url is not None)
            return
        if last_id is not None and last_id not in self._used:
            guess = info is not None and info.present
            if explicit is not None:
                self.warnings.append(
                    f"{page} repeated a cursor already used; trying the last record's id"
                )
                log.warning(
                    "pagination: %s repeated a cursor already used; trying after the last "
                    "record's id",
                    page,
                )
            self._follow(last_id, link=False, speculative=guess)
            return
        if missing:
            raise PaginationStall(
                f"{page}: every next cursor was already used while /count reports "
                f"{self.expected_total} and only {self.records} arrived"
            )
        self._stop(f"{page} pointed back to a cursor already used; stopping", warn=True)
