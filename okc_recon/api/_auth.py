"""The OKC access token: a static one, or one exchanged for a username and password.

OKC's v2 auth (okc-api.md §1) is a Cognito-style JWT exchange:
``POST /v2/authentication/token`` with ``{username, password}`` (the published spec; the
current docs send ``email`` instead, so on a validation error — 422 in either of its two
body shapes, or a 400 that names a field — we try once more with ``email`` and remember
which key worked), then ``POST /v2/authentication/refresh-token`` with ``{refresh_token}``.

The token response is read leniently: ``access_token`` (or ``accessToken``/``AccessToken``)
at the top or under ``data``/``AuthenticationResult``/``token``/``tokens``/``result``;
``expires_in`` as a number or text (``86400``, ``"86400"``, ``"86400.0"``); when it is
missing, the JWT's own ``exp`` claim gives the lifetime (read, not verified: it only
schedules the refresh); with neither, the token is renewed on its first 401.
``permissions`` is not needed.

:class:`TokenManager` keeps one token for every concurrent request:

- it refreshes *before* expiry: when less than ``min(5 min, 20 % of expires_in)`` is left;
- on a 401, each request reports the token it used; under a lock, only the first report
  for a given token refreshes, the other in-flight requests just pick up the new one — so
  sixteen simultaneous 401s cost one refresh, not sixteen;
- a refresh that is refused (or answers without a token) falls back to a fresh login with
  the password; with no password to fall back on, :class:`AuthenticationError`;
- the refresh token is kept unless the server returns a new one (OKC's spec does not say
  whether it rotates);
- refused credentials raise :class:`AuthenticationError` at once: no retry storm; a token
  call that fails (after its own retries) fails every request that was waiting for it with
  the same error, rather than each trying again.

The manager never logs or formats a token, password or refresh token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from okc_recon.config import Secret, Settings
from okc_recon.errors import ApiError, AuthenticationError, ConfigError, ResponseShapeError

__all__ = ["REFRESH_PATH", "TOKEN_PATH", "TokenManager", "parse_expires_in"]

log = logging.getLogger("okc_recon")

TOKEN_PATH = "/v2/authentication/token"
REFRESH_PATH = "/v2/authentication/refresh-token"

# (path, json body) -> parsed JSON object; raises ApiError subclasses (retries done inside)
PostJson = Callable[[str, dict[str, Any]], Awaitable[Mapping[str, Any]]]


def parse_expires_in(value: Any) -> float | None:
    """Seconds from an ``expires_in`` given as a number or a string (``86400``, ``"86400"``)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds > 0 and seconds == seconds else None


def jwt_lifetime(token: str, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds until a JWT's ``exp`` claim (not verified: it only schedules a refresh);
    ``None`` when the token is not a JWT or has no ``exp``."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        exp = float(payload["exp"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    return exp - now()


_TOKEN_WRAPPERS = ("data", "AuthenticationResult", "token", "tokens", "result")


def _token_fields(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The object holding the token fields: the body itself, or a wrapper inside it."""
    nodes: list[Mapping[str, Any]] = [data]
    nodes += [data[k] for k in _TOKEN_WRAPPERS if isinstance(data.get(k), Mapping)]
    for node in nodes:
        if any(k in node for k in ("access_token", "accessToken", "AccessToken")):
            return node
    return data


def _field(node: Mapping[str, Any], snake: str) -> Any:
    camel = "".join(w.capitalize() if i else w for i, w in enumerate(snake.split("_")))
    for key in (snake, camel, camel[:1].upper() + camel[1:]):
        if key in node:
            return node[key]
    return None


def _validation(exc: ApiError) -> bool:
    """Whether an error rejects the body's shape (so the other login key may work)."""
    if exc.status == 422:
        return True
    text = (exc.api_message or "").lower()
    return exc.status == 400 and (
        bool(exc.details) or any(w in text for w in ("required", "not allowed", "validation"))
    )


class TokenManager:
    """Hands out a valid bearer token; logs in, refreshes and re-logs in as needed."""

    def __init__(
        self,
        settings: Settings,
        post_json: PostJson,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.has_credentials:
            raise ConfigError(
                "no OKC credentials: set OKC_ACCESS_TOKEN, or OKC_USERNAME and OKC_PASSWORD "
                "(in the environment or a .env file); `okc-recon sandbox` serves a local "
                "fake API to try things with"
            )
        self._static = settings.access_token if settings.access_token else None
        self._username = settings.username
        self._password = settings.password
        self._post_json = post_json
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: Secret | None = self._static
        self._accepted = False  # whether OKC has accepted the current token yet
        self._refresh_token: Secret | None = None
        self._expires_at: float | None = None
        self._refresh_margin = 0.0
        self._login_key = "username"
        #: how many times each call was made (for tests and the benchmark)
        self.logins = 0
        self.refreshes = 0
        self._renewals = 0  # renewals started (a request notes it before waiting its turn)
        self._renew_error: ApiError | None = None  # how the last one failed, if it did
        if self._static is not None and self._password is not None:
            # a static JWT that can be renewed: renew it before its exp, not after a 401
            lifetime = jwt_lifetime(self._static.reveal())
            if lifetime is not None:
                self._expires_at = clock() + lifetime
                self._refresh_margin = min(300.0, 0.2 * max(lifetime, 0.0))

    def __repr__(self) -> str:
        state = "token" if self._token else "no token"
        return f"<TokenManager {state}, {self.logins} logins, {self.refreshes} refreshes>"

    def secrets(self) -> list[str]:
        """Every secret value known, to scrub from what servers say (never to show)."""
        held = (self._static, self._token, self._refresh_token, self._password)
        return [s.reveal() for s in held if s]

    @property
    def can_renew(self) -> bool:
        """Whether a refused token can be replaced (a password or refresh token is known)."""
        return self._password is not None or self._refresh_token is not None

    def _fresh(self) -> bool:
        if self._token is None:
            return False
        if self._expires_at is None:
            return True
        return self._clock() < self._expires_at - self._refresh_margin

    async def token(self) -> Secret:
        """A token that is not known to be expired or about to expire."""
        if self._fresh():
            assert self._token is not None
            return self._token
        waited_for = self._renewals
        async with self._lock:
            self._failed_while_waiting(waited_for)
            if not self._fresh():
                await self._renew_once(proactive=self._token is not None)
            assert self._token is not None
            return self._token

    def _failed_while_waiting(self, waited_for: int) -> None:
        # A renewal ran while this request waited for the lock, and failed (after the token
        # call's own retries): every waiter gets that answer, none tries again (no storm).
        if self._renewals != waited_for and self._renew_error is not None:
            raise self._renew_error

    async def _renew_once(self, *, proactive: bool) -> None:
        self._renewals += 1
        try:
            await self._renew(proactive=proactive)
        except ApiError as exc:
            self._renew_error = exc
            raise
        self._renew_error = None

    def accepted(self, used: Secret) -> None:
        """Record that OKC accepted ``used`` (a 2xx came back with it)."""
        if not self._accepted and used == self._token:
            self._accepted = True

    def stale(self, used: Secret) -> bool:
        """Whether a 401 for ``used`` is explained by time rather than refusal: the token
        was replaced since, is (nearly) past its ``expires_in``, or was accepted before (so it
        has expired or been revoked since). Such a 401 deserves another renewal; a token
        refused before it ever worked does not."""
        return self._token != used or not self._fresh() or self._accepted

    async def unauthorized(
        self,
        used: Secret,
        *,
        method: str = "GET",
        path: str = "",
        refused: ApiError | None = None,
    ) -> None:
        """Report that OKC answered 401 to ``method path`` sent with ``used``; renew it once.

        Raises ``refused`` (the 401 as an error, with what OKC said) or an
        :class:`AuthenticationError` when the token cannot be renewed (a static token with
        no username/password).
        """
        waited_for = self._renewals
        async with self._lock:
            self._failed_while_waiting(waited_for)
            if self._token is not None and self._token != used:
                return  # another request already renewed it
            if self._static is not None and self._password is None:
                if refused is not None:
                    raise refused
                raise AuthenticationError(
                    f"{method} {path} → 401: OKC refused the access token; set a fresh "
                    "OKC_ACCESS_TOKEN, or OKC_USERNAME/OKC_PASSWORD so it can be renewed",
                    method=method,
                    path=path,
                    status=401,
                )
            log.info("OKC answered 401; renewing the access token")
            await self._renew_once(proactive=False)

    async def _renew(self, *, proactive: bool) -> None:
        if self._refresh_token is not None:
            try:
                await self._refresh()
                return
            except (AuthenticationError, ResponseShapeError) as exc:
                self._refresh_token = None
                if self._password is None:
                    raise AuthenticationError(
                        f"{exc}; set OKC_USERNAME/OKC_PASSWORD (or a fresh OKC_ACCESS_TOKEN)",
                        method=exc.method,
                        path=exc.path,
                        status=exc.status,
                    ) from exc
                log.info("OKC refused the refresh token; logging in again")
        if self._password is None:
            # a static token past its (unknown) expiry cannot be renewed: keep using it
            # until OKC says 401; unauthorized() then raises.
            if self._token is None:
                raise ConfigError("no OKC credentials to log in with")
            self._expires_at = None
            return
        await self._login()
        if proactive:
            log.debug("renewed the OKC access token before it expired")

    async def _login(self) -> None:
        assert self._username is not None
        assert self._password is not None
        keys = [self._login_key] + [k for k in ("username", "email") if k != self._login_key]
        last: ApiError | None = None
        for key in keys:
            body = {key: self._username, "password": self._password.reveal()}
            try:
                data = await self._post_json(TOKEN_PATH, body)
            except ApiError as exc:
                if _validation(exc):
                    last = exc  # this OKC build wants the other key (username vs email)
                    continue
                if exc.status in (400, 401, 403):
                    raise AuthenticationError(
                        f"OKC refused the username/password ({exc.status}: "
                        f"{exc.api_message or 'no message'}): check OKC_USERNAME and "
                        "OKC_PASSWORD, and that they belong to OKC_BASE_URL's environment "
                        "(stage and production credentials differ)",
                        method="POST",
                        path=TOKEN_PATH,
                        status=exc.status,
                        error_code=exc.error_code,
                        api_message=exc.api_message,
                        attempts=exc.attempts,
                    ) from exc
                raise
            self._login_key = key
            self.logins += 1
            self._store(data, from_login=True)
            return
        assert last is not None
        raise AuthenticationError(
            f"OKC rejected the login body with both 'username' and 'email' ({last.status}: "
            f"{last.api_message or 'validation error'}); check OKC_BASE_URL",
            method="POST",
            path=TOKEN_PATH,
            status=last.status,
            error_code=last.error_code,
            api_message=last.api_message,
            details=last.details,
        ) from last

    async def _refresh(self) -> None:
        assert self._refresh_token is not None
        try:
            data = await self._post_json(
                REFRESH_PATH, {"refresh_token": self._refresh_token.reveal()}
            )
        except ApiError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                self._refresh_token = None
                raise AuthenticationError(
                    f"POST {REFRESH_PATH} → {exc.status}: OKC refused the refresh token"
                    f" ({exc.api_message or 'no message'})",
                    method="POST",
                    path=REFRESH_PATH,
                    status=exc.status,
                ) from exc
            raise
        self.refreshes += 1
        self._store(data, from_login=False)

    def _store(self, data: Mapping[str, Any], *, from_login: bool) -> None:
        path = TOKEN_PATH if from_login else REFRESH_PATH
        node = _token_fields(data)
        access = _field(node, "access_token")
        if not isinstance(access, str) or not access:
            raise ResponseShapeError(
                f"POST {path} answered without an access_token (keys: {sorted(data)})",
                method="POST",
                path=path,
                status=200,
            )
        self._token = Secret(access)
        self._accepted = False
        refresh = _field(node, "refresh_token")
        if isinstance(refresh, str) and refresh:
            self._refresh_token = Secret(refresh)  # rotated (or first): keep the new one
        ttl = parse_expires_in(_field(node, "expires_in"))
        if ttl is None:
            ttl = jwt_lifetime(access)
            ttl = ttl if ttl is not None and ttl > 0 else None
        if ttl is None:
            self._expires_at = None  # unknown lifetime: renew on the first 401
        else:
            self._expires_at = self._clock() + ttl
            self._refresh_margin = min(300.0, 0.2 * ttl)
