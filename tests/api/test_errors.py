from __future__ import annotations

import json

import pytest

from okc_recon.api._errors import api_error, connection_error, parse_error_body
from okc_recon.errors import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ServerError,
)


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_docs_envelope():
    info = parse_error_body(
        body(
            {
                "statusCode": 400,
                "error": "Bad Request",
                "message": "Invalid query",
                "details": [{"field": "limit", "message": "must be <= 250"}],
            }
        )
    )
    assert info.code == "Bad Request"
    assert info.message == "Invalid query"
    assert info.details == [{"field": "limit", "message": "must be <= 250"}]


def test_spec_error_model():
    info = parse_error_body(
        body({"error": {"errorCode": "RESOURCE_NOT_FOUND", "message": "Fulfillment not found"}})
    )
    assert info.code == "RESOURCE_NOT_FOUND"
    assert info.message == "Fulfillment not found"


def test_spec_validation_error():
    info = parse_error_body(
        body(
            {
                "message": "Validation error",
                "errors": [
                    {"message": '"limit" must be less than or equal to 250', "type": "number.max"}
                ],
            }
        )
    )
    assert info.message == 'Validation error: "limit" must be less than or equal to 250'
    assert info.details[0]["type"] == "number.max"


def test_auth_endpoint_validation_error():
    info = parse_error_body(
        body(
            {
                "error": {
                    "message": "Validation error",
                    "errors": [{"message": '"username" is required', "type": "any.required"}],
                }
            }
        )
    )
    assert info.message == 'Validation error: "username" is required'
    assert info.details == [{"message": '"username" is required', "type": "any.required"}]


def test_unauthorized_shape_and_non_json():
    assert parse_error_body(body({"error": {"message": "Unauthorized"}})).message == "Unauthorized"
    assert parse_error_body(b"<html>Bad Gateway</html>").message == "Bad Gateway"
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>x</h1></body></html>"
    assert parse_error_body(page).message == "502 Bad Gateway"
    assert parse_error_body(b"plain words").message == "plain words"
    assert parse_error_body(b"").message is None
    assert parse_error_body(None).message is None
    long = parse_error_body(b"x" * 5000).message
    assert long is not None
    assert len(long) <= 300


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (422, ApiError),
    ],
)
def test_api_error_class_and_message(status, cls):
    exc = api_error(
        "GET",
        "/v2/fulfillments?limit=10",
        status,
        body({"error": {"errorCode": "E_X", "message": "went wrong"}}),
        attempts=3,
    )
    assert type(exc) is cls
    text = str(exc)
    assert text.startswith(f"GET /v2/fulfillments?limit=10 → {status}: went wrong [E_X]")
    assert "after 3 attempts" in text
    assert (exc.method, exc.path, exc.status, exc.error_code, exc.api_message, exc.attempts) == (
        "GET",
        "/v2/fulfillments?limit=10",
        status,
        "E_X",
        "went wrong",
        3,
    )
    assert exc.request == "GET /v2/fulfillments?limit=10"


def test_connection_error_names_request():
    import httpx

    exc = connection_error("GET", "/v2/statuses", httpx.ReadTimeout("timed out"), attempts=5)
    assert isinstance(exc, ApiConnectionError)
    assert str(exc).startswith(
        "GET /v2/statuses timed out (ReadTimeout: timed out) after 5 attempts"
    )
    assert exc.status is None
