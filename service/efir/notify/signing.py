"""Standard Webhooks signatures (https://www.standardwebhooks.com/, spec v1).

``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256>``,
one per secret (several during a rotation), over ``{id}.{timestamp}.{body}``;
the secret is ``whsec_`` followed by the base64 key. Written from the spec (a
few lines); the tests verify it with the independent ``standardwebhooks``
package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` for one secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers (no signature header without secrets)."""
    out = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secrets:
        out["webhook-signature"] = " ".join(signature(s, msg_id, timestamp, body) for s in secrets)
    return out
