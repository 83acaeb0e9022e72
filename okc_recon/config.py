"""Settings: read from ``OKC_*`` environment variables and ``.env`` files, in one place.

Precedence, highest first: keyword arguments to :meth:`Settings.from_env`, the process
environment, the ``.env`` file, the defaults below.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from okc_recon.errors import ConfigError

__all__ = ["ENV_VARS", "PROD_BASE_URL", "STAGE_BASE_URL", "WEIGHT_UNITS", "Secret", "Settings"]

PROD_BASE_URL = "https://na1-prod.okcapsule.app"
STAGE_BASE_URL = "https://na1-stage.okcapsule.app"
WEIGHT_UNITS = ("lb", "oz", "kg", "g", "auto")
WeightUnit = Literal["lb", "oz", "kg", "g", "auto"]


class Secret:
    """A string that never shows itself: not in ``repr``, ``str``, logs or tracebacks.

    >>> token = Secret("eyJ...")
    >>> token
    Secret('**********')
    >>> token.reveal()
    'eyJ...'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call it only where it leaves for the network."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        # Pickling would write the secret to whatever cache or file receives the pickle.
        raise TypeError("a Secret cannot be pickled")


#: environment variable -> Settings field; the only names the toolkit reads.
ENV_VARS: Mapping[str, str] = {
    "OKC_BASE_URL": "base_url",
    "OKC_ACCESS_TOKEN": "access_token",
    "OKC_USERNAME": "username",
    "OKC_PASSWORD": "password",
    "OKC_CACHE_DIR": "cache_dir",
    "OKC_TIMEOUT": "timeout",
    "OKC_CONCURRENCY": "concurrency",
    "OKC_MAX_ATTEMPTS": "max_attempts",
    "OKC_PAGE_SIZE": "page_size",
    "OKC_WEIGHT_UNIT": "weight_unit",
    "OKC_Q_RANGES": "q_ranges",
}


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "okc-recon"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where the OKC API is, how to authenticate, and how hard to try.

    Build it with :meth:`from_env` (environment + ``.env``) or directly::

        Settings(base_url="http://127.0.0.1:8765", access_token=Secret("…"))
    """

    base_url: str = PROD_BASE_URL
    access_token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    cache_dir: Path = field(default_factory=_default_cache_dir)
    timeout: float = 30.0
    concurrency: int = 16
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 300.0
    page_size: int = 100
    weight_unit: WeightUnit = "auto"
    # The server filters list walks by ``q`` ranges on updated_at (the sandbox does; OKC's
    # API is not documented to): cached list walks then re-read only what changed.
    q_ranges: bool = False

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"OKC_BASE_URL must start with http:// or https://, got {self.base_url!r}"
            )
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if (self.username is None) != (self.password is None):
            raise ConfigError("set both OKC_USERNAME and OKC_PASSWORD, or neither")
        if self.weight_unit not in WEIGHT_UNITS:
            raise ConfigError(
                f"OKC_WEIGHT_UNIT must be one of {', '.join(WEIGHT_UNITS)}, "
                f"got {self.weight_unit!r}"
            )
        for name in ("timeout", "backoff_base", "backoff_cap", "retry_after_cap"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ConfigError("concurrency and max_attempts must be at least 1")
        if not 1 <= self.page_size <= 250:
            raise ConfigError(
                f"OKC_PAGE_SIZE must be between 1 and 250 (the API's maximum), got {self.page_size}"
            )

    @property
    def has_credentials(self) -> bool:
        """True when a token or a username/password pair is set."""
        return bool(self.access_token) or (bool(self.username) and bool(self.password))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        env_file: str | Path | None = ".env",
        **overrides: Any,
    ) -> Settings:
        """Settings from ``env`` (default ``os.environ``), then ``env_file``, then defaults.

        ``overrides`` are field values that win over both (``None`` values are ignored).
        """
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if env is None else env)

        kwargs: dict[str, Any] = {}
        for var, name in ENV_VARS.items():
            raw = values.get(var)
            if raw is None or raw.strip() == "":
                continue
            kwargs[name] = _coerce(var, name, raw.strip())
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("access_token", "password"):
            if isinstance(kwargs.get(name), str):
                kwargs[name] = Secret(kwargs[name])
        return cls(**kwargs)


_FLOATS = {"timeout"}
_INTS = {"concurrency", "max_attempts", "page_size"}
_BOOLS = {"q_ranges"}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _coerce(var: str, name: str, raw: str) -> Any:
    try:
        if name in _FLOATS:
            return float(raw)
        if name in _INTS:
            return int(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number, got {raw!r}") from None
    if name in _BOOLS:
        if raw.lower() not in _TRUE + _FALSE:
            raise ConfigError(f"{var} must be 1 or 0 (true/false, yes/no), got {raw!r}")
        return raw.lower() in _TRUE
    if name == "cache_dir":
        return Path(raw).expanduser()
    if name in ("access_token", "password"):
        return Secret(raw)
    return raw
