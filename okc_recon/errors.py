"""The exceptions okc-recon raises.

Every exception derives from one root, so callers (and the CLI) can catch one class::

    OkcReconError
    ├── ConfigError                 settings missing or contradictory
    ├── ApiError                    an OKC API call failed (after retries, where retrying helps)
    │   ├── AuthenticationError     credentials refused, or token refresh failed
    │   ├── NotFoundError           404
    │   ├── RateLimitError          429 still returned after the last attempt
    │   ├── ServerError             5xx still returned after the last attempt
    │   ├── ApiConnectionError      connection refused/reset, or timed out, after the last attempt
    │   └── ResponseShapeError      a 2xx body that is not the JSON the endpoint documents
    ├── PullError                   a pull could not return every record it was asked for
    ├── InvoiceFormatError          an invoice file no reader understands
    ├── StoreError                  the local cache is locked, missing a snapshot, or damaged
    └── ExportError                 a workbook or export could not be written

Exceptions carry their context as attributes (method, path, status, file, line…) and their
messages say what to do next. None of them ever holds a credential: the API errors are built
from the request's method and path, never from its headers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AuthenticationError",
    "ConfigError",
    "ExportError",
    "InvoiceFormatError",
    "NotFoundError",
    "OkcReconError",
    "PullError",
    "RateLimitError",
    "ResponseShapeError",
    "ServerError",
    "StoreError",
]


class OkcReconError(Exception):
    """Root of every error okc-recon raises on purpose."""


class ConfigError(OkcReconError):
    """Settings are missing, malformed or contradict each other."""


class ApiError(OkcReconError):
    """An OKC API request failed.

    Attributes name the request (``method``, ``path``: the URL path with its query string,
    never headers), the HTTP ``status`` (``None`` when no response arrived), OKC's own
    ``error_code`` and ``api_message`` parsed from any of its error body shapes, the
    ``details`` list when the body had one, and how many ``attempts`` were made.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        error_code: str | None = None,
        api_message: str | None = None,
        details: list[dict[str, Any]] | None = None,
        attempts: int = 1,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.error_code = error_code
        self.api_message = api_message
        self.details = details or []
        self.attempts = attempts
        super().__init__(message)

    @property
    def request(self) -> str:
        """``"GET /v2/fulfillments?limit=100"``: what to quote to OKC support."""
        return f"{self.method} {self.path}".strip()


class AuthenticationError(ApiError):
    """Credentials were refused (401/403 on the token call, or 401 after one refresh)."""


class NotFoundError(ApiError):
    """The resource does not exist (404)."""


class RateLimitError(ApiError):
    """OKC kept answering 429 until the retry budget ran out."""


class ServerError(ApiError):
    """OKC kept answering 5xx until the retry budget ran out."""


class ApiConnectionError(ApiError):
    """No usable response: connection refused or dropped, or a timeout, on every attempt."""


class ResponseShapeError(ApiError):
    """A successful response whose body is not the JSON the endpoint documents."""


class PullError(OkcReconError):
    """A pull could not return every record it was asked for.

    ``failures`` lists what failed (each an order id or page cursor with its ``ApiError``);
    ``partial`` holds the result gathered before giving up, so nothing fetched is lost.
    """

    def __init__(self, message: str, *, failures: list[Any], partial: Any = None) -> None:
        self.failures = failures
        self.partial = partial
        super().__init__(message)


class InvoiceFormatError(OkcReconError):
    """An invoice file is not in any format okc-recon reads.

    ``file`` and ``line`` (1-based, ``None`` for the file as a whole) say where; ``tried``
    maps each format that was tried to why it did not fit.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path,
        line: int | None = None,
        tried: dict[str, str] | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.tried = dict(tried or {})
        super().__init__(message)


class StoreError(OkcReconError):
    """The local fulfillment cache cannot be used (locked by another run, damaged, no snapshot)."""


class ExportError(OkcReconError):
    """A workbook or data export could not be written."""
