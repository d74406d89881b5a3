"""One delivery attempt per receiver type, classified for the retry policy.

Outcomes: ``delivered``; ``retry`` (timeouts, connection errors, 408, 425,
429, 5xx; with the receiver's ``Retry-After`` when it gives one); ``gone``
(``410 Gone``, or a Telegram bot removed from its chat: the receiver is
disabled); ``failed`` (any other 4xx: retrying the same request cannot help).
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import aiosmtplib
import httpx

# python-telegram-bot 22.2+ makes RetryAfter.retry_after a timedelta on this
# documented opt-in, and warns on every flood-control error without it.
os.environ.setdefault("PTB_TIMEDELTA", "1")
import telegram
import telegram.error
import telegram.request

from efir import __version__
from efir.config.alerts import (
    AlertmanagerReceiver,
    EmailReceiver,
    MqttReceiver,
    PagerDutyReceiver,
    TelegramReceiver,
    WebhookReceiver,
)
from efir.notify.render import rfc3339
from efir.notify.signing import headers as signed_headers

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from efir.config.alerts import Receiver
    from efir.store.outbox import OutboxRow

USER_AGENT = f"efir/{__version__}"
_RETRY_CODES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Result:
    """One attempt: outcome, HTTP status if any, error text, and the receiver's ``Retry-After``."""

    outcome: str
    status_code: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


def body_bytes(body: Any) -> bytes:
    """The canonical bytes of a stored body (the same on every attempt)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(response: httpx.Response, now: datetime | None = None) -> Result:
    """The outcome of an HTTP response (``now`` reads an HTTP-date ``Retry-After``)."""
    code = response.status_code
    if 200 <= code < 300:
        return Result("delivered", code)
    text = f"HTTP {code}: {response.text[:200]}".strip()
    if code == 410:
        return Result("gone", code, text)
    if code in _RETRY_CODES or code >= 500:
        return Result("retry", code, text, retry_after(response.headers.get("retry-after"), now))
    return Result("failed", code, text)


class Sender:
    """Sends outbox rows; one instance per process, reused connections."""

    def __init__(
        self,
        *,
        publish: Callable[[str, bytes], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``publish`` is Efir's MQTT publish (for ``mqtt`` receivers)."""
        self.http = httpx.AsyncClient(headers={"user-agent": USER_AGENT})
        self.publish = publish
        self.clock = clock
        self._bots: dict[str, telegram.Bot] = {}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def close(self) -> None:
        """Close connections."""
        await self.http.aclose()
        for bot in self._bots.values():
            await bot.shutdown()

    async def send(self, row: OutboxRow, receiver: Receiver) -> Result:
        """One attempt to deliver ``row`` to ``receiver``."""
        try:
            return await self._send(row, receiver)
        except httpx.TimeoutException as exc:
            return Result("retry", error=f"timed out after {receiver.timeout_s:g} s ({exc!r})")
        except (httpx.TransportError, OSError, ConnectionError) as exc:
            return Result("retry", error=f"{type(exc).__name__}: {exc}")

    async def _send(self, row: OutboxRow, r: Receiver) -> Result:
        if isinstance(r, WebhookReceiver):
            data = body_bytes(row.body)
            secrets = [s.get_secret_value() for s in r.secrets]
            hdrs = signed_headers(secrets, row.id, int(self.clock()), data)
            hdrs["content-type"] = "application/json"
            resp = await self.http.post(r.url, content=data, headers=hdrs, timeout=r.timeout_s)
            return classify(resp, self._now())
        if isinstance(r, AlertmanagerReceiver):
            auth: httpx.Auth | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT
            if r.username is not None:
                auth = httpx.BasicAuth(
                    r.username, r.password.get_secret_value() if r.password else ""
                )
            alerts = row.body["alerts"]
            firing = row.body.get("firing", [])
            if any(firing):
                ends = rfc3339(round((self.clock() + r.ends_after_s) * 1e6))
                alerts = [
                    {**a, "endsAt": ends} if f else a for a, f in zip(alerts, firing, strict=False)
                ]
            resp = await self.http.post(
                r.url.rstrip("/") + "/api/v2/alerts",
                json=alerts,
                auth=auth,
                timeout=r.timeout_s,
            )
            return classify(resp, self._now())
        if isinstance(r, PagerDutyReceiver):
            event = {"routing_key": r.routing_key.get_secret_value(), **row.body}
            resp = await self.http.post(r.url, json=event, timeout=r.timeout_s)
            return classify(resp, self._now())
        if isinstance(r, MqttReceiver):
            if self.publish is None:
                return Result("failed", error="no MQTT connection in this process")
            await self.publish(row.body["topic"], body_bytes(row.body["payload"]))
            return Result("delivered")
        if isinstance(r, TelegramReceiver):
            return await self._telegram(row, r)
        return await self._email(row, r)

    async def _telegram(self, row: OutboxRow, r: TelegramReceiver) -> Result:
        try:
            bot = self._bots.get(r.name)
            if bot is None:
                token = r.bot_token.get_secret_value()
                request = telegram.request.HTTPXRequest(
                    connect_timeout=r.timeout_s,
                    read_timeout=r.timeout_s,
                    write_timeout=r.timeout_s,
                )
                bot = telegram.Bot(token, base_url=r.api_url, request=request)
                await bot.initialize()  # getMe: checks the token once
                self._bots[r.name] = bot
            await bot.send_message(chat_id=r.chat_id, text=row.body["text"])
        except telegram.error.RetryAfter as exc:
            after = exc.retry_after
            seconds = after.total_seconds() if hasattr(after, "total_seconds") else float(after)
            return Result("retry", 429, f"Telegram flood control: {exc}", seconds)
        except telegram.error.Forbidden as exc:
            return Result("gone", 403, f"Telegram: {exc}")
        except (telegram.error.BadRequest, telegram.error.InvalidToken) as exc:
            return Result("failed", 400, f"Telegram: {exc}")
        except (telegram.error.TimedOut, telegram.error.NetworkError) as exc:
            return Result("retry", error=f"Telegram: {exc}")
        return Result("delivered", 200)

    async def _email(self, row: OutboxRow, r: EmailReceiver) -> Result:
        msg = EmailMessage()
        msg["From"] = r.sender
        msg["To"] = ", ".join(r.to)
        msg["Subject"] = row.body["subject"]
        # The outbox id doubles as the Message-ID: a retried e-mail is recognisably the same.
        msg["Message-ID"] = f"<{row.id}@efir>"
        msg.set_content(row.body["text"])
        attachment = row.body.get("attachment")
        if attachment:  # a weekly report's file
            maintype, _, subtype = attachment["content_type"].partition(";")[0].partition("/")
            msg.add_attachment(
                base64.b64decode(attachment["data_base64"]),
                maintype=maintype,
                subtype=subtype,
                filename=attachment["filename"],
            )
        try:
            await aiosmtplib.send(
                msg,
                hostname=r.host,
                port=r.port,
                username=r.username,
                password=r.password.get_secret_value() if r.password else None,
                use_tls=r.security == "tls",
                start_tls=True if r.security == "starttls" else False,  # noqa: SIM210 - None would mean "if offered"
                timeout=r.timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            outcome = "retry" if 400 <= exc.code < 500 else "failed"
            return Result(outcome, exc.code, f"SMTP {exc.code}: {exc.message}")
        except aiosmtplib.SMTPException as exc:
            return Result("retry", error=f"SMTP: {exc}")
        return Result("delivered", 250)
