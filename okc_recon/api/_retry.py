"""When to retry an OKC request, and how long to wait first: a small, network-free object.

The rules (SPEC §2, okc-api.md "Implications"):

- retried: connection errors and timeouts (any :class:`httpx.TransportError` except the
  ones that mean the request itself is malformed, a host name that does not exist, and a
  TLS handshake that cannot succeed: sending those again cannot help, so they fail at once
  with an error that says to check ``OKC_BASE_URL``), 429, every 5xx, and a 2xx whose body
  is not JSON (a proxy's page or a body cut short; the client decides that one);
- the wait before attempt ``n + 1`` is capped exponential backoff with *full jitter*:
  ``uniform(0, min(cap, base · 2^(n-1)))`` — spreads concurrent retries apart;
- ``Retry-After`` (seconds, or an HTTP-date) is the server telling us when: it replaces the
  backoff and is a *minimum* (a little jitter is added on top, never subtracted);
  ``Retry-After: 0`` means "retry now", not "do not retry"; values beyond
  ``retry_after_cap`` are capped so one bad header cannot park a run for hours. Without
  ``Retry-After``, a 429's ``X-RateLimit-Reset`` (OKC's spec: a UTC date-time; an HTTP-date,
  epoch seconds or delta seconds are read too) plays the same part
  (:func:`parse_rate_limit_reset`); unreadable values are ignored;
- at most ``max_attempts`` attempts in all, then the caller raises a typed error.

Only GETs and the token calls go through it, so retrying is always safe (no OKC write is
ever retried: OKC has no idempotency keys).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from okc_recon.api._errors import dns_failure, dns_temporary, tls_failure
from okc_recon.config import Settings

__all__ = ["RetryPolicy", "parse_rate_limit_reset", "parse_retry_after"]

# Transport errors that mean *our* request is wrong; sending it again cannot help.
_NOT_RETRYABLE: tuple[type[Exception], ...] = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] = _utcnow) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    ``None`` when the header is missing or unreadable; a date in the past gives ``0.0``.

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
    ...                   now=lambda: datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC))
    30.0
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is unreadable
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return max((when - now()).total_seconds(), 0.0)


# Epoch seconds are this large; smaller numbers are a delta (some APIs send either).
_EPOCH = 1_000_000_000


def parse_rate_limit_reset(
    value: str | None, *, now: Callable[[], datetime] = _utcnow
) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` moment; ``None`` when missing or unreadable.

    OKC's spec declares a UTC date-time string; an HTTP-date, epoch seconds (GitHub style)
    and plain delta seconds are accepted too. A moment in the past gives ``0.0``.

    >>> parse_rate_limit_reset("2025-10-21T07:28:30Z",
    ...                        now=lambda: datetime(2025, 10, 21, 7, 28, tzinfo=UTC))
    30.0
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number != number or number < 0:  # NaN, negative: unreadable
            return None
        if number >= _EPOCH:
            return max(number - now().timestamp(), 0.0)
        return number
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return parse_retry_after(text, now=now) if "," in text or " " in text else None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now()).total_seconds(), 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures to retry, how often, and how long to wait between attempts.

    >>> policy = RetryPolicy(max_attempts=3, base=0.5, cap=4.0, rng=random.Random(1))
    >>> policy.retryable_status(503), policy.retryable_status(404)
    (True, False)
    >>> policy.delay(1, retry_after=2.0) >= 2.0
    True
    """

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 300.0
    #: share of a ``Retry-After`` wait added as jitter on top (never below the server's value)
    retry_after_jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base <= 0 or self.cap <= 0 or self.retry_after_cap < 0:
            raise ValueError("base and cap must be positive, retry_after_cap not negative")

    @classmethod
    def from_settings(cls, settings: Settings, *, rng: random.Random | None = None) -> RetryPolicy:
        """The policy ``settings`` describe (attempts, backoff, ``Retry-After`` cap)."""
        return cls(
            max_attempts=settings.max_attempts,
            base=settings.backoff_base,
            cap=settings.backoff_cap,
            retry_after_cap=settings.retry_after_cap,
            rng=rng or random.Random(),
        )

    def retryable_status(self, status: int) -> bool:
        """429 and every 5xx."""
        return status == 429 or 500 <= status <= 599

    def retryable_exception(self, exc: BaseException) -> bool:
        """Connection failures, dropped connections and timeouts; not malformed requests, not
        a host name that does not exist (a temporary DNS failure is retried), not a TLS
        handshake that cannot work."""
        if isinstance(exc, TimeoutError):
            return True  # the client's own deadline for a whole response
        if not isinstance(exc, httpx.TransportError) or isinstance(exc, _NOT_RETRYABLE):
            return False
        if dns_failure(exc) is not None:
            return dns_temporary(exc)
        return tls_failure(exc) is None

    def can_retry(self, attempt: int) -> bool:
        """Whether another attempt may follow attempt number ``attempt`` (1-based)."""
        return attempt < self.max_attempts

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff after attempt ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt - 1, 62))
        return self.rng.uniform(0.0, ceiling)

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait after attempt ``attempt`` failed.

        With a ``Retry-After`` value (seconds), wait at least that long (capped at
        ``retry_after_cap``), plus up to ``retry_after_jitter`` of it; ``0`` means now.
        """
        if retry_after is None:
            return self.backoff(attempt)
        minimum = min(max(retry_after, 0.0), self.retry_after_cap)
        return minimum + self.rng.uniform(0.0, minimum * self.retry_after_jitter)
