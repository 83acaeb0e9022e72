"""Following OKC's list cursor, whose field OKC does not document.

:func:`find_cursor` looks for the next cursor in the envelopes real APIs use
(``next_cursor``, ``cursor``, ``next``, ``pagination.*``, ``meta.*``, with ``has_more``);
:class:`CursorPaginator` decides, page by page, what to ask for next and when to stop.
The client drives it with a short loop::

    paginator = CursorPaginator(limit=100, expected_total=count)
    while not paginator.done:
        body = GET(path, params=paginator.params())
        new_records = paginator.update(body)

Stop rules, in order (each page):

1. an empty page ends the walk;
2. a page whose records were all seen before ends it too (the server repeated a page) —
   unless ``/count`` says records are still missing: then following on would loop and
   stopping would lose records, so :class:`PaginationStall` is raised;
3. ``has_more: false`` or an explicit ``null`` next cursor ends it;
4. a page shorter than ``limit`` ends it, unless ``/count`` says records are still missing
   (the server caps its page size below our ``limit``);
5. the next cursor is the envelope's, or the last record's ``id`` when the envelope has none
   (or repeats one already used); a cursor is never followed twice. When both are used up:
   stop with a warning if nothing is known to be missing, else raise :class:`PaginationStall`.

Records are de-duplicated by ``id`` across pages (APIs repeat records at page boundaries);
records without an ``id`` are always kept, they are reported later as unparseable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CURSOR_PATHS",
    "RECORD_KEYS",
    "CursorInfo",
    "CursorPaginator",
    "Page",
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
)
_HAS_MORE_PATHS = ("has_more", "hasMore", "pagination.has_more", "meta.has_more", "meta.hasMore")
#: keys a list of records may be under, checked in order
RECORD_KEYS: tuple[str, ...] = ("fulfillments", "data", "items", "results")


class PaginationStall(Exception):
    """Following the cursor would loop, and stopping would lose records."""


@dataclass(frozen=True)
class CursorInfo:
    """What a response body says about the next page."""

    present: bool  # a cursor field exists (even if null)
    cursor: str | None  # its value, as text
    has_more: bool | None  # an explicit has_more flag, when given


def _get(body: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def find_cursor(body: Mapping[str, Any], paths: Sequence[str] = CURSOR_PATHS) -> CursorInfo:
    """The next cursor in ``body``, from the first of ``paths`` present.

    A ``next`` that is a URL contributes its ``cursor`` query parameter (or the whole URL
    when it has none). Empty strings count as null.

    >>> find_cursor({"meta": {"next_cursor": "abc", "has_more": True}})
    CursorInfo(present=True, cursor='abc', has_more=True)
    >>> find_cursor({"fulfillments": []})
    CursorInfo(present=False, cursor=None, has_more=None)
    """
    has_more: bool | None = None
    for path in _HAS_MORE_PATHS:
        found, value = _get(body, path)
        if found and isinstance(value, bool):
            has_more = value
            break
    for path in paths:
        found, value = _get(body, path)
        if not found or isinstance(value, (Mapping, list, bool)):
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            return CursorInfo(True, None, has_more)
        text = str(value)
        if path.rsplit(".", 1)[-1] == "next" and ("://" in text or text.startswith("/")):
            text = _cursor_from_url(text)
        return CursorInfo(True, text, has_more)
    return CursorInfo(False, None, has_more)


def _cursor_from_url(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(url).query)
    values = query.get("cursor")
    return values[0] if values else url


def find_records(body: Any) -> list[Any] | None:
    """The list of records in a list response (top-level list or under a known key)."""
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping):
        for key in RECORD_KEYS:
            value = body.get(key)
            if isinstance(value, list):
                return value
    return None


@dataclass(frozen=True)
class Page:
    """One page of a listing: its new records, and the cursors around it."""

    number: int  # 1-based
    cursor: str | None  # the cursor this page was asked for with (None: the first page)
    records: tuple[Any, ...]  # records not seen on an earlier page (JSON objects, normally)
    received: int  # records in the response, duplicates included
    next_cursor: str | None  # what the next page is asked for with (None: this was the last)


def _record_id(record: Any) -> str | None:
    if isinstance(record, Mapping):
        value = record.get("id")
        if value is not None and not isinstance(value, (Mapping, list)) and str(value) != "":
            return str(value)
    return None


class CursorPaginator:
    """Decides the next request of a cursor listing, and when to stop (module docstring)."""

    def __init__(
        self,
        *,
        limit: int,
        expected_total: int | None = None,
        cursor: str | None = None,
        cursor_paths: Sequence[str] = CURSOR_PATHS,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.expected_total = expected_total
        self.cursor_paths = tuple(cursor_paths)
        self.cursor = cursor  # the cursor of the *next* request
        self.done = False
        self.stop_reason: str | None = None
        self.pages = 0
        self.seen: set[str] = set()
        self.records = 0  # unique records so far (id-less ones included)
        self.duplicates = 0
        self.warnings: list[str] = []
        self._used: set[str] = set() if cursor is None else {cursor}

    def params(self) -> dict[str, str | int]:
        """Query parameters of the next request: ``limit`` always, ``cursor`` after page 1."""
        params: dict[str, str | int] = {"limit": self.limit}
        if self.cursor is not None:
            params["cursor"] = self.cursor
        return params

    def _missing(self) -> bool:
        return self.expected_total is not None and self.records < self.expected_total

    def _stop(self, reason: str, *, warn: bool = False) -> None:
        self.done = True
        self.stop_reason = reason
        self.cursor = None
        if warn:
            self.warnings.append(reason)
            log.warning("pagination: %s", reason)
        else:
            log.debug("pagination: %s", reason)

    def update(self, body: Any, records: Sequence[Any]) -> Page:
        """Take one response (``body``, its ``records``); return the page of new records."""
        if self.done:
            raise RuntimeError("the listing is already complete")
        self.pages += 1
        asked_with = self.cursor
        new: list[Any] = []
        last_id: str | None = None
        for record in records:
            rid = _record_id(record)
            if rid is not None:
                last_id = rid
                if rid in self.seen:
                    self.duplicates += 1
                    continue
                self.seen.add(rid)
            new.append(record)
        self.records += len(new)
        info = find_cursor(body, self.cursor_paths) if isinstance(body, Mapping) else None
        self._decide(len(records), len(new), last_id, info)
        return Page(self.pages, asked_with, tuple(new), len(records), self.cursor)

    def _decide(
        self, received: int, new: int, last_id: str | None, info: CursorInfo | None
    ) -> None:
        page = f"page {self.pages}"
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
            self._stop(f"{page} repeated records already received; stopping", warn=True)
            return
        if info is not None and info.has_more is False and not self._missing():
            self._stop(f"{page} said has_more=false")
            return
        if info is not None and info.present and info.cursor is None and not self._missing():
            self._stop(f"{page} had no next cursor")
            return
        if received < self.limit and not self._missing():
            self._stop(f"{page} was short ({received} < limit {self.limit})")
            return
        candidates = []
        if info is not None and info.cursor is not None:
            candidates.append(info.cursor)
        if last_id is not None:
            candidates.append(last_id)
        for candidate in candidates:
            if candidate not in self._used:
                if info is not None and info.cursor is not None and candidate != info.cursor:
                    self.warnings.append(
                        f"{page} repeated cursor {info.cursor!r}; continuing after the last id"
                    )
                    log.warning(
                        "pagination: %s repeated a cursor already used; continuing after the "
                        "last record's id",
                        page,
                    )
                self._used.add(candidate)
                self.cursor = candidate
                return
        if self._missing():
            raise PaginationStall(
                f"{page}: every next cursor was already used while /count reports "
                f"{self.expected_total} and only {self.records} arrived"
            )
        self._stop(f"{page} pointed back to a cursor already used; stopping", warn=True)
