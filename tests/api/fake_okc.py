"""A small in-memory OKC API for ``httpx.MockTransport``: enough to test the client's logic
(auth, retries, cursors) without sockets. The real-socket tests use ``okc_recon.sandbox``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

TOKEN = "tok-static-5ecret"
USERNAME = "analyst@example.com"
PASSWORD = "pa55-w0rd-5ecret"
LABEL = "https://okc-labels.s3.amazonaws.com/l/{id}.pdf?X-Amz-Expires=900&X-Amz-Signature=5ig{n}"


def make_record(i: int, order: int | None = None) -> dict[str, Any]:
    return {
        "id": f"f{i:05d}",
        "order_id": f"o{(i // 2 if order is None else order):05d}",
        "consumer_id": f"c{i:05d}",
        "status_id": 3,
        "tracking_info": {
            "shipping_carrier": "UPS",
            "shipping_method": "Ground",
            "tracking_number": f"1Z999AA1{i:010d}",
            "tracking_url": "https://www.ups.com/track",
        },
        "shipping_net_charge": 10 + i / 100,
        "shipping_charge_model": "FLAT_RATE",
        "weight": 1.5,
        "created_at": "2025-10-01T10:00:00Z",
        "updated_at": "2025-10-02T10:00:00Z",
        "pickup_date": "2025-10-02T09:00:00Z",
        "delivery_date": None,
        "label_url": LABEL.format(id=i, n=i),
        "order_lines": [{"id": f"ol{i}", "name": "Monthly Pack"}],
    }


@dataclass
class FakeOKC:
    """Serve ``records``; knobs for the cursor envelope and misbehaviour."""

    records: list[dict[str, Any]] = field(default_factory=list)
    cursor_style: str = "next_cursor"  # next_cursor|cursor|next|pagination|meta|none
    page_cap: int | None = None
    repeat_last_cursor: bool = False
    ignore_cursor: bool = False  # a broken server: always the first page
    count_offset: int = 0  # /count lies by this much
    accept_token: str = TOKEN
    username: str = USERNAME
    password: str = PASSWORD
    login_key: str = "username"  # which body key the token endpoint accepts
    expires_in: Any = "3600"
    rotate_refresh: bool = False
    refuse_refresh: bool = False
    #: (method, path) -> callable(request, attempt) -> Response | None (None: serve normally)
    faults: dict[str, Callable[[httpx.Request, int], httpx.Response | None]] = field(
        default_factory=dict
    )
    log: list[httpx.Request] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    issued: int = 0
    refresh_tokens_seen: list[str] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.valid_tokens.add(self.accept_token)
        self.records.sort(key=lambda r: str(r.get("id")))

    # -- transport --------------------------------------------------------------------------

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def route(self, request: httpx.Request) -> str:
        parts = request.url.path.strip("/").split("/")
        if len(parts) == 4 and parts[1] == "orders" and parts[3] == "fulfillments":
            return "/v2/orders/{id}/fulfillments"
        if len(parts) == 3 and parts[1] == "fulfillments" and parts[2] != "count":
            return "/v2/fulfillments/{id}"
        if len(parts) == 4 and parts[1] == "fulfillments" and parts[3] == "label":
            return "/v2/fulfillments/{id}/label"
        return request.url.path

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        route = self.route(request)
        key = f"{request.method} {route}"
        self.calls[key] += 1
        fault = self.faults.get(key)
        if fault is not None:
            response = fault(request, self.calls[key])
            if response is not None:
                return response
        if request.method == "POST":
            return self.auth(request, route)
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in (
            self.valid_tokens
        ):
            return httpx.Response(401, json={"error": {"message": "Unauthorized"}})
        params = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        parts = request.url.path.strip("/").split("/")
        if route == "/v2/statuses":
            return httpx.Response(
                200,
                json={"statuses": [{"id": 3, "name": "Shipped", "group": "fulfillment"}]},
            )
        if route == "/v2/fulfillments/count":
            return httpx.Response(
                200, json={"count": str(len(self.select(params)) + self.count_offset)}
            )
        if route == "/v2/fulfillments":
            return httpx.Response(200, json=self.list_body(params))
        if route == "/v2/orders/{id}/fulfillments":
            return httpx.Response(200, json=self.list_body({**params, "order_id": parts[2]}))
        if route == "/v2/fulfillments/{id}":
            found = [r for r in self.records if r.get("id") == parts[2]]
            if not found:
                return httpx.Response(
                    404,
                    json={
                        "statusCode": 404,
                        "error": "Not Found",
                        "message": "No such fulfillment",
                    },
                )
            return httpx.Response(200, json={"fulfillment": found[0]})
        if route == "/v2/fulfillments/{id}/label":
            return httpx.Response(
                200, json={"label_url": LABEL.format(id=parts[2], n=self.calls[key])}
            )
        return httpx.Response(404, json={"message": "no route"})

    def auth(self, request: httpx.Request, route: str) -> httpx.Response:
        body = json.loads(request.content)
        if route == "/v2/authentication/token":
            if self.login_key not in body:
                return httpx.Response(
                    422,
                    json={
                        "error": {
                            "message": "Validation error",
                            "errors": [
                                {
                                    "message": f'"{self.login_key}" is required',
                                    "type": "any.required",
                                }
                            ],
                        }
                    },
                )
            if body[self.login_key] != self.username or body.get("password") != self.password:
                return httpx.Response(
                    401, json={"error": {"message": "Incorrect username or password."}}
                )
            return httpx.Response(200, json=self.issue(refresh=True))
        if route == "/v2/authentication/refresh-token":
            self.refresh_tokens_seen.append(body.get("refresh_token"))
            if self.refuse_refresh or not str(body.get("refresh_token", "")).startswith("refresh-"):
                return httpx.Response(401, json={"error": {"message": "Invalid refresh token"}})
            return httpx.Response(200, json=self.issue(refresh=self.rotate_refresh))
        return httpx.Response(404, json={"message": "no route"})

    def issue(self, *, refresh: bool) -> dict[str, Any]:
        self.issued += 1
        token = f"issued-{self.issued}-5ecret"
        self.valid_tokens = {token}  # older tokens stop working
        body: dict[str, Any] = {
            "access_token": token,
            "id_token": f"id-{self.issued}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "permissions": "fulfillments/read",
        }
        if refresh:
            body["refresh_token"] = f"refresh-{self.issued}-5ecret"
        return body

    # -- listing ----------------------------------------------------------------------------

    def select(self, params: dict[str, str]) -> list[dict[str, Any]]:
        order = params.get("order_id")
        return [r for r in self.records if order is None or r.get("order_id") == order]

    def list_body(self, params: dict[str, Any]) -> dict[str, Any]:
        rows = self.select(params)
        limit = int(params.get("limit", 20))
        if self.page_cap is not None:
            limit = min(limit, self.page_cap)
        cursor = params.get("cursor")
        after = None if cursor is None or self.ignore_cursor else str(cursor).removeprefix("c:")
        start = 0
        if after:
            start = next(
                (i + 1 for i, r in enumerate(rows) if str(r.get("id")) == after), len(rows)
            )
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        next_cursor: str | None = f"c:{page[-1]['id']}" if more and page else None
        if not more and self.repeat_last_cursor:
            next_cursor = cursor if cursor is not None else "c:"
        body: dict[str, Any] = {"fulfillments": page}
        style = self.cursor_style
        if style in ("next_cursor", "cursor"):
            body[style] = next_cursor
        elif style == "next":
            body["next"] = (
                None
                if next_cursor is None
                else f"https://okc.test/v2/fulfillments?cursor={next_cursor}&limit={limit}"
            )
        elif style == "pagination":
            body["pagination"] = {"next_cursor": next_cursor}
        elif style == "meta":
            body["meta"] = {"next_cursor": next_cursor, "has_more": more}
        return body
