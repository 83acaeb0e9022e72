"""OKC error bodies → one typed :class:`~okc_recon.errors.ApiError`.

OKC answers errors in (at least) four body shapes (okc-api.md §3)::

    docs        {"statusCode": 404, "error": "Not Found", "message": "…",
                 "details": [{"field": "…", "message": "…"}]}
    spec        {"error": {"errorCode": "RESOURCE_NOT_FOUND", "message": "…"}, "message": "…"}
    validation  {"message": "Validation error",
                 "errors": [{"message": "…", "type": "any.required"}]}
    auth        {"error": {"message": "…", "errors": [{"message": "…", "type": "…"}]}}

:func:`parse_error_body` reads all of them (and plain text, and a proxy's HTML error page,
of which only the title is kept) into an :class:`ErrorInfo`; :func:`api_error` builds the
exception class that fits the status. Messages name the request (method and path with its
query) and never anything from the request's headers. What the *server* wrote is quoted, but
scrubbed first: any known secret (the token, refresh token, password — a debugging server
may echo them) becomes ``[redacted]``, any pre-signed URL ``[signed URL]``.

Some errors say that ``OKC_BASE_URL`` is wrong, so every further request would fail the same
way; they are :class:`EndpointError` / :class:`EndpointConnectionError`, which are both an
:class:`~okc_recon.errors.ApiError` (they name the request) and a
:class:`~okc_recon.errors.ConfigError` (the CLI's configuration exit code), and
:func:`is_fatal` says a pull must stop on them rather than report every order as failed:

- 410 (OKC's retired v1 API answers ``OKCAPI_V1_DEPRECATED``);
- 400 "API version is incorrect or not specified" (a base URL with a path in it);
- a redirect (OKC's API does not redirect; only the origin of ``Location`` is quoted);
- a host name that does not resolve, a TLS handshake with a plain-HTTP port (or a
  certificate that is not trusted), plain HTTP sent to a TLS port;
- a connection that could not be made on any attempt before the host ever answered
  (nothing listens there, or a firewall drops it): a pull does not wait out every order's
  retries against a host it never reached.
"""

from __future__ import annotations

import errno
import html
import json
import re
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from okc_recon.errors import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    ConfigError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "EndpointConnectionError",
    "EndpointError",
    "ErrorInfo",
    "api_error",
    "causes",
    "connection_error",
    "is_fatal",
    "parse_error_body",
    "scrub",
]

# An error message longer than this is cut: it goes into exception messages and logs.
_MAX_MESSAGE = 300

# Pre-signed URLs (S3 and the like): a credential for as long as they live.
_SIGNED_URL = re.compile(
    r"""https?://[^\s"'<>]*(?:X-Amz-|Signature=|amazonaws\.com|sig=|token=)[^\s"'<>]*""",
    re.IGNORECASE,
)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_VERSION_MESSAGE = re.compile(r"api version is incorrect|version .*not specified", re.IGNORECASE)


class EndpointError(ApiError, ConfigError):
    """OKC's answer says that ``OKC_BASE_URL`` does not lead to its v2 API (410 from the
    retired v1 API, 400 "API version is incorrect", a redirect). Every request would fail
    alike, so a pull stops at the first one."""


class EndpointConnectionError(ApiConnectionError, ConfigError):
    """``OKC_BASE_URL``'s host cannot be reached as written: its name does not resolve, or
    it speaks TLS where the URL says ``http://`` (or the reverse), or its certificate is not
    trusted. Not retried (or, for a temporary DNS failure, retried and then) fatal."""


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets and without pre-signed URLs.

    >>> scrub("token abc123456 at https://b.s3.amazonaws.com/x?X-Amz-Signature=f", ["abc123456"])
    'token [redacted] at [signed URL]'
    """
    for secret in secrets:
        if secret and len(secret) >= 6 and secret in text:
            text = text.replace(secret, "[redacted]")
    return _SIGNED_URL.sub("[signed URL]", text)


@dataclass(frozen=True)
class ErrorInfo:
    """What an OKC error body says: a machine ``code``, a human ``message``, ``details``."""

    code: str | None = None
    message: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(scrub(text).split())
    if not text:
        return None
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _details(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):
            out.append({str(k): v for k, v in item.items()})
        elif item is not None:
            out.append({"message": str(item)})
    return out


def _join_details(details: list[dict[str, Any]]) -> str | None:
    parts = []
    for item in details:
        message = _text(item.get("message"))
        where = item.get("field") or item.get("path")
        if message:
            parts.append(f"{where}: {message}" if where and str(where) not in message else message)
    return _text("; ".join(parts)) if parts else None


def parse_error_body(body: bytes | str | None) -> ErrorInfo:
    """The code, message and details in any of OKC's four error body shapes.

    >>> parse_error_body(b'{"error": {"errorCode": "RESOURCE_NOT_FOUND", "message": "No such"}}')
    ErrorInfo(code='RESOURCE_NOT_FOUND', message='No such', details=[])
    """
    if body is None:
        return ErrorInfo()
    raw = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(raw)
    except ValueError:
        if "<html" in raw[:2000].lower() or raw.lstrip().startswith("<"):
            return ErrorInfo(message=_html_message(raw))
        # Not JSON (plain text): keep a short, single-line excerpt.
        return ErrorInfo(message=_text(raw))
    if not isinstance(data, dict):
        return ErrorInfo(message=_text(data))

    code: str | None = None
    message: str | None = None
    details: list[dict[str, Any]] = []
    error = data.get("error")
    if isinstance(error, dict):
        # spec ErrorModel and auth-endpoint shapes: {"error": {errorCode?, message, errors?}}
        code = _text(error.get("errorCode") or error.get("code"))
        message = _text(error.get("message"))
        details = _details(error.get("errors") or error.get("details"))
    elif isinstance(error, str) and "statusCode" not in data and "message" not in data:
        message = _text(error)
    elif isinstance(error, str):
        # docs envelope: "error" is the reason phrase ("Not Found"); keep it as the code
        code = _text(error)
    top_message = _text(data.get("message"))
    if top_message and (message is None or message.lower() in ("unauthorized", "error")):
        message = top_message if message is None else f"{message}: {top_message}"
    details = details or _details(data.get("errors") or data.get("details"))
    if details:
        joined = _join_details(details)
        if joined and (message is None or message.lower().startswith("validation")):
            message = joined if message is None else f"{message}: {joined}"
    return ErrorInfo(code=code, message=message, details=details)


def _html_message(page: str) -> str | None:
    """A proxy's error page in a few words: its title, else its first heading, else its text."""
    for pattern in (_TITLE, _H1):
        match = pattern.search(page)
        if match:
            text = _text(html.unescape(_TAG.sub(" ", match.group(1))))
            if text:
                return text
    return _text(html.unescape(_TAG.sub(" ", page)))


def _class_for(status: int) -> type[ApiError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return ApiError


_HINTS = {
    401: "check the credentials (OKC_ACCESS_TOKEN, or OKC_USERNAME/OKC_PASSWORD) and that "
    "they belong to this environment's base URL",
    403: "the OKC user's role lacks this permission; ask the OKC client admin",
    429: "OKC is rate limiting: lower the concurrency or try again later",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "elsewhere"


def api_error(
    method: str,
    path: str,
    status: int,
    body: bytes | str | None,
    *,
    attempts: int = 1,
    reason: str | None = None,
    secrets: Iterable[str] = (),
    location: str | None = None,
    hint: str | None = None,
) -> ApiError:
    """The typed error for an error response, its message naming the request.

    ``secrets`` are removed from whatever the server wrote; ``location`` is a redirect's
    ``Location`` header (only its origin is quoted); ``hint`` replaces the status's advice.

    >>> str(api_error("GET", "/v2/fulfillments/x", 404, b'{"message": "Not found"}'))
    'GET /v2/fulfillments/x → 404: Not found'
    """
    info = parse_error_body(body)
    secrets = [s for s in secrets if s]
    api_message = scrub(info.message, secrets) if info.message else None
    details = [
        {k: scrub(v, secrets) if isinstance(v, str) else v for k, v in item.items()}
        for item in info.details
    ]
    text = api_message or reason or "no error message"
    message = f"{method} {path} → {status}: {text}"
    if info.code and info.code not in text:
        message += f" [{info.code}]"
    if attempts > 1:
        message += f" (after {attempts} attempts)"
    cls = _class_for(status)
    hint = hint or _HINTS.get(status)
    if status == 410 or info.code == "OKCAPI_V1_DEPRECATED":
        cls = EndpointError
        hint = (
            "this is OKC's retired v1 API: set OKC_BASE_URL to https://na1-prod.okcapsule.app "
            "(or stage, https://na1-stage.okcapsule.app)"
        )
    elif status == 400 and _VERSION_MESSAGE.search(text):
        cls = EndpointError
        hint = (
            "OKC_BASE_URL must be the host alone (https://na1-prod.okcapsule.app), without "
            "/v2 or any other path"
        )
    elif 300 <= status < 400:
        cls = EndpointError
        hint = (
            f"OKC redirected the request to {scrub(_origin(location or ''))}; OKC's API does not "
            "redirect, so OKC_BASE_URL is probably wrong (http:// for https://, or a web host)"
        )
    if hint:
        message += f"; {hint}"
    return cls(
        message,
        method=method,
        path=path,
        status=status,
        error_code=info.code,
        api_message=api_message,
        details=details,
        attempts=attempts,
    )


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (``__cause__``, ``__context__`` and exceptions given as
    arguments, as httpx and httpcore do), without repeats."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [c for c in (current.__cause__, current.__context__) if c is not None]
        todo += [a for a in current.args if isinstance(a, BaseException)]
    return seen


def dns_failure(exc: BaseException) -> socket.gaierror | None:
    """The name-resolution error behind ``exc``, if that is what it is."""
    for inner in causes(exc):
        if isinstance(inner, socket.gaierror):
            return inner
    text = str(exc)
    if "Name or service not known" in text or "nodename nor servname" in text:
        return socket.gaierror(socket.EAI_NONAME, text)
    return None


def dns_temporary(exc: BaseException) -> bool:
    """Whether a DNS failure is a temporary one (``EAI_AGAIN``): worth retrying."""
    failure = dns_failure(exc)
    return failure is not None and failure.errno == socket.EAI_AGAIN


def tls_failure(exc: BaseException) -> str | None:
    """What is wrong when ``exc`` comes from TLS, in words; ``None`` for anything else.

    A handshake cut short (``SSLEOFError``, ``SSLZeroReturnError``) is not counted: servers
    under load do that, and it is worth retrying.
    """
    for inner in causes(exc):
        if isinstance(inner, ssl.SSLCertVerificationError):
            return "its TLS certificate is not trusted"
        if isinstance(inner, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLWantReadError)):
            return None
        if isinstance(inner, ssl.SSLError):
            return "the TLS handshake failed: the port may speak plain HTTP"
    text = str(exc)
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "the TLS handshake failed: the port may speak plain HTTP"
    if "illegal status line" in text or "illegal request line" in text:
        # h11's words for an answer that is not HTTP/1.x at all: a TLS port, typically
        return "the answer is not HTTP: the port may speak TLS"
    return None


def is_fatal(exc: BaseException) -> bool:
    """Whether an error means every other request will fail too, so a pull must stop:
    refused credentials, a token call that kept failing (every request needs a token: going
    on would send each order's request to the token endpoint again, a retry storm), or a
    base URL that does not lead to OKC's v2 API.

    A 403 on one resource is that resource's problem (the role lacks a permission, or the
    order belongs to another client): a failure to report, not a reason to stop.
    """
    if isinstance(exc, ConfigError):
        return True
    if isinstance(exc, ApiError) and exc.path.startswith("/v2/authentication"):
        return True  # no token could be had (after the token call's own retries)
    if isinstance(exc, AuthenticationError):
        return exc.status != 403 or exc.path.startswith("/v2/authentication")
    return False


def connection_error(
    method: str,
    path: str,
    exc: BaseException,
    *,
    attempts: int,
    base_url: str = "",
    secrets: Iterable[str] = (),
    first_contact: bool = False,
) -> ApiError:
    """:class:`ApiConnectionError` for a request that got no usable response (or
    :class:`EndpointConnectionError` when ``base_url`` cannot be reached as written, or when
    ``first_contact`` — nothing has been received from the host yet — and connecting failed
    on every attempt)."""
    kind = type(exc).__name__
    detail = scrub(_text(str(exc)) or kind, secrets)
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    host = urlsplit(base_url).hostname or "the OKC host"
    dns = dns_failure(exc)
    if dns is not None:
        what = "temporarily" if dns.errno == socket.EAI_AGAIN else "at all"
        return EndpointConnectionError(
            f"{method} {path}: cannot resolve the host name {host} {what} ({detail}) after "
            f"{tries}; check OKC_BASE_URL ({base_url or 'not set'}) and the network",
            method=method,
            path=path,
            attempts=attempts,
        )
    tls = tls_failure(exc)
    if tls is not None:
        scheme = urlsplit(base_url).scheme or "https"
        other = "http://" if scheme == "https" else "https://"
        return EndpointConnectionError(
            f"{method} {path}: {host}: {tls} ({detail}) after {tries}; check that "
            f"OKC_BASE_URL ({base_url or 'not set'}) should not start with {other} instead "
            f"of {scheme}://, or that TLS is not intercepted by a proxy",
            method=method,
            path=path,
            attempts=attempts,
        )
    what = "timed out" if "Timeout" in kind or isinstance(exc, TimeoutError) else "got no response"
    refused = any(
        isinstance(inner, ConnectionRefusedError)
        or getattr(inner, "errno", None) == errno.ECONNREFUSED
        or "Connection refused" in str(inner)
        for inner in causes(exc)
    )
    hint = (
        f"nothing listens at {base_url}: check OKC_BASE_URL"
        if refused
        else "check the network and OKC_BASE_URL, or raise OKC_TIMEOUT"
    )
    connecting = any(isinstance(i, (httpx.ConnectError, httpx.ConnectTimeout)) for i in causes(exc))
    if first_contact and connecting:
        # Not one answer yet from this host, and the connection itself failed on every
        # attempt: the base URL (or the network to it) is wrong, not one request.
        return EndpointConnectionError(
            f"{method} {path}: could not connect to {host} ({kind}: {detail}) after {tries}, "
            f"and no request has reached it yet; {hint}",
            method=method,
            path=path,
            attempts=attempts,
        )
    return ApiConnectionError(
        f"{method} {path} {what} ({kind}: {detail}) after {tries}; {hint}",
        method=method,
        path=path,
        status=None,
        attempts=attempts,
    )
