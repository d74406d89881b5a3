"""Standard Webhooks signatures, verified by the independent ``standardwebhooks`` package."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from efir.notify.send import body_bytes
from efir.notify.signing import headers

SECRET_A = "whsec_" + base64.b64encode(b"a" * 32).decode()
SECRET_B = "whsec_" + base64.b64encode(bytes(range(24))).decode()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(
    doc=st.dictionaries(st.text(), JSON, max_size=6),
    msg_id=st.text(alphabet="abcdef0123456789_", min_size=1),
)
def test_every_secret_of_a_rotation_verifies(doc: dict[str, object], msg_id: str) -> None:
    """Byte for byte: the body Efir sends (UTF-8 JSON, non-ASCII kept) and its signature."""
    body = body_bytes(doc)
    ts = int(time.time())
    h = headers([SECRET_A, SECRET_B], msg_id, ts, body)
    assert h["webhook-id"] == msg_id
    assert len(h["webhook-signature"].split(" ")) == 2
    for secret in (SECRET_A, SECRET_B):
        Webhook(secret).verify(body, h)  # raises on a mismatch


def test_a_changed_byte_or_another_secret_fails() -> None:
    body = b'{"status":"firing"}'
    h = headers([SECRET_A], "msg_1", int(time.time()), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET_A).verify(body.replace(b"firing", b"fired!"), h)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET_B).verify(body, h)
