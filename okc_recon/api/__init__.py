"""The OKC partner API v2: client, retry policy, pagination, and pulling into a frame.

Public surface (the modules starting with ``_`` are internals)::

    OKCClient            synchronous client (notebooks, CLI); runs AsyncOKCClient in a thread
    AsyncOKCClient       the async client on one shared httpx.AsyncClient
    pull_fulfillments    per-order or list pull → PullResult (frame, rejected, failures)
    RetryPolicy          which failures are retried and how long to wait
    CursorPaginator      how a cursor listing is followed and when it stops
"""

from __future__ import annotations

from okc_recon.api._pagination import CursorPaginator, Page, find_cursor
from okc_recon.api._retry import RetryPolicy, parse_retry_after
from okc_recon.api.client import AsyncOKCClient, ClientStats, LabelUrl, OKCClient
from okc_recon.api.pull import (
    CountCheck,
    PullFailure,
    PullResult,
    pull_fulfillments,
    pull_fulfillments_async,
)

__all__ = [
    "AsyncOKCClient",
    "ClientStats",
    "CountCheck",
    "CursorPaginator",
    "LabelUrl",
    "OKCClient",
    "Page",
    "PullFailure",
    "PullResult",
    "RetryPolicy",
    "find_cursor",
    "parse_retry_after",
    "pull_fulfillments",
    "pull_fulfillments_async",
]
