"""Secrets out of every log line, error text, stored field and response.

Receivers' URLs carry credentials (``https://user:pass@host``, ``?token=``),
Telegram's API puts the bot token in the path (``/bot123:ABC/sendMessage``),
and libraries log the URLs they call. :func:`redact` masks all three shapes
in any text; :class:`RedactingFilter` applies it, and the configured secrets
themselves, to every log record.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

MASK = "***"
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/\s:@]*):[^/\s@]*@")
_QUERY = re.compile(
    r"(?P<key>[?&;](?:[a-z0-9_.-]*(?:token|key|secret|password|passwd|pwd|sig|signature|auth)"
    r"[a-z0-9_.-]*))=[^&#\s\"']*",
    re.IGNORECASE,
)
_TELEGRAM = re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+")
#: A Telegram bot token on its own (``123456789:AA...``, 35 characters after the colon).
_BOT_TOKEN = re.compile(r"\b[0-9]{6,12}:[A-Za-z0-9_-]{30,}")
_BEARER = re.compile(r"(?P<scheme>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL credentials, token query parameters, bot tokens and ``secrets`` masked."""
    for secret in secrets:
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(rf"\g<scheme>\g<user>:{MASK}@", text)
    text = _QUERY.sub(rf"\g<key>={MASK}", text)
    text = _TELEGRAM.sub(f"/bot{MASK}", text)
    text = _BOT_TOKEN.sub(MASK, text)
    return _BEARER.sub(rf"\g<scheme>{MASK}", text)


class RedactingFilter(logging.Filter):
    """Masks secrets in each record's message and arguments (install it on the handlers)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        """``secrets``: values to mask wherever they appear (tokens, passwords)."""
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, masked; tracebacks are masked by the formatter."""
        message = record.getMessage()
        masked = redact(message, self.secrets)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (tracebacks included) passes through :func:`redact`."""

    def __init__(self, fmt: str | None = None, secrets: Iterable[str] = ()) -> None:
        """Format as ``fmt``, then mask ``secrets`` and credential shapes."""
        super().__init__(fmt)
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, masked."""
        return redact(super().format(record), self.secrets)
