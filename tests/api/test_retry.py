from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from okc_recon.api._retry import RetryPolicy, parse_retry_after
from okc_recon.config import Settings


def policy(**kw: object) -> RetryPolicy:
    options: dict[str, object] = {
        "max_attempts": 5,
        "base": 0.5,
        "cap": 8.0,
        "rng": random.Random(3),
    }
    options.update(kw)
    return RetryPolicy(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 599])
def test_retryable_statuses(status):
    assert policy().retryable_status(status)


@pytest.mark.parametrize("status", [200, 301, 400, 401, 403, 404, 409, 422])
def test_not_retryable_statuses(status):
    assert not policy().retryable_status(status)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (httpx.ConnectTimeout("slow"), True),
        (httpx.PoolTimeout("pool"), True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
        (httpx.ReadError("reset"), True),
        (httpx.UnsupportedProtocol("ftp"), False),
        (httpx.LocalProtocolError("bad header"), False),
        (ValueError("not http"), False),
    ],
)
def test_retryable_exceptions(exc, expected):
    assert policy().retryable_exception(exc) is expected


def test_attempts_are_bounded():
    p = policy(max_attempts=3)
    assert [p.can_retry(n) for n in (1, 2, 3, 4)] == [True, True, False, False]


def test_backoff_is_full_jitter_capped_exponential():
    p = policy(base=0.5, cap=4.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (40, 4.0)]:
        samples = [p.backoff(attempt) for _ in range(400)]
        assert all(0.0 <= s <= ceiling for s in samples)
        # full jitter: spread over the whole range, not clustered at the ceiling
        assert min(samples) < 0.1 * ceiling
        assert max(samples) > 0.9 * ceiling


def test_retry_after_is_a_minimum_and_zero_means_now():
    p = policy(retry_after_cap=30.0)
    waits = [p.delay(1, retry_after=2.0) for _ in range(200)]
    assert all(2.0 <= w <= 2.0 * 1.1 for w in waits)
    assert [p.delay(3, retry_after=0.0) for _ in range(5)] == [0.0] * 5
    # larger than the exponential backoff would be: still honoured
    assert p.delay(1, retry_after=20.0) >= 20.0


def test_retry_after_is_capped():
    p = policy(retry_after_cap=30.0)
    assert 30.0 <= p.delay(1, retry_after=3600.0) <= 33.0


@given(
    attempt=st.integers(1, 60),
    retry_after=st.one_of(st.none(), st.floats(0, 10_000, allow_nan=False)),
    seed=st.integers(0, 2**32),
)
def test_delay_bounds_property(attempt, retry_after, seed):
    p = RetryPolicy(base=0.25, cap=10.0, retry_after_cap=60.0, rng=random.Random(seed))
    wait = p.delay(attempt, retry_after=retry_after)
    if retry_after is None:
        assert 0.0 <= wait <= min(10.0, 0.25 * 2 ** (attempt - 1))
    else:
        floor = min(retry_after, 60.0)
        assert floor <= wait <= floor * 1.1 + 1e-9


def test_parse_retry_after_seconds():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None


def test_parse_retry_after_http_date():
    now = datetime(2025, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after("Tue, 21 Oct 2025 07:28:05 GMT", now=lambda: now) == 5.0
    assert parse_retry_after("Tue, 21 Oct 2025 07:27:00 GMT", now=lambda: now) == 0.0
    # obsolete asctime form (no zone): GMT
    assert parse_retry_after("Tue Oct 21 07:28:10 2025", now=lambda: now) == 10.0


def test_from_settings():
    s = Settings(
        base_url="https://x.test",
        max_attempts=7,
        backoff_base=0.1,
        backoff_cap=2.0,
        retry_after_cap=9.0,
    )
    p = RetryPolicy.from_settings(s)
    assert (p.max_attempts, p.base, p.cap, p.retry_after_cap) == (7, 0.1, 2.0, 9.0)


def test_invalid_policy():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
