"""A hostile OKC API for tests: every behaviour okc-api.md allows, and what users report.

Written from the references alone (okc-api.md, fulfillments-seed.md), not from
``okc_recon.sandbox``: the sandbox was written with the client, so both may share
assumptions. This one differs on purpose wherever the references leave room: the login
wants ``email`` (the docs), cursors are opaque standard base64 (``+``, ``/``, ``=``) that a
raw id does not replace, ``next`` may be a URL whose cursor parameter is not called
``cursor``, the last page may carry a cursor forever, records come in every shape.

:class:`HostileOKC` is the API's logic: ``handle(Req) -> Reply``. It runs two ways:

- ``okc.transport``: an :class:`httpx.MockTransport` (no sockets; transport actions such
  as ``"reset"`` become the httpx exceptions a real socket would give);
- ``with okc.serve() as base_url``: a real HTTP/1.1 server on loopback written on bare
  sockets, so a reply can also misbehave below HTTP: close without answering, reset mid
  body, hang, trickle a byte at a time (slow loris), answer a TLS handshake in plain text.

Per-route faults: ``okc.faults["GET /v2/fulfillments"] = fn(req, n) -> Reply | None``
(``n``: the call number on that route, 1-based; ``None``: serve normally).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode

import httpx

EMAIL = "ap@hostile.example"
PASSWORD = "hostile-pa55-5ecret"
STATIC_TOKEN = "static-tok-5ecret"
LABEL = "https://okc-labels-prod.s3.us-west-2.amazonaws.com/labels/{id}.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={date}&X-Amz-Expires=900&X-Amz-Signature=5ig{n}"

MISSING = object()  # a knob value meaning "leave the field out"

# A prefix whose standard base64 starts with "+/": every cursor has the characters that
# URL encoding must get right ("+" is a space in a form-encoded query, "/" and "=").
_CURSOR_MAGIC = b"\xfb\xff"


@dataclass
class Req:
    """One request as the server saw it."""

    method: str
    path: str  # percent-decoded
    raw_path: str  # as sent
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query, keep_blank_values=True)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """What to answer: status, headers, a body (``json`` encoded, or raw ``body`` bytes).

    ``action`` misbehaves below HTTP: ``"close"`` (no answer), ``"reset"`` (TCP reset, no
    answer), ``"partial"`` (headers and half the body, then a reset), ``"hang"`` (never
    answer), ``"trickle"`` (the body one byte per ``trickle`` seconds), ``"raw"`` (``body``
    as bytes, no HTTP at all, then close).
    """

    status: int = 200
    json: Any = MISSING
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    action: str | None = None
    gzip: bool = False
    trickle: float = 0.05
    close_after: bool = False  # answer, then close the kept-alive connection without a word

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if self.json is not MISSING:
            body = json.dumps(self.json, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        if self.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return body, headers


def http_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


# -- error bodies: the four shapes of okc-api.md §3, plus what proxies send ----------------------


def docs_error(status: int, message: str, details: list[dict[str, str]] | None = None) -> Any:
    return {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "details": details or [],
    }


def spec_error(message: str, code: str | None = None) -> Any:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error["errorCode"] = code
    return {"error": error}


def validation_error(*messages: str) -> Any:
    return {
        "message": "Validation error",
        "errors": [{"message": m, "type": "any.required"} for m in messages],
    }


def auth_validation_error(*messages: str) -> Any:
    return {
        "error": {
            "message": "Validation error",
            "errors": [{"message": m, "type": "any.required"} for m in messages],
        }
    }


UNAUTHORIZED_BODIES: dict[str, Reply] = {
    "spec": Reply(401, json={"error": {"message": "Unauthorized"}}),
    "docs": Reply(401, json=docs_error(401, "Token expired or invalid")),
    "model": Reply(401, json=spec_error("Token expired", "TOKEN_EXPIRED")),
    "plain": Reply(401, body=b"Unauthorized", headers={"Content-Type": "text/plain"}),
    "empty": Reply(401),
    "message": Reply(401, json={"message": "Unauthorized"}),
}

PROXY_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream "
    b"server.</p><hr><address>nginx</address></body></html>"
)


# -- records --------------------------------------------------------------------------------------


def fid(i: int) -> str:
    """A fulfillment id: a UUID-shaped string (sorts in creation order)."""
    return f"{i:08x}-6c54-4b01-90e6-d701748f0851"


def oid(i: int) -> str:
    return f"{i:08x}-e5f6-7890-abcd-ef1234567890"


def record(i: int, *, order: int | None = None, **changes: Any) -> dict[str, Any]:
    """A plain, well-formed fulfillment as the recipe shows it (``label_url`` included)."""
    day = datetime(2025, 10, 1, 9, tzinfo=UTC) + timedelta(hours=7 * i)
    base: dict[str, Any] = {
        "id": fid(i),
        "order_id": oid(i // 2 if order is None else order),
        "consumer_id": f"c{i:07d}",
        "status_id": "9a1b2c3d-0000-4000-8000-000000000003",
        "delivery_date": (day + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pickup_date": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tracking_info": {
            "shipping_carrier": "FedEx",
            "shipping_method": "FE10",
            "tracking_number": f"{794600000000 + i}",
            "tracking_url": f"https://www.fedex.com/fedextrack/?trknbr={794600000000 + i}",
        },
        "shipment_order_id": f"SO-{i:05d}",
        "shipment_order_number": f"{i:010d}",
        "label_url": LABEL.format(id=i, date="20251001T090000Z", n=i),
        "shipping_net_charge": 12.5,
        "shipping_charge_model": "FLAT_RATE",
        "weight": 2.5,
        "created_at": (day - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "order_lines": [{"id": f"ol-{i}", "name": "Monthly Pack"}],
    }
    base.update(changes)
    return base


STATUSES = [
    {"id": 1, "name": "Pending", "group": "order"},
    {"id": 6, "name": "Shipped", "group": "order"},
    {"id": "9a1b2c3d-0000-4000-8000-000000000003", "name": "Shipped", "group": "fulfillment"},
    {"id": "9a1b2c3d-0000-4000-8000-000000000004", "name": "Delivered", "group": "fulfillment"},
]


# -- the server's own little query language (query_string subset) ---------------------------------


def _parse_when(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def q_matches(q: str, rec: dict[str, Any]) -> bool:
    """``field:value`` and ``field:[a TO b]`` terms joined by AND, as Elasticsearch reads
    them (date-only bounds are midnight UTC; an inclusive date-only upper bound covers the
    day). Unknown fields match nothing."""
    for term in q.split(" AND "):
        name, _, value = term.strip().partition(":")
        actual = rec.get(name)
        if actual is None and isinstance(rec.get("tracking_info"), dict):
            actual = rec["tracking_info"].get(name)
        if value.startswith(("[", "{")):
            low_text, _, high_text = value[1:-1].partition(" TO ")
            when = _parse_when(str(actual)) if actual is not None else None
            if when is None:
                return False
            if low_text.strip() != "*":
                low = _parse_when(low_text.strip())
                if low is None or when < low or (value[0] == "{" and when == low):
                    return False
            if high_text.strip() != "*":
                high_raw = high_text.strip()
                high = _parse_when(high_raw)
                if high is None:
                    return False
                if len(high_raw) == 10 and value[-1] == "]":
                    high += timedelta(days=1) - timedelta(microseconds=1)
                if when > high or (value[-1] == "}" and when == high):
                    return False
        elif actual is None or str(actual).lower() != value.strip('"').lower():
            return False
    return True


# -- the API --------------------------------------------------------------------------------------


@dataclass
class HostileOKC:
    """The OKC API, hostile within what the references allow. Knobs are plain attributes."""

    records: list[dict[str, Any]] = field(default_factory=list)
    base: str = "https://na1-hostile.okcapsule.test"  # what absolute `next` URLs point at

    # auth
    login_key: str = "email"  # "username", "email", or "either"
    login_422: str = "auth"  # the 422 body shape for the wrong key: "auth" or "spec"
    login_400: bool = False  # answer the wrong key with 400 (docs envelope) instead of 422
    expires_in: Any = "86400"  # MISSING: not sent
    permissions: bool = True
    wrap_token: str | None = None  # put the token response under this key ("data", …)
    refresh: str = "keep"  # "keep" (no new refresh token), "rotate", "revoked"
    unauthorized: str = "spec"  # body shape of a 401 (UNAUTHORIZED_BODIES)
    echo_token_in_401: bool = False  # a debug-minded server that quotes the token back
    static_tokens: set[str] = field(default_factory=lambda: {STATIC_TOKEN})
    password: str = PASSWORD  # change it to play an admin resetting the password mid-run

    # listing
    envelope: str = (
        "next_cursor"  # next_cursor|cursor|pagination|meta|next_url|next_path|links|none
    )
    cursor_kind: str = "opaque"  # "opaque" (base64 with +/=) or "last_id" (a record id)
    cursor_param: str = "cursor"  # the query parameter a next URL carries the cursor in
    has_more: bool = False  # also say has_more (inside meta for "meta", else top level)
    last_page_cursor: str | None = None  # None | "repeat" (the request's) | "beyond" (a new one)
    null_records_past_end: bool = False  # the page past the end is {"fulfillments": null}
    ignore_limit: bool = False  # always 20 a page (the docs' default)
    page_extra: int = 0  # pages this much larger than asked for
    max_limit: int = 250  # 422 above it
    boundary_repeat: bool = False  # each page starts with the previous page's last record
    count_mode: str = "ok"  # ok|missing|more|less|text|float
    ignore_q: bool = False
    ignore_order_id: bool = False
    ignore_cursor: bool = False  # always the first page (a broken server)
    list_key: str = "fulfillments"
    single_envelope: bool = True  # {"fulfillment": …} (else the bare object)

    faults: dict[str, Callable[[Req, int], Reply | None]] = field(default_factory=dict)
    log: list[Req] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    issued: int = 0
    logins: int = 0  # successful ones
    refresh_tokens_seen: list[str] = field(default_factory=list)
    login_bodies: list[dict[str, Any]] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    refresh_valid: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.records.sort(key=lambda r: str(r.get("id")))
        self.valid |= self.static_tokens

    # -- dispatch ---------------------------------------------------------------------------

    @staticmethod
    def route(method: str, path: str) -> str:
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["v2", "orders"] and parts[3] == "fulfillments":
            return f"{method} /v2/orders/{{id}}/fulfillments"
        if len(parts) == 3 and parts[:2] == ["v2", "fulfillments"] and parts[2] != "count":
            return f"{method} /v2/fulfillments/{{id}}"
        if len(parts) == 4 and parts[:2] == ["v2", "fulfillments"] and parts[3] == "label":
            return f"{method} /v2/fulfillments/{{id}}/label"
        return f"{method} {path}"

    def handle(self, req: Req) -> Reply:
        key = self.route(req.method, req.path)
        with self._lock:
            self.log.append(req)
            self.calls[key] += 1
            n = self.calls[key]
        fault = self.faults.get(key)
        if fault is not None:
            reply = fault(req, n)
            if reply is not None:
                return reply
        with self._lock:
            return self._serve(req, key)

    def _serve(self, req: Req, key: str) -> Reply:
        parts = req.path.strip("/").split("/")
        if parts[0] == "v1":
            return Reply(
                410,
                json={
                    "error": {
                        "errorCode": "OKCAPI_V1_DEPRECATED",
                        "message": "API v1 is deprecated; use v2",
                    }
                },
            )
        if parts[0] != "v2":
            return Reply(400, json={"message": "API version is incorrect or not specified"})
        if req.method == "POST":
            return self._auth(req, key)
        if req.method != "GET":
            return Reply(405, json=docs_error(405, "Method not allowed"))
        token = req.headers.get("authorization", "")
        if not token.startswith("Bearer ") or token[7:] not in self.valid:
            reply = UNAUTHORIZED_BODIES[self.unauthorized]
            if self.echo_token_in_401:
                return Reply(401, json={"message": f"token {token[7:]} is not valid"})
            return reply
        if key == "GET /v2/statuses":
            return Reply(200, json={"statuses": STATUSES})
        if key == "GET /v2/fulfillments/count":
            return self._count(req)
        if key == "GET /v2/fulfillments":
            return self._list(req, self._select(req, order=req.arg("order_id")))
        if key == "GET /v2/orders/{id}/fulfillments":
            return self._list(req, self._select(req, order=unquote(parts[2]), by_path=True))
        if key == "GET /v2/fulfillments/{id}":
            found = [r for r in self.records if r.get("id") == unquote(parts[2])]
            if not found:
                return Reply(404, json=spec_error("Fulfillment not found", "RESOURCE_NOT_FOUND"))
            return Reply(200, json={"fulfillment": found[0]} if self.single_envelope else found[0])
        if key == "GET /v2/fulfillments/{id}/label":
            now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            return Reply(
                200, json={"label_url": LABEL.format(id=parts[2], date=now, n=self.issued)}
            )
        return Reply(404, json=spec_error(f"Cannot GET {req.path}", "ROUTE_NOT_FOUND"))

    # -- auth -------------------------------------------------------------------------------

    def _auth(self, req: Req, key: str) -> Reply:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return Reply(400, json=docs_error(400, "Body is not JSON"))
        if key == "POST /v2/authentication/token":
            self.login_bodies.append({k: v for k, v in body.items() if k != "password"})
            wanted = ["username", "email"] if self.login_key == "either" else [self.login_key]
            given = [k for k in wanted if k in body]
            if not given:
                message = f'"{wanted[0]}" is required'
                if self.login_400:
                    return Reply(
                        400,
                        json=docs_error(400, message, [{"field": wanted[0], "message": message}]),
                    )
                shape = auth_validation_error if self.login_422 == "auth" else validation_error
                return Reply(422, json=shape(message))
            if body[given[0]] != EMAIL or body.get("password") != self.password:
                return Reply(
                    401,
                    json=spec_error("Incorrect username or password.", "NotAuthorizedException"),
                )
            self.logins += 1
            return Reply(200, json=self._issue(refresh=True))
        if key == "POST /v2/authentication/refresh-token":
            token = str(body.get("refresh_token", ""))
            self.refresh_tokens_seen.append(token)
            if self.refresh == "revoked" or token not in self.refresh_valid:
                return Reply(
                    401, json=spec_error("Refresh Token has been revoked", "NotAuthorizedException")
                )
            return Reply(200, json=self._issue(refresh=self.refresh == "rotate"))
        return Reply(404, json=spec_error(f"Cannot POST {req.path}", "ROUTE_NOT_FOUND"))

    def _issue(self, *, refresh: bool) -> Any:
        self.issued += 1
        token = f"eyJhbGciOi.{self.issued}.hostile-5ecret"
        self.valid = set(self.static_tokens) | {token}  # earlier issued tokens stop working
        body: dict[str, Any] = {
            "access_token": token,
            "id_token": f"id-{self.issued}",
            "token_type": "Bearer",
        }
        if self.expires_in is not MISSING:
            body["expires_in"] = self.expires_in
        if self.permissions:
            body["permissions"] = "orders/read,fulfillments/read"
        if refresh:
            new = f"refresh-{self.issued}-5ecret"
            self.refresh_valid = {new} if self.refresh == "rotate" else self.refresh_valid | {new}
            body["refresh_token"] = new
        return {self.wrap_token: body} if self.wrap_token else body

    def expire_tokens(self) -> None:
        """Every access token stops working (as after 24 h); refresh tokens still do."""
        with self._lock:
            self.valid = set()

    # -- listing ----------------------------------------------------------------------------

    def _select(
        self, req: Req, *, order: str | None, by_path: bool = False
    ) -> list[dict[str, Any]]:
        rows = self.records
        if order is not None and (by_path or not self.ignore_order_id):
            rows = [r for r in rows if r.get("order_id") == order]
        q = req.arg("q")
        if q and not self.ignore_q:
            rows = [r for r in rows if q_matches(q, r)]
        return rows

    def _count(self, req: Req) -> Reply:
        n = len(self._select(req, order=req.arg("order_id")))
        mode = self.count_mode
        if mode == "missing":
            return Reply(
                404, json=spec_error("Cannot GET /v2/fulfillments/count", "ROUTE_NOT_FOUND")
            )
        value: Any = {"more": n + 3, "less": max(n - 3, 0), "text": str(n), "float": f"{n}.0"}.get(
            mode, n
        )
        return Reply(200, json={"count": value})

    def encode_cursor(self, position: int, rows: list[dict[str, Any]]) -> str:
        """The cursor of the page starting at ``position``: opaque base64, or (``cursor_kind
        = "last_id"``) the id of the record before it."""
        if self.cursor_kind == "last_id" and 0 < position <= len(rows):
            return str(rows[position - 1]["id"])
        payload = _CURSOR_MAGIC + json.dumps({"p": position}).encode()
        return base64.b64encode(payload).decode()

    def decode_cursor(self, text: str, rows: list[dict[str, Any]]) -> int | None:
        if self.cursor_kind == "last_id":
            for n, row in enumerate(rows):
                if str(row.get("id")) == text:
                    return n + 1
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
        if not raw.startswith(_CURSOR_MAGIC):
            return None
        try:
            return int(json.loads(raw[len(_CURSOR_MAGIC) :])["p"])
        except (ValueError, KeyError, TypeError):
            return None

    def _list(self, req: Req, rows: list[dict[str, Any]]) -> Reply:
        raw_limit = req.arg("limit")
        try:
            limit = int(raw_limit) if raw_limit is not None else 20
        except ValueError:
            return Reply(422, json=validation_error('"limit" must be a number'))
        if not 1 <= limit <= self.max_limit:
            return Reply(
                422,
                json=validation_error(f'"limit" must be less than or equal to {self.max_limit}'),
            )
        if self.ignore_limit:
            limit = 20
        size = limit + self.page_extra
        cursor = req.arg(
            self.cursor_param if self.envelope in ("next_url", "next_path") else "cursor"
        )
        start = 0
        if cursor is not None and not self.ignore_cursor:
            position = self.decode_cursor(cursor, rows)
            if position is None:
                return Reply(
                    400,
                    json=docs_error(
                        400, "Invalid cursor", [{"field": "cursor", "message": "malformed"}]
                    ),
                )
            start = position
        if start > len(rows) or (start == len(rows) and rows and self.null_records_past_end):
            page: list[dict[str, Any]] | None = None if self.null_records_past_end else []
        else:
            page = rows[start : start + size]
            if self.boundary_repeat and start > 0:
                page = [rows[start - 1], *page]
        end = start + size
        more = end < len(rows)
        next_cursor: str | None = self.encode_cursor(end, rows) if more else None
        if not more and self.last_page_cursor == "repeat":
            next_cursor = cursor if cursor is not None else self.encode_cursor(0, rows)
        elif not more and self.last_page_cursor == "beyond":
            next_cursor = self.encode_cursor(max(end, len(rows)) + 1, rows)
        return Reply(200, json=self._envelope(req, page, next_cursor, more))

    def _envelope(self, req: Req, page: Any, next_cursor: str | None, more: bool) -> Any:
        body: dict[str, Any] = {self.list_key: page}
        style = self.envelope
        if style in ("next_cursor", "cursor"):
            body[style] = next_cursor
        elif style == "pagination":
            body["pagination"] = {"next_cursor": next_cursor, "limit": req.arg("limit")}
        elif style == "meta":
            body["meta"] = {"next_cursor": next_cursor, "has_more": more}
        elif style in ("next_url", "next_path", "links"):
            url = None
            if next_cursor is not None:
                params = {
                    k: v[0] for k, v in req.query.items() if k not in ("cursor", self.cursor_param)
                }
                params[self.cursor_param] = next_cursor
                url = f"{req.path}?{urlencode(params, quote_via=quote)}"
                if style != "next_path":
                    url = self.base + url
            if style == "links":
                body["links"] = {"next": url}
            else:
                body["next"] = url
        if self.has_more and style != "meta":
            body["has_more"] = more
        return body

    # -- running ----------------------------------------------------------------------------

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._mock)

    def _mock(self, request: httpx.Request) -> httpx.Response:
        raw_path, _, raw_query = request.url.raw_path.decode("ascii").partition("?")
        req = Req(
            method=request.method,
            path=unquote(raw_path),
            raw_path=raw_path,
            raw_query=raw_query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.read(),
        )
        reply = self.handle(req)
        if reply.action in ("close", "reset"):
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if reply.action == "raw":
            raise httpx.RemoteProtocolError("illegal status line")
        if reply.action == "partial":
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            )
        if reply.action in ("hang", "trickle"):
            raise httpx.ReadTimeout("timed out")
        body, headers = reply.encoded()
        return httpx.Response(reply.status, headers=headers, content=body)

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Run on a loopback socket; yields the base URL (``http://127.0.0.1:PORT``)."""
        server = _SocketServer(self.handle)
        try:
            self.base = server.base_url
            yield server.base_url
        finally:
            server.stop()


class _SocketServer:
    """HTTP/1.1 on bare sockets (keep-alive, one thread per connection), so that replies can
    break the protocol in ways a framework would not allow."""

    def __init__(self, handler: Callable[[Req], Reply]) -> None:
        self.handler = handler
        self.stopping = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.close()
        self.sock.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        buffer = b""
        try:
            while not self.stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        if self.stopping.is_set():
                            return
                        continue
                    if not chunk:
                        return
                    buffer += chunk
                    if buffer[:1] == b"\x16":  # a TLS ClientHello on a plain-HTTP port
                        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                        return
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                raw_path, _, raw_query = target.partition("?")
                req = Req(method, unquote(raw_path), raw_path, raw_query, headers, body)
                if not self._reply(conn, self.handler(req)):
                    return
                if headers.get("connection", "").lower() == "close":
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _reply(self, conn: socket.socket, reply: Reply) -> bool:
        """Send ``reply``; whether the connection stays usable."""
        if reply.action == "close":
            return False
        if reply.action == "reset":
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            return False
        if reply.action == "raw":  # bytes that are not HTTP (a TLS alert, say), then close
            conn.sendall(reply.body)
            return False
        if reply.action == "hang":
            self.stopping.wait(30)
            return False
        body, headers = reply.encoded()
        phrase = (
            HTTPStatus(reply.status).phrase
            if reply.status in HTTPStatus._value2member_map_
            else "Unknown"
        )
        head = [f"HTTP/1.1 {reply.status} {phrase}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if reply.action == "partial":
            conn.sendall(body[: len(body) // 2])
            time.sleep(0.01)
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            return False
        if reply.action == "trickle":
            for byte in body:
                if self.stopping.wait(reply.trickle):
                    return False
                conn.sendall(bytes([byte]))
            return True
        conn.sendall(body)
        if reply.close_after:
            time.sleep(0.05)  # let the answer arrive before the FIN
            return False
        return True
