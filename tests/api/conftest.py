from __future__ import annotations

from collections.abc import Callable

import pytest

from okc_recon.api._retry import RetryPolicy
from okc_recon.config import Secret, Settings
from tests.api.fake_okc import PASSWORD, TOKEN, USERNAME


class FakeClock:
    """A monotonic clock and an ``asyncio.sleep`` that only records and advances time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def token_settings() -> Settings:
    return Settings(
        base_url="https://okc.test",
        access_token=Secret(TOKEN),
        max_attempts=4,
        backoff_base=0.5,
        backoff_cap=8.0,
        retry_after_cap=30.0,
        page_size=10,
    )


@pytest.fixture
def login_settings(token_settings: Settings) -> Settings:
    return token_settings.replace(access_token=None, username=USERNAME, password=Secret(PASSWORD))


@pytest.fixture
def client_options(clock: FakeClock) -> Callable[[], dict[str, object]]:
    """Keyword options that give a client the fake clock and a seeded retry policy."""

    def make(**extra: object) -> dict[str, object]:
        import random

        return {
            "sleep": clock.sleep,
            "clock": clock,
            "policy": RetryPolicy(
                max_attempts=4, base=0.5, cap=8.0, retry_after_cap=30.0, rng=random.Random(7)
            ),
            **extra,
        }

    return make
