"""Whatever the hostile server answers, no credential or label URL reaches an error, a log
line (any logger, DEBUG), a result or a file: servers that echo the token back, quote the
Authorization header in an HTML page, or put signed URLs in their error messages included."""

from __future__ import annotations

import logging

import pytest

from okc_recon.api import pull_fulfillments
from okc_recon.config import Secret, Settings
from okc_recon.errors import OkcReconError
from tests.api.hostile_server import EMAIL, PASSWORD, HostileOKC, Reply, oid, record

ORDER = "GET /v2/orders/{id}/fulfillments"
# every credential the hostile server issues or accepts ends in "5ecret"; labels are signed
MARKERS = ("5ecret", "X-Amz-Signature", "amazonaws")
SIGNED = "https://okc-labels.s3.amazonaws.com/l.pdf?X-Amz-Signature=abc"


def echo_auth(req, n):
    header = req.headers.get("authorization", "")
    return Reply(400, body=f"<html><body><p>Bad header: {header}</p></body></html>".encode())


def echo_token_json(req, n):
    token = req.headers.get("authorization", "")[7:]
    return Reply(
        422,
        json={"message": "Validation error", "errors": [{"message": f"{token} bad", "type": "x"}]},
    )


FAULTS = {
    "html page quoting the Authorization header": echo_auth,
    "422 details quoting the token": echo_token_json,
    "404 with a signed URL": lambda req, n: Reply(
        404, json={"error": {"message": f"label {SIGNED} missing"}}
    ),
    "200 proxy page with a signed URL": lambda req, n: Reply(
        200, body=f"<html>{SIGNED}</html>".encode(), headers={"Content-Type": "text/html"}
    ),
    "truncated JSON holding a label URL": lambda req, n: Reply(
        200, body=('{"fulfillments": [{"id": "x", "label_url": "' + SIGNED).encode()
    ),
    "redirect to a signed URL": lambda req, n: Reply(302, headers={"Location": SIGNED}),
    "200 error body quoting the token": lambda req, n: Reply(
        200, json={"error": {"message": "token " + req.headers["authorization"][7:]}}
    ),
    "reset mid-body": lambda req, n: Reply(200, json={"fulfillments": []}, action="partial"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_nothing_secret_leaks_whatever_the_server_says(fault, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)  # the root logger: httpx and httpcore included
    okc = HostileOKC(records=[record(i, order=i) for i in range(4)])
    okc.faults[ORDER] = lambda req, n: FAULTS[fault](req, n) if oid(2) in req.path else None
    settings = Settings(
        base_url="https://na1-hostile.okcapsule.test",
        username=EMAIL,
        password=Secret(PASSWORD),
        max_attempts=2,
        backoff_base=0.001,
        backoff_cap=0.002,
    )
    texts: list[str] = []
    try:
        result = pull_fulfillments(
            [oid(i) for i in range(4)], settings=settings, transport=okc.transport, progress=False
        )
    except OkcReconError as exc:  # a redirect stops the pull: the base URL is wrong
        texts += [str(exc), repr(exc), str(getattr(exc, "api_message", ""))]
        texts += [str(d) for d in getattr(exc, "details", [])]
    else:
        assert result.failed_order_ids == [oid(2)]
        error = result.failures[0].error
        texts += [result.summary(), repr(result), str(result.failures[0]), repr(error)]
        texts += [str(getattr(error, "api_message", "")), *(str(d) for d in error.details)]
        texts.append(result.write(tmp_path / "out.json").read_text(encoding="utf-8"))
        assert result.fulfillments.height == 3
    texts.append(caplog.text)
    assert okc.logins >= 1
    assert [m for m in MARKERS if any(m in t for t in texts)] == []
