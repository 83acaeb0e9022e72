"""The sandbox: a real HTTP server on loopback that serves a generated :class:`World` as OKC's API.

It implements the endpoints okc-recon reads (SPEC §2) with the behaviour okc-api.md
describes, including its uncertainties (every cursor envelope, all four error body shapes,
``expires_in`` as text), and injects :class:`~okc_recon.sandbox.faults.Faults` on demand::

    with Sandbox(seed=2025, faults=Faults(latency=0.05), port=0) as sb:
        settings = Settings(base_url=sb.base_url, access_token=Secret(sb.access_token))
        ...
        sb.stats.by_route["GET /v2/fulfillments/{id}"]

It is a stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, run in a
background thread. Lists are in a stable keyset order (by record id); a cursor resumes after
a record id, given either as the opaque cursor the server returned or as a raw id. Every GET
needs ``Authorization: Bearer <token>``: the static :attr:`Sandbox.access_token`, or one
issued by ``POST /v2/authentication/token``. Tokens, passwords and label URLs are never
logged.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import dataclasses
import email.utils
import hashlib
import json
import logging
import math
import re
import secrets
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from okc_recon.sandbox._labels import label_url
from okc_recon.sandbox._query import QueryError, matches, parse_query, parse_time
from okc_recon.sandbox.faults import FaultDice, Faults
from okc_recon.sandbox.generator import DEFAULT_SEED, GeneratorConfig, generate
from okc_recon.sandbox.world import World

__all__ = ["DEFAULT_PASSWORD", "DEFAULT_USERNAME", "Sandbox", "SandboxStats", "error_body"]

logger = logging.getLogger("okc_recon.sandbox")

DEFAULT_USERNAME = "analyst@sandbox.okcapsule.test"
DEFAULT_PASSWORD = "sandbox-password"
DEFAULT_LIMIT = 50  # the spec's default (the guide says 20); clients should always send limit
MAX_LIMIT = 250
TOKEN_LIFETIME = 86400
PERMISSIONS = "orders/read,fulfillments/read,statuses/read"
_CURSOR_PREFIX = "ck_"  # never the start of an id (ids are hex UUIDs)
_TRACKING_FIELDS = ("shipping_carrier", "shipping_method", "tracking_number", "tracking_url")

_FULFILLMENT_FIELDS = {
    "id": "text",
    "order_id": "text",
    "consumer_id": "text",
    "client_id": "text",
    "status_id": "text",
    "shipment_order_id": "text",
    "shipment_order_number": "text",
    "tracking_number": "text",
    "created_at": "time",
    "updated_at": "time",
    "pickup_date": "time",
    "delivery_date": "time",
}
_ORDER_FIELDS = {
    "id": "text",
    "client_id": "text",
    "consumer_id": "text",
    "status": "text",
    "client_custom_order_id": "text",
    "created_at": "time",
    "updated_at": "time",
}
_STATUS_FIELDS = {"id": "text", "name": "text", "group": "text"}

_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    422: "VALIDATION_ERROR",
    429: "TOO_MANY_REQUESTS",
}


def error_body(
    shape: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """An error body in one of the four shapes of okc-api.md §3 (see ``faults.ERROR_SHAPES``).

    ``details`` items have ``field``, ``message`` and ``type`` (a Joi rule such as
    ``any.required``); each shape keeps the keys it has.
    """
    code = code or _CODES.get(status) or ("SERVER_ERROR" if status >= 500 else "ERROR")
    details = details or []
    errors = [{"message": d["message"], "type": d.get("type", "any.invalid")} for d in details]
    if shape == "docs":
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        return {
            "statusCode": status,
            "error": phrase,
            "message": message,
            "details": [{"field": d.get("field", ""), "message": d["message"]} for d in details],
        }
    if shape == "spec":
        return {"error": {"errorCode": code, "message": message}, "message": message}
    if shape == "validation":
        return {
            "message": "Validation error" if status == 422 else message,
            "errors": errors or [{"message": message, "type": code.lower()}],
        }
    return {"error": {"message": message, "errors": errors}}


class SandboxStats:
    """Request counters of a running sandbox (thread-safe).

    ``by_route`` counts requests by route template (``"GET /v2/fulfillments/{id}"``);
    ``faults`` counts injected faults (``rate_limit``, ``server_error``, ``drop``, ``slow``,
    ``fail_route``, ``token_expired``, ``unauthorized``); ``connections`` counts the TCP
    connections accepted (keep-alive clients reuse theirs).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._connections = 0
        self._routes: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    @property
    def total(self) -> int:
        with self._lock:
            return self._total

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    @property
    def by_route(self) -> Counter[str]:
        with self._lock:
            return Counter(self._routes)

    @property
    def faults(self) -> Counter[str]:
        with self._lock:
            return Counter(self._faults)

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._total = 0
            self._connections = 0
            self._routes.clear()
            self._faults.clear()

    def _hit(self, route: str) -> None:
        with self._lock:
            self._total += 1
            self._routes[route] += 1

    def _connected(self) -> None:
        with self._lock:
            self._connections += 1

    def _fault(self, name: str) -> None:
        with self._lock:
            self._faults[name] += 1

    def __repr__(self) -> str:
        return f"SandboxStats(total={self.total}, faults={dict(self.faults)})"


class _ApiError(Exception):
    """An error response to send: status, message, OKC error code, validation details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.code = code
        self.details = details
        super().__init__(message)


def _encode_cursor(key: str) -> str:
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    """The record key a cursor resumes after: an opaque cursor of ours, or a raw id."""
    if cursor.startswith(_CURSOR_PREFIX):
        payload = cursor[len(_CURSOR_PREFIX) :]
        try:
            padded = payload + "=" * (-len(payload) % 4)
            return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise _ApiError(
                422,
                f"cursor {cursor!r} is not valid",
                details=[{"field": "cursor", "message": '"cursor" is invalid', "type": "any"}],
            ) from None
    return cursor


class _Collection:
    """Records of one resource in keyset order, with filtered views cached per query."""

    def __init__(
        self,
        records: Iterable[dict[str, Any]],
        fields: Mapping[str, str],
        getters: Mapping[str, Callable[[dict[str, Any]], object]] | None = None,
    ) -> None:
        self.fields = fields
        self._getters = dict(getters or {})
        self._lock = threading.RLock()
        self.records: dict[str, dict[str, Any]] = {}
        self._times: dict[str, dict[str, datetime | None]] = {}
        missing = 0
        for record in records:
            key = record.get("id")
            if not isinstance(key, str) or not key:
                # A record without an id still has a place in the order: after every id.
                missing += 1
                key = f"~missing-id-{missing:04d}"
            self.records[key] = record
            self._times[key] = self._parse_times(record)
        self.keys = sorted(self.records)
        self._views: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}

    def _parse_times(self, record: Mapping[str, Any]) -> dict[str, datetime | None]:
        times: dict[str, datetime | None] = {}
        for name, kind in self.fields.items():
            if kind == "time":
                value = record.get(name)
                times[name] = parse_time(value) if isinstance(value, str) else None
        return times

    def value(self, key: str, name: str) -> object:
        if self.fields.get(name) == "time":
            return self._times[key][name]
        getter = self._getters.get(name)
        record = self.records[key]
        return getter(record) if getter is not None else record.get(name)

    def view(self, q: str | None, equal: Mapping[str, str]) -> list[str]:
        """Keys of the records matching ``q`` and the ``equal`` field values, in order."""
        cache_key = (q or "", tuple(sorted(equal.items())))
        with self._lock:
            cached = self._views.get(cache_key)
            if cached is not None:
                return cached
            try:
                terms = parse_query(q, self.fields) if q else []
            except QueryError as exc:
                raise _ApiError(
                    422,
                    str(exc),
                    details=[{"field": "q", "message": str(exc), "type": "string.query"}],
                ) from None
            keys = [
                key
                for key in self.keys
                if all(str(self.value(key, f)) == v for f, v in equal.items())
                and matches(terms, lambda name, key=key: self.value(key, name))  # type: ignore[misc]
            ]
            if len(self._views) > 4096:
                self._views.clear()
            self._views[cache_key] = keys
            return keys

    def replace(self, key: str, record: dict[str, Any]) -> None:
        with self._lock:
            self.records[key] = record
            self._times[key] = self._parse_times(record)
            self._views.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # the sandbox joins its own handler threads, with a timeout
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("sandbox connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "okc-sandbox/1"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections close after a minute
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.app.track(self.connection, threading.current_thread())

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.app.untrack(self.connection, threading.current_thread())

    def do_GET(self) -> None:
        self.server.app.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.app.handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.app.handle(self, "PUT")

    def do_PATCH(self) -> None:
        self.server.app.handle(self, "PATCH")

    def do_DELETE(self) -> None:
        self.server.app.handle(self, "DELETE")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _App.handle logs method, path and status; headers (tokens) never

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox: " + format, *args)


@dataclasses.dataclass(frozen=True)
class _Route:
    method: str
    regex: re.Pattern[str]
    name: str
    handler: str
    auth_route: bool = False


_ROUTES = tuple(
    _Route(method, re.compile(pattern), f"{method} {name}", handler, auth)
    for method, pattern, name, handler, auth in (
        ("POST", r"/v2/authentication/token", "/v2/authentication/token", "_token", True),
        (
            "POST",
            r"/v2/authentication/refresh-token",
            "/v2/authentication/refresh-token",
            "_refresh",
            True,
        ),
        ("GET", r"/v2/statuses", "/v2/statuses", "_statuses", False),
        ("GET", r"/v2/orders", "/v2/orders", "_orders", False),
        ("GET", r"/v2/orders/(?P<id>[^/]+)", "/v2/orders/{id}", "_order", False),
        (
            "GET",
            r"/v2/orders/(?P<id>[^/]+)/fulfillments",
            "/v2/orders/{id}/fulfillments",
            "_order_fulfillments",
            False,
        ),
        ("GET", r"/v2/fulfillments", "/v2/fulfillments", "_fulfillments", False),
        ("GET", r"/v2/fulfillments/count", "/v2/fulfillments/count", "_count", False),
        ("GET", r"/v2/fulfillments/(?P<id>[^/]+)", "/v2/fulfillments/{id}", "_fulfillment", False),
        (
            "GET",
            r"/v2/fulfillments/(?P<id>[^/]+)/label",
            "/v2/fulfillments/{id}/label",
            "_label",
            False,
        ),
    )
)


class _Request:
    """What a route handler needs: path parameters, query parameters, the JSON body."""

    def __init__(self, params: Mapping[str, str], query: Mapping[str, list[str]], body: Any):
        self.params = params
        self.query = query
        self.body = body

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


class _App:
    """The sandbox's state and request handling, shared by all handler threads."""

    def __init__(
        self,
        world: World,
        faults: Faults,
        *,
        username: str,
        password: str,
        access_token: str,
        label_key: bytes,
    ) -> None:
        self.world = world
        self.dice = FaultDice(faults)
        self.stats = SandboxStats()
        self.username = username
        self.password = password
        self.access_token = access_token
        self._label_key = label_key
        self._label_nonce = 0
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}  # issued access token -> when (monotonic)
        self._refresh_tokens: set[str] = set()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self.stopping = threading.Event()
        client_id = next((o.get("client_id") for o in world.orders if o.get("client_id")), None)
        self.fulfillments = _Collection(
            world.fulfillments,
            _FULFILLMENT_FIELDS,
            {
                "client_id": lambda _r: client_id,
                "tracking_number": lambda r: (r.get("tracking_info") or {}).get("tracking_number"),
            },
        )
        self.orders = _Collection(world.orders, _ORDER_FIELDS)
        self.statuses = _Collection(world.statuses, _STATUS_FIELDS)
        self._by_order: dict[str, list[str]] = {}
        for key in self.fulfillments.keys:
            order_id = self.fulfillments.records[key].get("order_id")
            self._by_order.setdefault(str(order_id), []).append(key)
        self._world_index = {
            record.get("id"): i for i, record in enumerate(world.fulfillments) if record.get("id")
        }

    @property
    def faults(self) -> Faults:
        return self.dice.faults

    # --- connections ------------------------------------------------------------------------

    def track(self, conn: socket.socket, thread: threading.Thread) -> None:
        with self._lock:
            self._conns[conn] = thread
        self.stats._connected()

    def untrack(self, conn: socket.socket, thread: threading.Thread) -> None:
        with self._lock:
            self._conns.pop(conn, None)

    def close_connections(self, timeout: float) -> None:
        """Wake every handler thread (idle keep-alive or sleeping) and wait for it to end."""
        with self._lock:
            conns = list(self._conns.items())
        for conn, _ in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, thread in conns:
            thread.join(max(0.0, deadline - time.monotonic()))

    # --- request handling ---------------------------------------------------------------------

    def handle(self, h: _Handler, method: str) -> None:
        split = urlsplit(h.path)
        path = split.path.rstrip("/") or "/"
        route, params = self._route(method, path)
        self.stats._hit(route.name if route else f"{method} (unmatched)")
        try:
            body = self._read_body(h)
            faults = self.faults
            if faults.latency and self.stopping.wait(faults.latency):
                self._drop(h)
                return
            if route is None or not route.auth_route or faults.faults_on_auth:
                fault = self.dice.roll()
                if fault is not None:
                    self.stats._fault(fault)
                    if fault == "drop":
                        self._drop(h)
                        logger.debug("sandbox %s %s -> dropped", method, path)
                        return
                    if fault == "rate_limit":
                        raise _ApiError(429, "Too many requests, please slow down.")
                    if fault == "server_error":
                        raise _ApiError(faults.server_error_status, "Internal server error")
                    if self.stopping.wait(faults.slow_seconds):
                        self._drop(h)
                        return
            if route is None:
                if path != "/v2" and not path.startswith("/v2/"):
                    raise _ApiError(400, "API version is incorrect or not specified")
                if any(r.regex.fullmatch(path) for r in _ROUTES):
                    raise _ApiError(405, f"{method} is not allowed on {path}")
                raise _ApiError(404, f"Cannot {method} {path}")
            if not route.auth_route:
                self._authenticate(h)
            forced = self.dice.failed_route(path)
            if forced is not None:
                self.stats._fault("fail_route")
                raise _ApiError(forced, f"{route.name} failed (sandbox fail_routes)")
            request = _Request(params, parse_qs(split.query, keep_blank_values=True), body)
            status, payload = getattr(self, route.handler)(request)
            self._send(h, status, payload)
            logger.debug("sandbox %s %s -> %d", method, path, status)
        except _ApiError as exc:
            self._send_error(h, exc)
            logger.debug("sandbox %s %s -> %d", method, path, exc.status)
        except Exception:  # a sandbox bug: answer 500 rather than hang the client
            logger.warning("sandbox %s %s failed", method, path, exc_info=True)
            self._send_error(h, _ApiError(500, "Internal server error (sandbox bug)"))

    def _route(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in _ROUTES:
            match = route.regex.fullmatch(path)
            if match is not None and route.method == method:
                return route, match.groupdict()
        return None, {}

    def _read_body(self, h: _Handler) -> Any:
        length = int(h.headers.get("Content-Length") or 0)
        if length <= 0:
            return None
        raw = h.rfile.read(length)
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return raw  # handlers that need JSON reject it

    def _authenticate(self, h: _Handler) -> None:
        header = h.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            self.stats._fault("unauthorized")
            raise _ApiError(401, "Unauthorized")
        if secrets.compare_digest(token, self.access_token):
            return
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None:
            self.stats._fault("unauthorized")
            raise _ApiError(401, "Unauthorized")
        ttl = self.faults.token_ttl
        if ttl is not None and time.monotonic() - issued > ttl:
            self.stats._fault("token_expired")
            raise _ApiError(401, "The incoming token has expired", code="TOKEN_EXPIRED")

    def _drop(self, h: _Handler) -> None:
        h.close_connection = True

    def _send(
        self, h: _Handler, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(data)
        except OSError:  # the client gave up (a timeout on a slow answer): nothing to answer
            h.close_connection = True

    def _send_error(self, h: _Handler, exc: _ApiError) -> None:
        headers: list[tuple[str, str]] = []
        if exc.status == 429:
            retry = self.faults.retry_after
            if retry == "date":
                # HTTP dates have whole seconds: round up so the wait is at least a second.
                retry_at = math.ceil(time.time()) + 1
                headers.append(("Retry-After", email.utils.formatdate(retry_at, usegmt=True)))
            elif retry is not None:
                headers.append(("Retry-After", retry))
            reset = datetime.now(UTC) + timedelta(seconds=1)
            headers += [
                ("X-RateLimit-Limit", "3600"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%M:%SZ")),
            ]
        if exc.status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="okc"'))
        body = error_body(
            self.faults.error_shape, exc.status, exc.message, code=exc.code, details=exc.details
        )
        self._send(h, exc.status, body, headers)

    # --- authentication -----------------------------------------------------------------------

    def _jwt(self, use: str) -> str:
        def b64(data: dict[str, Any]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        header = {"alg": "RS256", "kid": "sandbox", "typ": "JWT"}
        payload = {"token_use": use, "iat": int(time.time()), "jti": secrets.token_hex(8)}
        return f"{b64(header)}.{b64(payload)}.{secrets.token_urlsafe(32)}"

    def _token_payload(self) -> dict[str, Any]:
        access = self._jwt("access")
        with self._lock:
            self._tokens[access] = time.monotonic()
        ttl = self.faults.token_ttl
        expires_in = TOKEN_LIFETIME if ttl is None else max(1, int(-(-ttl // 1)))
        return {
            "access_token": access,
            "id_token": self._jwt("id"),
            "token_type": "Bearer",
            "expires_in": str(expires_in) if self.faults.expires_in_as_string else expires_in,
        }

    @staticmethod
    def _required(body: Any, *names: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ApiError(400, "The request body must be a JSON object")
        missing = [n for n in names if not isinstance(body.get(n), str) or not body.get(n)]
        if missing:
            raise _ApiError(
                422,
                "Validation error",
                details=[
                    {"field": n, "message": f'"{n}" is required', "type": "any.required"}
                    for n in missing
                ],
            )
        return body

    def _token(self, request: _Request) -> tuple[int, Any]:
        body = request.body
        if isinstance(body, dict) and "username" not in body and "email" in body:
            body = {**body, "username": body["email"]}
        body = self._required(body, "username", "password")
        ok_user = secrets.compare_digest(str(body["username"]), self.username)
        ok_password = secrets.compare_digest(str(body["password"]), self.password)
        if not (ok_user and ok_password):
            raise _ApiError(401, "Incorrect username or password.", code="NOT_AUTHORIZED")
        refresh = secrets.token_urlsafe(48)
        with self._lock:
            self._refresh_tokens.add(refresh)
        return 200, {
            **self._token_payload(),
            "refresh_token": refresh,
            "permissions": PERMISSIONS,
        }

    def _refresh(self, request: _Request) -> tuple[int, Any]:
        body = self._required(request.body, "refresh_token")
        with self._lock:
            known = body["refresh_token"] in self._refresh_tokens
        if not known:
            raise _ApiError(401, "Invalid Refresh Token", code="NOT_AUTHORIZED")
        return 200, self._token_payload()

    # --- resources ----------------------------------------------------------------------------

    def _serve(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record as served: its label URL signed afresh (they expire after 15 minutes)."""
        if not record.get("label_url"):
            return record
        return {**record, "label_url": self._fresh_label(str(record.get("id")))}

    def _fresh_label(self, fulfillment_id: str) -> str:
        with self._lock:
            self._label_nonce += 1
            nonce = self._label_nonce
        return label_url(fulfillment_id, datetime.now(UTC), self._label_key, str(nonce))

    def _limit(self, request: _Request) -> int:
        text = request.arg("limit")
        if text is None or text == "":
            return DEFAULT_LIMIT
        try:
            limit = int(text)
        except ValueError:
            limit = -1
            rule, message = "number.base", '"limit" must be a number'
        else:
            rule = "number.min" if limit < 1 else "number.max"
            message = (
                '"limit" must be greater than or equal to 1'
                if limit < 1
                else f'"limit" must be less than or equal to {MAX_LIMIT}'
            )
        if not 1 <= limit <= MAX_LIMIT:
            raise _ApiError(
                422,
                "Validation error",
                details=[{"field": "limit", "message": message, "type": rule}],
            )
        return limit

    def _page(
        self, request: _Request, collection: _Collection, keys: list[str], name: str
    ) -> dict[str, Any]:
        limit = self._limit(request)
        faults = self.faults
        size = min(limit, faults.page_size_cap or limit)
        cursor = request.arg("cursor") or None
        start = bisect.bisect_right(keys, _decode_cursor(cursor)) if cursor else 0
        chunk = keys[start : start + size]
        more = start + size < len(keys)
        next_cursor = _encode_cursor(chunk[-1]) if more and chunk else None
        if not more and faults.repeat_last_cursor:
            next_cursor = cursor or _encode_cursor("")
        body: dict[str, Any] = {name: [self._serve(collection.records[k]) for k in chunk]}
        style = faults.cursor_style
        if style in ("next_cursor", "cursor", "next"):
            body[style] = next_cursor
        elif style == "pagination":
            body["pagination"] = {"next_cursor": next_cursor, "limit": size}
        elif style == "meta":
            body["meta"] = {"next_cursor": next_cursor, "has_more": next_cursor is not None}
        return body

    def _statuses(self, request: _Request) -> tuple[int, Any]:
        keys = self.statuses.view(request.arg("q"), {})
        return 200, {"statuses": [self.statuses.records[k] for k in keys]}

    def _orders(self, request: _Request) -> tuple[int, Any]:
        keys = self.orders.view(request.arg("q"), {})
        return 200, self._page(request, self.orders, keys, "orders")

    def _order(self, request: _Request) -> tuple[int, Any]:
        record = self.orders.records.get(request.params["id"])
        if record is None:
            raise _ApiError(404, "Order not found")
        return 200, {"order": record}

    def _fulfillment_keys(self, request: _Request, order_id: str | None) -> list[str]:
        q = request.arg("q")
        if order_id is not None and not q:
            return self._by_order.get(order_id, [])
        equal = {"order_id": order_id} if order_id is not None else {}
        return self.fulfillments.view(q, equal)

    def _order_fulfillments(self, request: _Request) -> tuple[int, Any]:
        order_id = request.params["id"]
        if order_id not in self.orders.records:
            raise _ApiError(404, "Order not found")
        keys = self._fulfillment_keys(request, order_id)
        return 200, self._page(request, self.fulfillments, keys, "fulfillments")

    def _fulfillments(self, request: _Request) -> tuple[int, Any]:
        keys = self._fulfillment_keys(request, request.arg("order_id") or None)
        return 200, self._page(request, self.fulfillments, keys, "fulfillments")

    def _count(self, request: _Request) -> tuple[int, Any]:
        return 200, {"count": len(self._fulfillment_keys(request, request.arg("order_id") or None))}

    def _fulfillment_record(self, request: _Request) -> dict[str, Any]:
        record = self.fulfillments.records.get(request.params["id"])
        if record is None:
            raise _ApiError(404, "Fulfillment not found")
        return record

    def _fulfillment(self, request: _Request) -> tuple[int, Any]:
        return 200, {"fulfillment": self._serve(self._fulfillment_record(request))}

    def _label(self, request: _Request) -> tuple[int, Any]:
        record = self._fulfillment_record(request)
        if not record.get("label_url"):
            raise _ApiError(404, "No label exists for this fulfillment")
        return 200, {"label_url": self._fresh_label(request.params["id"])}

    # --- changes ------------------------------------------------------------------------------

    def update_fulfillment(self, fulfillment_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            old = self.fulfillments.records.get(fulfillment_id)
            if old is None:
                raise KeyError(f"no fulfillment {fulfillment_id!r} in the sandbox")
            new = dict(old)
            tracking = dict(new.get("tracking_info") or {})
            for name, value in changes.items():
                if name in _TRACKING_FIELDS:
                    tracking[name] = value
                    new["tracking_info"] = tracking
                else:
                    new[name] = value
            if "updated_at" not in changes:
                previous = parse_time(str(old.get("updated_at")))
                now = datetime.now(UTC).replace(microsecond=0)
                if previous is not None and now <= previous:
                    now = previous + timedelta(seconds=1)
                new["updated_at"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.fulfillments.replace(fulfillment_id, new)
            records = list(self.world.fulfillments)
            records[self._world_index[fulfillment_id]] = new
            self.world = dataclasses.replace(self.world, fulfillments=tuple(records))
            return dict(new)


class Sandbox:
    """A local fake of OKC's API v2 serving a generated :class:`World`, with switchable faults.

    ``Sandbox(seed=…)`` generates the world (cached per seed); ``Sandbox(world=…)`` serves a
    prebuilt one. ``port=0`` takes a free port. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`.

        >>> with Sandbox(seed=2025) as sb:                      # doctest: +SKIP
        ...     sb.base_url, sb.access_token
    """

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        *,
        world: World | None = None,
        config: GeneratorConfig | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        access_token: str | None = None,
    ) -> None:
        if world is None:
            world = generate(config or GeneratorConfig(seed=seed))
        self.host = host
        self._requested_port = port
        self.username = username
        self.password = password
        digest = hashlib.sha256(f"okc-sandbox:{world.seed}".encode()).hexdigest()
        self.access_token = access_token or f"sbx.{digest[:40]}"
        self._app = _App(
            world,
            faults or Faults(),
            username=username,
            password=password,
            access_token=self.access_token,
            label_key=hashlib.sha256(f"okc-sandbox-labels:{world.seed}".encode()).digest(),
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "not started"
        return (
            f"Sandbox({where}, seed={self.world.seed}, fulfillments={len(self.world.fulfillments)})"
        )

    @property
    def world(self) -> World:
        """The world served, including changes made by :meth:`update_fulfillment`."""
        return self._app.world

    @property
    def stats(self) -> SandboxStats:
        """Request and fault counters."""
        return self._app.stats

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._app.faults

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() or use it in a with block")
        return self._server.server_port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: what ``OKC_BASE_URL`` should be."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def set_faults(self, faults: Faults) -> None:
        """Switch faults while running (their random draws start again from ``faults.seed``)."""
        self._app.dice = FaultDice(faults)

    def update_fulfillment(self, fulfillment_id: str, **changes: Any) -> dict[str, Any]:
        """Change a served fulfillment (and bump its ``updated_at``); returns the new record.

        Keys of ``tracking_info`` (``tracking_number``, ``shipping_carrier``, …) may be given
        directly. Raises ``KeyError`` for an unknown id.
        """
        return self._app.update_fulfillment(fulfillment_id, changes)

    def start(self) -> Sandbox:
        """Bind and serve in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        self._app.stopping.clear()
        server = _Server((self.host, self._requested_port), self._app)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"okc-sandbox-{server.server_port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        logger.info("sandbox serving %s (generated data)", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and free the port (idempotent)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._app.stopping.set()
        server.shutdown()
        self._app.close_connections(timeout=5.0)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5.0)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C raises ``KeyboardInterrupt`` here), then stop."""
        self.start()
        try:
            while not self._app.stopping.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
