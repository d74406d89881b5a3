"""Logging for ``efir run`` and the other commands: plain or JSON lines, secrets masked.

Plain lines carry their timestamp with its UTC offset
(``2026-12-02T15:04:05.123+05:00 INFO efir.daemon: ...``); ``log_format: json``
(``EFIR_LOG_FORMAT=json``) writes one JSON object a line for Loki, Elastic or
journald pipelines. Either way every line passes through
:func:`efir.redact.redact` with the configured secrets.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from efir.redact import RedactingFilter, RedactingFormatter, redact

if TYPE_CHECKING:
    from collections.abc import Iterable

#: Libraries whose INFO lines are per connection or per request (httpx logs
#: every URL it calls, Telegram's with the bot token in it).
_NOISY = ("amqtt", "transitions", "uvicorn.access", "aiosqlite", "sqlalchemy", "alembic", "httpx")


def secrets_of(value: Any) -> list[str]:
    """Every secret a settings tree holds: ``SecretStr`` values and the passwords in URLs."""
    out: list[str] = []
    if isinstance(value, SecretStr):
        text = value.get_secret_value()
        out.append(text)
        if "://" in text:
            try:
                password = urlsplit(text).password
            except ValueError:
                password = None
            if password:
                out.append(password)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            out.extend(secrets_of(getattr(value, name)))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            out.extend(secrets_of(item))
    elif isinstance(value, dict):
        for item in value.values():
            out.extend(secrets_of(item))
    return out


def _local_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class PlainFormatter(RedactingFormatter):
    """``time level logger: message``, the time with its offset."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's API
        """ISO 8601 with milliseconds and the UTC offset."""
        del datefmt
        return _local_time(record)


class JsonFormatter(RedactingFormatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``message`` (and ``exception``)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON, masked."""
        data: dict[str, Any] = {
            "time": _local_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, ensure_ascii=False), self.secrets)


def configure(level: str, fmt: str = "plain", secrets: Iterable[str] = ()) -> None:
    """Send log records to standard error as ``fmt`` (``plain`` or ``json``), secrets masked."""
    secrets = list(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(secrets))
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter(secrets=secrets)
    else:
        formatter = PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
