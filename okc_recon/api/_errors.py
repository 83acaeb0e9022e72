"""OKC error bodies → one typed :class:`~okc_recon.errors.ApiError`.

OKC answers errors in (at least) four body shapes (okc-api.md §3)::

    docs        {"statusCode": 404, "error": "Not Found", "message": "…",
                 "details": [{"field": "…", "message": "…"}]}
    spec        {"error": {"errorCode": "RESOURCE_NOT_FOUND", "message": "…"}, "message": "…"}
    validation  {"message": "Validation error",
                 "errors": [{"message": "…", "type": "any.required"}]}
    auth        {"error": {"message": "…", "errors": [{"message": "…", "type": "…"}]}}

:func:`parse_error_body` reads all of them (and plain text) into an :class:`ErrorInfo`;
:func:`api_error` builds the exception class that fits the status. Messages name the request
(method and path with its query) and never anything from the request's headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from okc_recon.errors import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

__all__ = ["ErrorInfo", "api_error", "connection_error", "parse_error_body"]

# An error message longer than this is cut: it goes into exception messages and logs.
_MAX_MESSAGE = 300


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
    text = " ".join(text.split())
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
        # Not JSON (a proxy's HTML page, plain text): keep a short, single-line excerpt.
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


def api_error(
    method: str,
    path: str,
    status: int,
    body: bytes | str | None,
    *,
    attempts: int = 1,
    reason: str | None = None,
) -> ApiError:
    """The typed error for an error response, its message naming the request.

    >>> str(api_error("GET", "/v2/fulfillments/x", 404, b'{"message": "Not found"}'))
    'GET /v2/fulfillments/x → 404: Not found'
    """
    info = parse_error_body(body)
    text = info.message or reason or "no error message"
    message = f"{method} {path} → {status}: {text}"
    if info.code and info.code not in text:
        message += f" [{info.code}]"
    if attempts > 1:
        message += f" (after {attempts} attempts)"
    if status in _HINTS:
        message += f"; {_HINTS[status]}"
    return _class_for(status)(
        message,
        method=method,
        path=path,
        status=status,
        error_code=info.code,
        api_message=info.message,
        details=info.details,
        attempts=attempts,
    )


def connection_error(method: str, path: str, exc: BaseException, *, attempts: int) -> ApiError:
    """:class:`ApiConnectionError` for a request that got no usable response."""
    kind = type(exc).__name__
    detail = _text(str(exc)) or kind
    what = "timed out" if "Timeout" in kind else "got no response"
    return ApiConnectionError(
        f"{method} {path} {what} ({kind}: {detail}) after {attempts} attempt"
        f"{'s' if attempts != 1 else ''}; check the network and OKC_BASE_URL, "
        "or raise OKC_TIMEOUT",
        method=method,
        path=path,
        status=None,
        attempts=attempts,
    )
