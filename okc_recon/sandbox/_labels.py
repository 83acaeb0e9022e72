"""Pre-signed S3-style label URLs, shaped like OKC's (okc-api.md §5: ``X-Amz-Expires=900``).

They are fakes: the host does not exist and the signature is an HMAC of the sandbox's own
key. They still look and behave like credentials, which is the point: the toolkit must never
log, cache or export them.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

__all__ = ["LABEL_HOST", "label_url"]

LABEL_HOST = "okc-labels-prod.s3.us-west-2.amazonaws.com"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _key_id(key: bytes) -> str:
    digest = hashlib.sha256(b"key-id" + key).digest()
    return "AKIA" + "".join(_ALPHABET[b % 32] for b in digest[:16])


def label_url(fulfillment_id: str, signed_at: datetime, key: bytes, nonce: str = "") -> str:
    """A label URL for ``fulfillment_id`` signed at ``signed_at`` (naive: UTC).

    ``nonce`` varies the signature, so two URLs signed in the same second still differ.
    """
    moment = signed_at.replace(tzinfo=UTC) if signed_at.tzinfo is None else signed_at
    stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    signature = hmac.new(
        key, f"{fulfillment_id}|{stamp}|{nonce}".encode(), hashlib.sha256
    ).hexdigest()
    return (
        f"https://{LABEL_HOST}/labels/{fulfillment_id}.pdf"
        f"?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={_key_id(key)}%2F{day}%2Fus-west-2%2Fs3%2Faws4_request"
        f"&X-Amz-Date={stamp}&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
        f"&X-Amz-Signature={signature}"
    )
