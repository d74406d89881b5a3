"""Secrets never reach a log line, an error text, a stored field or ``check-config``."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from efir.config.settings import describe, load_settings
from efir.logs import configure, secrets_of
from efir.redact import MASK, redact

BOT = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_credentials_in_urls_tokens_in_queries_and_bot_tokens_are_masked() -> None:
    cases = {
        "POST https://user:hunter22@hooks.example/x": "POST https://user:***@hooks.example/x",
        "https://h.example/hook?token=abc123&x=1": "https://h.example/hook?token=***&x=1",
        "https://h.example/?api_key=k1&sig=zz": "https://h.example/?api_key=***&sig=***",
        f"HTTP Request: POST https://api.telegram.org/bot{BOT}/sendMessage": (
            "HTTP Request: POST https://api.telegram.org/bot***/sendMessage"
        ),
        f"Unauthorized: token {BOT} rejected": "Unauthorized: token *** rejected",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x": "Authorization: Bearer ***",
        "mqtt://efir:pa55@broker:1883": "mqtt://efir:***@broker:1883",
    }
    for text, expected in cases.items():
        assert redact(text) == expected
    assert redact("plain words, 12:00-18:00, https://example.org/a?b=c") == (
        "plain words, 12:00-18:00, https://example.org/a?b=c"
    )
    assert redact("the secret is s3cr3t-value", ["s3cr3t-value"]) == f"the secret is {MASK}"


@given(
    st.text(min_size=8, max_size=40, alphabet=st.characters(codec="ascii", categories=["L", "N"]))
)
def test_a_configured_secret_never_survives(secret: str) -> None:
    line = f"connecting to https://host/?x=1 with {secret} and again {secret}."
    assert secret not in redact(line, [secret])


def test_log_lines_are_masked_and_carry_their_offset() -> None:
    stream = io.StringIO()

    old = sys.stderr
    sys.stderr = stream
    try:
        configure("INFO", "plain", ["api-token-xyz"])
        logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/send", BOT)
        logging.getLogger("efir.test").info("token api-token-xyz in %s", "a message")
        configure("INFO", "json", ["api-token-xyz"])
        logging.getLogger("efir.test").info("json api-token-xyz")
    finally:
        sys.stderr = old
        logging.getLogger().handlers.clear()
    lines = stream.getvalue().splitlines()
    assert BOT not in stream.getvalue()
    assert "api-token-xyz" not in stream.getvalue()
    plain = lines[0]
    # 2026-12-02T15:04:05.123+00:00 WARNING httpx: ...
    assert plain[23] in "+-", plain
    assert plain[26] == ":", plain
    record = json.loads(lines[-1])
    assert record["message"] == f"json {MASK}"
    assert record["level"] == "INFO"
    assert record["time"][23] in "+-"


def test_check_config_masks_urls_and_secrets(tmp_path: Path) -> None:
    config = tmp_path / "efir.yaml"
    config.write_text(
        "channels: [{id: qaz-tv}]\n"
        "alerts:\n"
        "  receivers:\n"
        "    - {name: hook, type: webhook, url: 'https://ops:pw1234@hooks.example/in?token=t0k3n'}\n"
        f"    - {{name: tg, type: telegram, bot_token: '{BOT}', chat_id: '-100'}}\n"
    )
    settings = load_settings(config=config, api_token="write-token-1")  # noqa: S106
    text = json.dumps(describe(settings))
    for secret in ("pw1234", "t0k3n", BOT, "write-token-1"):
        assert secret not in text
    assert secrets_of(settings)
