"""The sandbox server over real sockets: every endpoint, fault, cursor style and error shape."""

from __future__ import annotations

import email.utils
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from okc_recon.sandbox import CURSOR_STYLES, Faults, Sandbox, World, generate
from okc_recon.sandbox.generator import fulfillments_for
from tests.sandbox.conftest import SMALL


def _next_cursor(body: dict[str, Any], style: str) -> str | None:
    if style in ("next_cursor", "cursor", "next"):
        return body[style]
    if style == "pagination":
        return body["pagination"]["next_cursor"]
    if style == "meta":
        assert body["meta"]["has_more"] is (body["meta"]["next_cursor"] is not None)
        return body["meta"]["next_cursor"]
    assert not {"next_cursor", "cursor", "next", "pagination", "meta"} & set(body)
    return None


def _walk(
    client: httpx.Client, style: str, limit: int, path: str = "/v2/fulfillments", **params: str
) -> list[dict[str, Any]]:
    """Every record of a list, following the cursor the way a careful client does."""
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query: dict[str, Any] = {"limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()["fulfillments"]
        records += page
        if style == "none":
            ids = [r["id"] for r in page if r.get("id")]
            if len(page) < limit or not ids:
                return records
            cursor = ids[-1]
        else:
            cursor = _next_cursor(response.json(), style)
            if cursor is None:
                return records
    raise AssertionError("the walk did not end")


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in records if r.get("id")]


# --- authentication -------------------------------------------------------------------------


def test_token_accepts_username_or_email_and_grants_reads(sb: Sandbox) -> None:
    for key in ("username", "email"):
        response = httpx.post(
            f"{sb.base_url}/v2/authentication/token",
            json={key: sb.username, "password": sb.password},
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {
            "access_token",
            "id_token",
            "refresh_token",
            "token_type",
            "expires_in",
            "permissions",
        }
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 86400
        assert "fulfillments/read" in body["permissions"].split(",")
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        assert httpx.get(f"{sb.base_url}/v2/statuses", headers=headers).status_code == 200


def test_wrong_or_missing_credentials(sb: Sandbox) -> None:
    url = f"{sb.base_url}/v2/authentication/token"
    wrong = httpx.post(url, json={"username": sb.username, "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Incorrect username or password."
    missing = httpx.post(url, json={"username": sb.username})
    assert missing.status_code == 422
    assert missing.json()["details"] == [{"field": "password", "message": '"password" is required'}]
    assert httpx.post(url, content=b"not json").status_code == 400


def test_refresh_issues_a_new_working_token(sb: Sandbox) -> None:
    tokens = httpx.post(
        f"{sb.base_url}/v2/authentication/token",
        json={"username": sb.username, "password": sb.password},
    ).json()
    refreshed = httpx.post(
        f"{sb.base_url}/v2/authentication/refresh-token",
        json={"refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["access_token"] != tokens["access_token"]
    assert "refresh_token" not in body  # not rotated: clients keep the one they have
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(f"{sb.base_url}/v2/statuses", headers=headers).status_code == 200
    bad = httpx.post(
        f"{sb.base_url}/v2/authentication/refresh-token", json={"refresh_token": "forged"}
    )
    assert bad.status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
def test_reads_need_a_valid_bearer_token(sb: Sandbox, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{sb.base_url}/v2/fulfillments", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert sb.stats.faults["unauthorized"] == 1


def test_token_ttl_expires_issued_tokens_not_the_static_one(sb: Sandbox) -> None:
    sb.set_faults(Faults(token_ttl=0.3))
    body = httpx.post(
        f"{sb.base_url}/v2/authentication/token",
        json={"username": sb.username, "password": sb.password},
    ).json()
    assert body["expires_in"] == 1
    issued = {"Authorization": f"Bearer {body['access_token']}"}
    static = {"Authorization": f"Bearer {sb.access_token}"}
    assert httpx.get(f"{sb.base_url}/v2/statuses", headers=issued).status_code == 200
    time.sleep(0.4)
    expired = httpx.get(f"{sb.base_url}/v2/statuses", headers=issued)
    assert expired.status_code == 401
    assert "expired" in expired.json()["message"]
    assert sb.stats.faults["token_expired"] == 1
    assert httpx.get(f"{sb.base_url}/v2/statuses", headers=static).status_code == 200


def test_expires_in_as_string(sb: Sandbox) -> None:
    sb.set_faults(Faults(expires_in_as_string=True))
    body = httpx.post(
        f"{sb.base_url}/v2/authentication/token",
        json={"username": sb.username, "password": sb.password},
    ).json()
    assert body["expires_in"] == "86400"


# --- resources ------------------------------------------------------------------------------


def test_statuses_with_q(client: httpx.Client, small_world: World) -> None:
    every = client.get("/v2/statuses").json()["statuses"]
    assert every == list(small_world.statuses)
    groups = client.get("/v2/statuses", params={"q": "group:fulfillment"}).json()["statuses"]
    assert {s["group"] for s in groups} == {"fulfillment"}
    assert {"Delivered", "Canceled", "Shipped"} <= {s["name"] for s in groups}
    one = client.get("/v2/statuses", params={"q": 'name:"Canceled by Client"'}).json()
    assert [s["name"] for s in one["statuses"]] == ["Canceled by Client"]


def test_orders_list_detail_and_their_fulfillments(
    client: httpx.Client, small_world: World
) -> None:
    first = client.get("/v2/orders", params={"limit": 5}).json()
    assert len(first["orders"]) == 5
    assert first["next_cursor"]
    ids = sorted(o["id"] for o in small_world.orders)
    assert [o["id"] for o in first["orders"]] == ids[:5]
    order = small_world.orders[7]
    assert client.get(f"/v2/orders/{order['id']}").json() == {"order": order}
    served = client.get(f"/v2/orders/{order['id']}/fulfillments").json()["fulfillments"]
    expected = [f for f in small_world.fulfillments if f["order_id"] == order["id"]]
    assert sorted(_ids(served)) == sorted(_ids(expected))
    assert len(served) == len(expected)
    assert client.get("/v2/orders/no-such-order").status_code == 404
    assert client.get("/v2/orders/no-such-order/fulfillments").status_code == 404


@pytest.mark.parametrize("style", CURSOR_STYLES)
def test_every_cursor_style_walks_every_record_once(
    client: httpx.Client, sb: Sandbox, small_world: World, style: str
) -> None:
    sb.set_faults(Faults(cursor_style=style))
    records = _walk(client, style, limit=47)
    expected = sorted(_ids(list(small_world.fulfillments)))
    ids = _ids(records)
    assert ids == expected  # keyset order, no record twice
    without_id = [r for r in records if not r.get("id")]
    assert len(without_id) == sum(1 for f in small_world.fulfillments if "id" not in f)


def test_records_are_served_as_generated_with_a_fresh_label(
    client: httpx.Client, small_world: World
) -> None:
    served = {r["id"]: r for r in _walk(client, "next_cursor", limit=250) if r.get("id")}
    for record in small_world.fulfillments:
        if "id" not in record:
            continue
        got = served[record["id"]]
        assert {k: v for k, v in got.items() if k != "label_url"} == {
            k: v for k, v in record.items() if k != "label_url"
        }
        if record["label_url"]:
            assert got["label_url"] != record["label_url"]


def test_page_size_cap_shortens_pages_but_keeps_the_cursor(
    client: httpx.Client, sb: Sandbox, small_world: World
) -> None:
    sb.set_faults(Faults(page_size_cap=20))
    body = client.get("/v2/fulfillments", params={"limit": 100}).json()
    assert len(body["fulfillments"]) == 20
    assert body["next_cursor"] is not None
    assert len(_walk(client, "next_cursor", limit=100)) == len(small_world.fulfillments)


def test_repeat_last_cursor_points_at_the_last_page_again(
    client: httpx.Client, sb: Sandbox, small_world: World
) -> None:
    sb.set_faults(Faults(repeat_last_cursor=True))
    total = len(small_world.fulfillments)
    cursor, seen = None, 0
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/v2/fulfillments", params=params).json()
        seen += len(body["fulfillments"])
        assert body["next_cursor"] is not None
        if seen >= total:
            break
        cursor = body["next_cursor"]
    again = client.get("/v2/fulfillments", params={"limit": 200, "cursor": body["next_cursor"]})
    assert _ids(again.json()["fulfillments"]) == _ids(body["fulfillments"])
    assert len(again.json()["fulfillments"]) == len(body["fulfillments"])
    assert again.json()["next_cursor"] == body["next_cursor"]
    single = client.get("/v2/fulfillments", params={"limit": 250, "q": "status_id:26"}).json()
    assert single["next_cursor"] is not None  # a one-page list points at itself too


def test_cursor_can_be_opaque_or_a_raw_id(client: httpx.Client) -> None:
    first = client.get("/v2/fulfillments", params={"limit": 10}).json()
    last_id = first["fulfillments"][-1]["id"]
    by_cursor = client.get("/v2/fulfillments", params={"limit": 10, "cursor": first["next_cursor"]})
    by_id = client.get("/v2/fulfillments", params={"limit": 10, "cursor": last_id})
    assert _ids(by_cursor.json()["fulfillments"]) == _ids(by_id.json()["fulfillments"])
    assert _ids(by_id.json()["fulfillments"])[0] > last_id
    bad = client.get("/v2/fulfillments", params={"cursor": "ck_%%%"})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("limit", "rule"), [("0", "1"), ("251", "250"), ("abc", "number"), ("-3", "1")]
)
def test_limit_outside_1_to_250_is_a_validation_error(
    client: httpx.Client, limit: str, rule: str
) -> None:
    response = client.get("/v2/fulfillments", params={"limit": limit})
    assert response.status_code == 422
    assert rule in response.json()["details"][0]["message"]


def test_default_limit_is_50(client: httpx.Client) -> None:
    assert len(client.get("/v2/fulfillments").json()["fulfillments"]) == 50


def test_count_and_order_filters(client: httpx.Client, small_world: World) -> None:
    assert client.get("/v2/fulfillments/count").json() == {"count": len(small_world.fulfillments)}
    order_id = next(o["id"] for o in small_world.orders if len(o["order_lines"]) > 1)
    expected = sorted(_ids([f for f in small_world.fulfillments if f["order_id"] == order_id]))
    by_param = client.get("/v2/fulfillments", params={"order_id": order_id}).json()
    by_q = client.get("/v2/fulfillments", params={"q": f"order_id:{order_id}"}).json()
    assert _ids(by_param["fulfillments"]) == expected == _ids(by_q["fulfillments"])
    count = client.get("/v2/fulfillments/count", params={"order_id": order_id}).json()
    assert count == {"count": len(expected)}


def _pickups(world: World) -> list[tuple[datetime, dict[str, Any]]]:
    """Parseable pickup dates (a bad record's is not a date) with their records."""
    found = []
    for record in world.fulfillments:
        try:
            found.append((datetime.fromisoformat(record["pickup_date"]), record))
        except (TypeError, ValueError):
            continue
    return found


def test_q_ranges_on_dates(client: httpx.Client, small_world: World) -> None:
    month = SMALL.month_list[1]
    assert month == "2025-08"
    pickups = _pickups(small_world)

    def count(q: str) -> int:
        response = client.get("/v2/fulfillments/count", params={"q": q})
        assert response.status_code == 200, response.text
        return int(response.json()["count"])

    def expected(test: Any) -> int:
        return sum(1 for when, record in pickups if test(when, record))

    in_month = expected(lambda w, r: (w.year, w.month) == (2025, 8))
    assert in_month > 100
    assert count("pickup_date:[2025-08-01 TO 2025-08-31]") == in_month
    assert count("pickup_date:[2025-08-01T00:00:00Z TO 2025-08-31T23:59:59.999Z]") == in_month
    assert count("pickup_date:[2025-08-01 TO *]") == in_month  # nothing picked up later
    assert count("pickup_date:{2025-08-01 TO 2025-08-31]") == expected(
        lambda w, r: (w.year, w.month) == (2025, 8) and w.day > 1
    )
    assert count("pickup_date:[2025-08-05T21:00:00Z TO 2025-08-05T22:00:00Z}") == expected(
        lambda w, r: w.date().isoformat() == "2025-08-05" and w.hour == 21
    )
    assert count("pickup_date:2025-08-05") == expected(
        lambda w, r: w.date().isoformat() == "2025-08-05"
    )
    delivered = next(
        s["id"]
        for s in small_world.statuses
        if (s["group"], s["name"]) == ("fulfillment", "Delivered")
    )
    both = expected(lambda w, r: w.month == 8 and r["status_id"] == delivered)
    q = f"status_id:{delivered} AND pickup_date:[2025-08-01 TO 2025-08-31]"
    assert count(q) == both
    assert 0 < both < in_month
    created = sum(1 for f in small_world.fulfillments if f["created_at"] < "2025-07-15")
    assert count("created_at:[* TO 2025-07-15}") == created


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("colour:blue", '"colour" is not filterable'),
        ("pickup_date:[2025-13-01 TO *]", "not a valid date"),
        ("pickup_date:[yesterday TO *]", "not a date"),
        ("just words", "expected field:value"),
        ("order_id:[a TO b]", "does not take a range"),
    ],
)
def test_bad_q_is_a_validation_error(client: httpx.Client, q: str, message: str) -> None:
    response = client.get("/v2/fulfillments", params={"q": q})
    assert response.status_code == 422
    assert message in response.json()["details"][0]["message"]


def test_fulfillment_detail_and_fresh_labels(client: httpx.Client, small_world: World) -> None:
    record = next(f for f in small_world.fulfillments if f.get("label_url"))
    body = client.get(f"/v2/fulfillments/{record['id']}").json()
    assert set(body) == {"fulfillment"}
    assert body["fulfillment"]["tracking_info"] == record["tracking_info"]
    first = client.get(f"/v2/fulfillments/{record['id']}/label").json()["label_url"]
    second = client.get(f"/v2/fulfillments/{record['id']}/label").json()["label_url"]
    assert first != second
    query = parse_qs(urlsplit(first).query)
    assert query["X-Amz-Expires"] == ["900"]
    assert len(query["X-Amz-Signature"][0]) == 64
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - signed).total_seconds()) < 60
    unlabelled = next(f for f in small_world.fulfillments if f.get("id") and not f["label_url"])
    assert client.get(f"/v2/fulfillments/{unlabelled['id']}/label").status_code == 404
    assert client.get("/v2/fulfillments/nope").status_code == 404


def test_paths_outside_v2_and_unknown_ones(client: httpx.Client) -> None:
    outside = client.get("/fulfillments")
    assert outside.status_code == 400
    assert outside.json()["message"] == "API version is incorrect or not specified"
    assert client.get("/v2/shipments").status_code == 404
    assert client.post("/v2/fulfillments", json={}).status_code == 405
    assert client.delete("/v2/fulfillments/x").status_code == 405


@pytest.mark.parametrize(
    ("shape", "check"),
    [
        ("docs", lambda b: b["statusCode"] == 404 and b["error"] == "Not Found" and b["message"]),
        (
            "spec",
            lambda b: b["error"]["errorCode"] == "RESOURCE_NOT_FOUND" and b["error"]["message"],
        ),
        ("validation", lambda b: b["message"] and b["errors"][0]["type"]),
        ("auth", lambda b: b["error"]["message"] and b["error"]["errors"] == []),
    ],
)
def test_error_shapes(client: httpx.Client, sb: Sandbox, shape: str, check: Any) -> None:
    sb.set_faults(Faults(error_shape=shape))
    response = client.get("/v2/fulfillments/nope")
    assert response.status_code == 404
    assert check(response.json())
    invalid = client.get("/v2/fulfillments", params={"limit": 999}).json()
    if shape == "validation":
        assert invalid == {
            "message": "Validation error",
            "errors": [
                {"message": '"limit" must be less than or equal to 250', "type": "number.max"}
            ],
        }
    if shape == "auth":
        assert invalid["error"]["errors"][0]["type"] == "number.max"


# --- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", ["1", "date", None])
def test_rate_limit_with_retry_after(
    client: httpx.Client, sb: Sandbox, retry_after: str | None
) -> None:
    sb.set_faults(Faults(rate_limit_rate=1.0, retry_after=retry_after))
    response = client.get("/v2/fulfillments")
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Remaining"] == "0"
    header = response.headers.get("Retry-After")
    if retry_after is None:
        assert header is None
    elif retry_after == "date":
        when = email.utils.parsedate_to_datetime(header or "")
        assert -2 <= (when - datetime.now(UTC)).total_seconds() <= 3
    else:
        assert header == "1"
    assert sb.stats.faults["rate_limit"] == 1


def test_server_errors(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_faults(Faults(server_error_rate=1.0, server_error_status=503, error_shape="spec"))
    response = client.get("/v2/statuses")
    assert response.status_code == 503
    assert response.json()["error"]["errorCode"] == "SERVER_ERROR"


def test_dropped_connections(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/v2/statuses")
    sb.set_faults(Faults())
    assert client.get("/v2/statuses").status_code == 200
    assert sb.stats.faults["drop"] == 1


def test_slow_answers_pass_the_client_timeout(sb: Sandbox) -> None:
    sb.set_faults(Faults(slow_rate=1.0, slow_seconds=1.0))
    headers = {"Authorization": f"Bearer {sb.access_token}"}
    with httpx.Client(base_url=sb.base_url, headers=headers, timeout=0.2) as slow_client:
        with pytest.raises(httpx.ReadTimeout):
            slow_client.get("/v2/statuses")
        sb.set_faults(Faults())
        assert slow_client.get("/v2/statuses").status_code == 200


def test_latency_is_added_to_every_response(client: httpx.Client, sb: Sandbox) -> None:
    sb.set_faults(Faults(latency=0.15))
    started = time.perf_counter()
    assert client.get("/v2/statuses").status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_random_faults_follow_their_seed(client: httpx.Client, sb: Sandbox) -> None:
    def statuses(seed: int) -> list[int]:
        sb.set_faults(Faults(rate_limit_rate=0.3, server_error_rate=0.2, seed=seed))
        return [client.get("/v2/statuses").status_code for _ in range(30)]

    first = statuses(3)
    assert first == statuses(3)
    assert {200, 429, 500} <= set(first)
    assert first != statuses(4)


def test_auth_calls_are_spared_unless_asked(sb: Sandbox) -> None:
    credentials = {"username": sb.username, "password": sb.password}
    sb.set_faults(Faults(rate_limit_rate=1.0))
    url = f"{sb.base_url}/v2/authentication/token"
    assert httpx.post(url, json=credentials).status_code == 200
    sb.set_faults(Faults(rate_limit_rate=1.0, faults_on_auth=True))
    assert httpx.post(url, json=credentials).status_code == 429


def test_fail_routes(client: httpx.Client, sb: Sandbox, small_world: World) -> None:
    sb.set_faults(Faults(fail_routes={"/v2/orders/<id>/fulfillments": 502}))
    order_id = small_world.orders[0]["id"]
    assert client.get(f"/v2/orders/{order_id}/fulfillments").status_code == 502
    assert client.get(f"/v2/orders/{order_id}").status_code == 200
    assert sb.stats.faults["fail_route"] == 1


def test_faults_are_values() -> None:
    routes = {"/v2/statuses": 500}
    faults = Faults(fail_routes=routes, latency=0.1)
    routes["/v2/orders"] = 503  # the caller's dict is copied
    assert faults.fail_routes == {"/v2/statuses": 500}
    assert faults == Faults(fail_routes={"/v2/statuses": 500}, latency=0.1)
    assert len({faults, Faults(fail_routes={"/v2/statuses": 500}, latency=0.1), Faults()}) == 2


def test_faults_validate_their_values() -> None:
    with pytest.raises(ValueError, match="rate_limit_rate"):
        Faults(rate_limit_rate=1.5)
    with pytest.raises(ValueError, match="exceed 1"):
        Faults(drop_rate=0.6, slow_rate=0.6)
    with pytest.raises(ValueError, match="cursor_style"):
        Faults(cursor_style="links")
    with pytest.raises(ValueError, match="error_shape"):
        Faults(error_shape="xml")
    with pytest.raises(ValueError, match="retry_after"):
        Faults(retry_after="soon")
    with pytest.raises(ValueError, match="5xx"):
        Faults(server_error_status=404)
    with pytest.raises(ValueError, match="fail_routes"):
        Faults(fail_routes={"v2/orders": 500})


# --- changes, stats, connections, secrets ----------------------------------------------------


def test_update_fulfillment_bumps_updated_at(small_world: World) -> None:
    with Sandbox(world=small_world) as sb:
        record = next(f for f in small_world.fulfillments if f.get("id") and f["tracking_info"])
        new = sb.update_fulfillment(record["id"], tracking_number="1Z999", weight=9.5)
        assert new["tracking_info"]["tracking_number"] == "1Z999"
        assert new["weight"] == 9.5
        assert new["updated_at"] > record["updated_at"]
        headers = {"Authorization": f"Bearer {sb.access_token}"}
        served = httpx.get(f"{sb.base_url}/v2/fulfillments/{record['id']}", headers=headers)
        assert served.json()["fulfillment"]["tracking_info"]["tracking_number"] == "1Z999"
        since = new["updated_at"][:19] + "Z"
        changed = httpx.get(
            f"{sb.base_url}/v2/fulfillments",
            headers=headers,
            params={"q": f"updated_at:[{since} TO *]"},
        ).json()["fulfillments"]
        assert [r["id"] for r in changed] == [record["id"]]
        assert next(f for f in sb.world.fulfillments if f.get("id") == record["id"]) == new
        with pytest.raises(KeyError):
            sb.update_fulfillment("nope", weight=1.0)
    # the cached world other sandboxes get is untouched
    assert generate(SMALL) is small_world
    assert record["tracking_info"]["tracking_number"] != "1Z999"


def test_stats_count_routes_and_keep_alive_reuses_one_connection(
    client: httpx.Client, sb: Sandbox, small_world: World
) -> None:
    fid = next(f["id"] for f in small_world.fulfillments if f.get("id"))
    for _ in range(5):
        client.get(f"/v2/fulfillments/{fid}")
    client.get("/v2/fulfillments/count")
    client.get("/nowhere")
    assert sb.stats.total == 7
    assert sb.stats.by_route["GET /v2/fulfillments/{id}"] == 5
    assert sb.stats.by_route["GET /v2/fulfillments/count"] == 1
    assert sb.stats.connections == 1
    sb.stats.reset()
    assert sb.stats.total == 0
    assert not sb.stats.by_route


def test_no_token_password_or_label_in_logs(
    sb: Sandbox, caplog: pytest.LogCaptureFixture, small_world: World
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = httpx.post(
        f"{sb.base_url}/v2/authentication/token",
        json={"username": sb.username, "password": sb.password},
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    fid = next(f["id"] for f in small_world.fulfillments if f.get("label_url"))
    label = httpx.get(f"{sb.base_url}/v2/fulfillments/{fid}/label", headers=headers).json()
    httpx.get(f"{sb.base_url}/v2/statuses", headers={"Authorization": "Bearer wrong-token-x"})
    text = caplog.text + repr(sb) + repr(sb.stats)
    assert "/v2/fulfillments/" in caplog.text  # it does log requests
    for secret in (
        tokens["access_token"],
        tokens["refresh_token"],
        sb.access_token,
        sb.password,
        "wrong-token-x",
        label["label_url"],
        "X-Amz-Signature",
    ):
        assert secret not in text


def test_stop_closes_everything_and_frees_the_port(small_world: World) -> None:
    sb = Sandbox(world=small_world, faults=Faults(slow_rate=1.0, slow_seconds=30))
    sb.start()
    base = sb.base_url
    headers = {"Authorization": f"Bearer {sb.access_token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get("/v2/statuses")  # a handler thread now sleeps for 30 s
        started = time.perf_counter()
        sb.stop()
        assert time.perf_counter() - started < 5
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/v2/statuses", headers=headers, timeout=1)
    sb.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        _ = sb.base_url


def test_a_seed_builds_its_world(small_world: World) -> None:
    """``Sandbox(seed=…, config=…)`` serves the generated world; the token is per seed."""
    with Sandbox(config=SMALL) as sb:
        assert sb.world is small_world
        token = sb.access_token
    with Sandbox(world=small_world) as again:
        assert again.access_token == token
    assert len(fulfillments_for(small_world, *SMALL.month_list)) == len(small_world.fulfillments)
