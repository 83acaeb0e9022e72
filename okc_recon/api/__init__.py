"""The OKC partner API v2: client, retry policy, pagination, and pulling into a frame.

Public surface (the modules starting with ``_`` are internals)::

    OKCClient            synchronous client (notebooks, CLI); runs AsyncOKCClient in a thread
    AsyncOKCClient       the async client on one shared httpx.AsyncClient
    pull_fulfillments    per-order or list pull → PullResult (frame, rejected, failures)
    RetryPolicy          which failures are retried and how long to wait
    CursorPaginator      how a cursor listing is followed and when it stops
    EndpointError        an answer saying OKC_BASE_URL is wrong (an ApiError and a ConfigError)
    EndpointConnectionError  OKC_BASE_URL's host cannot be reached as written (DNS, TLS)

How the client copes with a server that misbehaves is described module by module:
``client`` (the request loop), ``_retry``, ``_pagination``, ``_query`` (filters verified on
the records), ``_errors``, ``_auth``, ``_transport``; tests/api/test_hostile_*.py exercise
each case against a fake OKC written from the API notes alone.
"""

from __future__ import annotations

from okc_recon.api._errors import EndpointConnectionError, EndpointError
from okc_recon.api._pagination import CursorPaginator, Page, PageHabits, find_cursor
from okc_recon.api._retry import RetryPolicy, parse_rate_limit_reset, parse_retry_after
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
    "EndpointConnectionError",
    "EndpointError",
    "LabelUrl",
    "OKCClient",
    "Page",
    "PageHabits",
    "PullFailure",
    "PullResult",
    "RetryPolicy",
    "find_cursor",
    "parse_rate_limit_reset",
    "parse_retry_after",
    "pull_fulfillments",
    "pull_fulfillments_async",
]
