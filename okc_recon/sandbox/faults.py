"""Faults the sandbox server injects, so clients can be tested against a misbehaving OKC API.

Every fault is off by default. Random faults (rate limits, server errors, dropped
connections, slow answers) are drawn from one ``random.Random(seed)`` stream, one draw per
request in the order requests arrive, so a run with the same faults and the same request
sequence sees the same faults.

    >>> Faults(rate_limit_rate=0.2, retry_after="date").rate_limit_rate
    0.2
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["CURSOR_STYLES", "ERROR_SHAPES", "Faults"]

#: Where a list response carries its next cursor (okc-api.md §4: undocumented, so all are served).
#: ``next_cursor``/``cursor``/``next``: a top-level key; ``pagination``:
#: ``{"pagination": {"next_cursor": …}}``; ``meta``: ``{"meta": {"next_cursor": …,
#: "has_more": …}}``; ``none``: no cursor at all (clients fall back to the last record's id).
CURSOR_STYLES = ("next_cursor", "cursor", "next", "pagination", "meta", "none")

#: The four error body shapes of okc-api.md §3: ``docs`` ``{statusCode, error, message,
#: details}``, ``spec`` ``{error: {errorCode, message}, message}``, ``validation``
#: ``{message, errors: [{message, type}]}``, ``auth`` ``{error: {message, errors: […]}}``.
ERROR_SHAPES = ("docs", "spec", "validation", "auth")


@dataclass(frozen=True, kw_only=True)
class Faults:
    """What the sandbox does wrong, and how often.

    - ``latency``: seconds added to every response (auth included).
    - ``rate_limit_rate``: share of requests answered ``429``, with a ``Retry-After`` of
      ``retry_after`` seconds (a number as text, e.g. ``"1"``), an HTTP-date one second
      ahead (``"date"``), or no header (``None``).
    - ``server_error_rate``: share answered ``server_error_status`` (5xx).
    - ``drop_rate``: share whose connection is closed without any response.
    - ``slow_rate``: share answered only after ``slow_seconds`` (past the client's timeout).
    - ``token_ttl``: seconds an issued token stays valid (``None``: the 86400 OKC issues);
      expired tokens get ``401``. The static token never expires.
    - ``page_size_cap``: the most records a list page returns, whatever ``limit`` asks.
    - ``cursor_style``: one of :data:`CURSOR_STYLES`; ``repeat_last_cursor``: the last page
      still returns a cursor, one that fetches that same page again.
    - ``error_shape``: one of :data:`ERROR_SHAPES`, used for every error response.
    - ``fail_routes``: path pattern → status, always returned for matching paths;
      ``<id>``, ``{id}`` or ``*`` match one path segment
      (``{"/v2/orders/<id>/fulfillments": 500}``).
    - ``expires_in_as_string``: the token response's ``expires_in`` as ``"86400"``.
    - ``faults_on_auth``: apply the random faults to the two authentication calls too.
    - ``seed``: the seed of the random draws.
    """

    latency: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: str | None = "1"
    server_error_rate: float = 0.0
    server_error_status: int = 500
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 3.0
    token_ttl: float | None = None
    page_size_cap: int | None = None
    cursor_style: str = "next_cursor"
    repeat_last_cursor: bool = False
    error_shape: str = "docs"
    fail_routes: Mapping[str, int] = field(default_factory=dict)
    expires_in_as_string: bool = False
    faults_on_auth: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        rates = {
            "rate_limit_rate": self.rate_limit_rate,
            "server_error_rate": self.server_error_rate,
            "drop_rate": self.drop_rate,
            "slow_rate": self.slow_rate,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("the fault rates together must not exceed 1")
        if self.latency < 0 or self.slow_seconds < 0:
            raise ValueError("latency and slow_seconds must not be negative")
        if self.retry_after not in (None, "date"):
            try:
                float(self.retry_after)
            except ValueError:
                raise ValueError(
                    f"retry_after must be seconds as text, 'date' or None, got {self.retry_after!r}"
                ) from None
        if not 500 <= self.server_error_status <= 599:
            raise ValueError(f"server_error_status must be 5xx, got {self.server_error_status}")
        if self.token_ttl is not None and self.token_ttl <= 0:
            raise ValueError("token_ttl must be positive")
        if self.page_size_cap is not None and self.page_size_cap < 1:
            raise ValueError("page_size_cap must be at least 1")
        if self.cursor_style not in CURSOR_STYLES:
            raise ValueError(f"cursor_style must be one of {', '.join(CURSOR_STYLES)}")
        if self.error_shape not in ERROR_SHAPES:
            raise ValueError(f"error_shape must be one of {', '.join(ERROR_SHAPES)}")
        for pattern, status in self.fail_routes.items():
            if not pattern.startswith("/") or not 400 <= status <= 599:
                raise ValueError(
                    f"fail_routes maps a path starting with / to a 4xx/5xx status, "
                    f"got {pattern!r}: {status!r}"
                )
        # Copied so a caller mutating its dict cannot change a running server's faults.
        object.__setattr__(self, "fail_routes", dict(self.fail_routes))

    def __hash__(self) -> int:
        values = dataclasses.astuple(self)
        return hash(tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in values))


def _route_regex(pattern: str) -> re.Pattern[str]:
    parts = pattern.rstrip("/").split("/")
    segment = re.compile(r"<[^>]*>|\{[^}]*\}|\*")
    regex = "/".join("[^/]+" if segment.fullmatch(part) else re.escape(part) for part in parts)
    return re.compile(regex + "/?")


class FaultDice:
    """The random draws for one :class:`Faults`: one uniform number per request, under a lock."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._routes = [(_route_regex(p), s) for p, s in faults.fail_routes.items()]

    def roll(self) -> str | None:
        """``"drop"``, ``"rate_limit"``, ``"server_error"``, ``"slow"`` or ``None``."""
        with self._lock:
            u = self._rng.random()
        f = self.faults
        for name, rate in (
            ("drop", f.drop_rate),
            ("rate_limit", f.rate_limit_rate),
            ("server_error", f.server_error_rate),
            ("slow", f.slow_rate),
        ):
            if u < rate:
                return name
            u -= rate
        return None

    def failed_route(self, path: str) -> int | None:
        """The status ``fail_routes`` forces for ``path``, if any."""
        for regex, status in self._routes:
            if regex.fullmatch(path):
                return status
        return None
