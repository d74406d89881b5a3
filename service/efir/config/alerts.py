"""Alerting configuration: timing, receivers, routes, delivery (the ``alerts:`` YAML key).

Receivers are a discriminated union on ``type``. Secrets (webhook signing
secrets, PagerDuty routing keys, bot tokens, SMTP passwords) are ``SecretStr``.
Defaults are the conservative ones documented in docs/alerts.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from efir.config.base import Strict
from efir.core.alerting.alert import Severity
from efir.core.alerting.conditions import Thresholds
from efir.core.alerting.dispatch import Grouping, Policy
from efir.core.alerting.inhibit import DEFAULT_INHIBITIONS, InhibitRule
from efir.core.alerting.lifecycle import Timing
from efir.core.alerting.routing import Route
from efir.core.alerting.silence import Matcher, MatchOp

_S = 1_000_000
_NAME = r"^[A-Za-z0-9_.-]{1,64}$"


class _Receiver(Strict):
    name: str = Field(pattern=_NAME)
    #: Requests to this receiver in flight at most.
    max_concurrency: int = Field(default=4, ge=1, le=64)
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    #: The language of the texts this receiver gets (summary, description, chat and
    #: e-mail wording): en, kk or ru. Labels and figures are the same in every language.
    lang: Literal["en", "kk", "ru"] = "en"


class WebhookReceiver(_Receiver):
    """HTTP POST signed per Standard Webhooks (``webhook-id``/``-timestamp``/``-signature``)."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    #: Signing secrets, ``whsec_<base64>``; every one signs (rotation: add, deploy, remove).
    secrets: list[SecretStr] = []
    #: ``efir``: Efir's JSON; ``alertmanager``: Alertmanager webhook v4 body.
    format: Literal["efir", "alertmanager"] = "efir"

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, secrets: list[SecretStr]) -> list[SecretStr]:
        for s in secrets:
            raw = s.get_secret_value()
            body = raw.removeprefix("whsec_")
            try:
                key = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                msg = "a signing secret must be whsec_ followed by base64"
                raise ValueError(msg) from None
            if not 24 <= len(key) <= 64:
                msg = "a signing secret must decode to 24..64 bytes"
                raise ValueError(msg)
        return secrets


class AlertmanagerReceiver(_Receiver):
    """Push into an existing Alertmanager (``POST {url}/api/v2/alerts``)."""

    type: Literal["alertmanager"]
    url: str = Field(pattern=r"^https?://")
    username: str | None = None
    password: SecretStr | None = None
    #: Firing alerts this receiver was told about are pushed again this often
    #: (Alertmanager resolves an alert that is not re-pushed before its ``endsAt``).
    resend_s: float = Field(default=60.0, ge=1, le=3600)
    #: ``endsAt`` of a pushed firing alert: this far ahead of the push. If Efir stops,
    #: Alertmanager resolves its alerts after this long.
    ends_after_s: float = Field(default=900.0, ge=60, le=86400)

    @model_validator(mode="after")
    def _ends_after_outlasts_resends(self) -> AlertmanagerReceiver:
        if self.ends_after_s < 3 * self.resend_s:
            msg = "ends_after_s must be at least 3 times resend_s, or a missed push resolves alerts"
            raise ValueError(msg)
        return self


class PagerDutyReceiver(_Receiver):
    """PagerDuty Events API v2: ``dedup_key`` = fingerprint, trigger and resolve."""

    type: Literal["pagerduty"]
    routing_key: SecretStr
    url: str = Field(default="https://events.pagerduty.com/v2/enqueue", pattern=r"^https?://")


class MqttReceiver(_Receiver):
    """Publish to ``efir/alerts/{channel}`` (QoS 1, not retained) on Efir's broker."""

    type: Literal["mqtt"]
    topic: str = "efir/alerts/{channel}"


class TelegramReceiver(_Receiver):
    """A Telegram bot message to a chat (python-telegram-bot)."""

    type: Literal["telegram"]
    bot_token: SecretStr
    chat_id: str
    #: Bot API base URL (``{token}`` is replaced); a local Bot API server or a test double.
    api_url: str = "https://api.telegram.org/bot{token}"


class EmailReceiver(_Receiver):
    """E-mail via SMTP (aiosmtplib)."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    #: ``starttls`` (port 587), ``tls`` (implicit, port 465) or ``none`` (trusted relay only).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)

    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)


Receiver = Annotated[
    WebhookReceiver
    | AlertmanagerReceiver
    | PagerDutyReceiver
    | MqttReceiver
    | TelegramReceiver
    | EmailReceiver,
    Field(discriminator="type"),
]


class RouteConfig(Strict):
    """Send alerts matching every given criterion to ``receiver`` (empty = any)."""

    receiver: str
    channels: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    severities: frozenset[Severity] = frozenset()
    alertnames: frozenset[str] = frozenset()


#: ``name op "value"`` as Alertmanager writes matchers (quotes optional).
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"(.*)"|(.*?))\s*$')


class MatcherConfig(Strict):
    """``{name, value, op}``, or a string ``alertname=~"EfirFeed.*"`` as in Alertmanager."""

    name: str = Field(min_length=1, max_length=64)
    value: str = Field(max_length=512)
    op: MatchOp = MatchOp.EQ

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: object) -> object:
        if not isinstance(data, str):
            return data
        m = _MATCHER.match(data)
        if m is None:
            msg = f'a matcher is name op "value" with op one of = != =~ !~, not {data!r}'
            raise ValueError(msg)
        name, op, quoted, bare = m.groups()
        return {"name": name, "op": op, "value": quoted if quoted is not None else bare}

    @model_validator(mode="after")
    def _regex_compiles(self) -> MatcherConfig:
        if self.op in {MatchOp.RE, MatchOp.NRE}:
            try:
                re.compile(self.value)
            except re.error as exc:
                msg = f"matcher {self.name}: bad regular expression {self.value!r}: {exc}"
                raise ValueError(msg) from None
        return self

    def matcher(self) -> Matcher:
        """The core matcher."""
        return Matcher(self.name, self.value, self.op)


class InhibitRuleConfig(Strict):
    """Firing alerts matching ``source_matchers`` mute those matching ``target_matchers``.

    Only where every label in ``equal`` has the same value on both (Alertmanager's
    ``inhibit_rules``). ``mute_resolved`` mutes the target's all-clear too.
    """

    source_matchers: list[MatcherConfig] = Field(min_length=1)
    target_matchers: list[MatcherConfig] = Field(min_length=1)
    equal: list[Literal["alertname", "channel", "rule", "window", "severity"]] = []
    mute_resolved: bool = False

    def rule(self) -> InhibitRule:
        """The core inhibition rule."""
        return InhibitRule(
            tuple(m.matcher() for m in self.source_matchers),
            tuple(m.matcher() for m in self.target_matchers),
            tuple(self.equal),
            mute_resolved=self.mute_resolved,
        )


class DeliveryConfig(Strict):
    """Retries: exponential backoff with full jitter, capped; give up after ``max_age_s``."""

    backoff_min_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    max_age_s: float = Field(default=24 * 3600.0, gt=0)
    #: A ``Retry-After`` longer than this is capped (a misconfigured receiver must not stall us).
    retry_after_max_s: float = Field(default=3600.0, gt=0)


class AlertsConfig(Strict):
    """Alert timing, thresholds, receivers and routes."""

    #: A status must hold this long (seconds, per severity) before it fires.
    for_s: dict[Severity, float] = {
        Severity.WARNING: 60.0,
        Severity.ERROR: 60.0,
        Severity.CRITICAL: 0.0,
    }
    #: A firing alert resolves once its condition has not held for this long.
    keep_firing_s: float = Field(default=120.0, ge=0)
    group_wait_s: float = Field(default=10.0, ge=0)
    group_interval_s: float = Field(default=60.0, ge=0)
    repeat_interval_s: float = Field(default=3600.0, gt=0)
    #: Feed gap inside the current window that raises ``EfirFeedGap`` (seconds).
    gap_s: float = Field(default=300.0, gt=0)
    #: Unclassified (unknown language/origin) seconds that raise ``EfirUnknownContent``.
    unknown_s: float = Field(default=600.0, gt=0)
    #: A closed window's violation stays an alert this long, then is archived.
    violation_hold_s: float = Field(default=24 * 3600.0, gt=0)
    #: Base URL of Efir's status page, for links in notifications.
    external_url: str = "http://127.0.0.1:8080"
    receivers: list[Receiver] = []
    routes: list[RouteConfig] = []
    delivery: DeliveryConfig = DeliveryConfig()
    #: Inhibitions; unset: Efir's two (stale/offline feed, recorded violation). A list
    #: replaces them (``[]``: none); docs/alerts.md gives the defaults to start from.
    inhibit_rules: list[InhibitRuleConfig] | None = None
    #: With several instances on one PostgreSQL, only the holder of this advisory lock sends.
    leader_lock_id: int = 0x4546524C  # "EFRL" (not the migration lock, "EFIR")

    @model_validator(mode="after")
    def _routes_name_receivers(self) -> AlertsConfig:
        names = [r.name for r in self.receivers]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            msg = f"receiver names must be unique: {', '.join(sorted(dupes))}"
            raise ValueError(msg)
        for route in self.routes:
            if route.receiver not in names:
                msg = f"route names receiver {route.receiver!r}, which is not configured"
                raise ValueError(msg)
        return self

    def timing(self) -> Timing:
        """The lifecycle timing in µs."""
        return Timing(
            for_us={sev: round(self.for_s.get(sev, 0.0) * _S) for sev in Severity},
            keep_firing_us=round(self.keep_firing_s * _S),
        )

    def policy(self) -> Policy:
        """Routes, grouping and inhibitions for the planner."""
        routes = tuple(
            Route(
                r.receiver,
                channels=r.channels,
                rules=r.rules,
                severities=frozenset(s.value for s in r.severities),
                alertnames=r.alertnames,
            )
            for r in self.routes
        )
        if not self.routes:  # no routes: every receiver hears everything
            routes = tuple(Route(r.name) for r in self.receivers)
        grouping = Grouping(
            group_wait_us=round(self.group_wait_s * _S),
            group_interval_us=round(self.group_interval_s * _S),
            repeat_interval_us=round(self.repeat_interval_s * _S),
        )
        inhibitions = (
            DEFAULT_INHIBITIONS
            if self.inhibit_rules is None
            else tuple(r.rule() for r in self.inhibit_rules)
        )
        return Policy(routes=routes, grouping=grouping, inhibitions=inhibitions)

    def thresholds(self) -> Thresholds:
        """Feed-gap and unknown-content thresholds."""
        return Thresholds(gap_s=self.gap_s, unknown_s=self.unknown_s)

    @property
    def languages(self) -> frozenset[str]:
        """The languages the receivers read besides English."""
        return frozenset(r.lang for r in self.receivers) - {"en"}

    def receiver(self, name: str) -> Receiver | None:
        """The receiver called ``name``."""
        return next((r for r in self.receivers if r.name == name), None)
