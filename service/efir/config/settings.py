"""Daemon configuration: one validated model from ``EFIR_*`` variables and a YAML file.

Sources, highest priority first (DESIGN section 6): environment variables
``EFIR_*`` (nested keys with ``__``, e.g. ``EFIR_MQTT__CLIENT_ID``), then the
YAML file named by ``EFIR_CONFIG``, then defaults. With nothing configured,
``efir run`` keeps its data in ``./efir-data`` (SQLite) and starts the
built-in broker.

Secrets (``api_token``, the MQTT URL's password) are ``SecretStr``: they print
as ``**********`` in logs, errors and ``efir check-config``.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from efir.config.alerts import AlertsConfig
from efir.config.base import Strict
from efir.core.channel import CHANNEL_ID, DEFAULT_TIMEZONE, KNOWN_FLAGS, ChannelProfile
from efir.core.errors import ConfigurationError
from efir.core.rules import Media
from efir.core.schedule import OnAirSchedule
from efir.readers.classify import ClassifyError, build_classifier, load_classifier
from efir.readers.nowplaying import MappingError, NowPlayingMap
from efir.redact import redact
from efir.rulepacks import PackError, load_pack

if TYPE_CHECKING:
    from collections.abc import Iterable

    from efir.readers.classify import Classifier

#: The law keeps the on-air log one year (regulation.md); retention may not be shorter.
MIN_RETENTION_DAYS = 366


class ConfigError(ConfigurationError):
    """The configuration is invalid. ``errors`` holds one ``location: message`` per problem."""

    def __init__(self, errors: list[str]) -> None:
        """Keep every error; the message lists them all."""
        super().__init__("\n".join(errors))
        self.errors = errors


class ChannelConfig(Strict):
    """One monitored channel (the YAML ``channels:`` list)."""

    id: str = Field(pattern=CHANNEL_ID.pattern)
    media: Media = Media.TV
    timezone: str = DEFAULT_TIMEZONE
    rule_pack: str = "kz"
    flags: frozenset[str] = frozenset({"domestic"})
    mourning_dates: frozenset[date] = frozenset()
    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    name: str | None = None
    #: Local hours the channel should be on air, e.g. ``["mon-fri 06:00-01:00",
    #: "sat,sun 07:00-02:00"]``; empty: 24/7. Feed alerts (stale, gaps) only count
    #: on-air time; the quota accounting is unaffected.
    on_air: list[str] = []
    #: An open item (a ``start`` whose ``end`` has not arrived) counts up to its
    #: planned end plus this grace, or, with no planned duration, for
    #: ``open_cap_s`` from its start; beyond that it is overdue (alert), and its
    #: status never pages as locked in (docs/engine.md, "Open items").
    open_grace_s: float = Field(default=300.0, ge=0, le=86_400)
    open_cap_s: float = Field(default=3600.0, gt=0, le=86_400)
    #: Classification of this channel's live events (docs/formats.md,
    #: "Classification"): a YAML file's path (relative to the working
    #: directory) or the rules inline. Fills in what a ``start`` or
    #: ``complete`` lacks at ingest and at restart; the stored payload is kept
    #: as it arrived.
    classify: Path | dict[str, Any] | None = None
    #: How this channel's pushed now-playing JSON reads (``POST .../nowplaying?format=json``,
    #: docs/integration.md): a YAML mapping file's path or the mapping inline.
    nowplaying: Path | dict[str, Any] | None = None
    #: The shard that serves this channel (docs/scaling.md): only the instances
    #: started with ``shard:`` (``EFIR_SHARD``) equal to it count its events.
    #: Either every channel names a shard or none does.
    shard: str | None = Field(default=None, pattern=CHANNEL_ID.pattern)

    @field_validator("flags")
    @classmethod
    def _known_flags(cls, flags: frozenset[str]) -> frozenset[str]:
        unknown = flags - KNOWN_FLAGS
        if unknown:
            msg = f"unknown flags {sorted(unknown)}; known: {sorted(KNOWN_FLAGS)}"
            raise ValueError(msg)
        return flags

    @field_validator("on_air")
    @classmethod
    def _on_air_spans(cls, spans: list[str]) -> list[str]:
        OnAirSchedule.parse(spans)  # raises ValueError with the span and the expected form
        return spans

    @model_validator(mode="after")
    def _profile_and_pack(self) -> ChannelConfig:
        self.profile()  # the time zone must exist
        try:
            pack = load_pack(self.rule_pack)
        except PackError as exc:
            raise ValueError(str(exc)) from None
        ids = {r.id for r in pack.rules}
        unknown = (self.enable | self.disable) - ids
        if unknown:
            msg = f"unknown rule id(s) {sorted(unknown)}: not in pack {self.rule_pack!r}"
            raise ValueError(msg)
        try:
            self.classifier()
            self.nowplaying_map()
        except (ClassifyError, MappingError) as exc:
            raise ValueError(str(exc)) from None
        return self

    def classifier(self) -> Classifier | None:
        """The channel's classification, read and checked (``None``: none configured).

        Raises:
            ClassifyError: the file cannot be read, or a rule cannot work.
        """
        if self.classify is None:
            return None
        if isinstance(self.classify, Path):
            return load_classifier(self.classify, "classify")
        return build_classifier(self.classify, "classify")

    def nowplaying_map(self) -> NowPlayingMap | None:
        """The channel's now-playing mapping, read and checked (``None``: none configured).

        Raises:
            MappingError: the file cannot be read, or the mapping cannot work.
        """
        if self.nowplaying is None:
            return None
        data: object = self.nowplaying
        if isinstance(self.nowplaying, Path):
            try:
                data = yaml.safe_load(self.nowplaying.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                msg = f"nowplaying: cannot read {self.nowplaying}: {type(exc).__name__}"
                raise MappingError(msg) from None
        return NowPlayingMap.load(data, "nowplaying")

    def profile(self) -> ChannelProfile:
        """The core's channel profile."""
        return ChannelProfile(
            id=self.id,
            media=self.media,
            timezone=self.timezone,
            flags=self.flags,
            rule_pack=self.rule_pack,
            mourning_dates=self.mourning_dates,
            enable=self.enable,
            disable=self.disable,
            on_air=OnAirSchedule.parse(self.on_air),
            open_grace_s=self.open_grace_s,
            open_cap_s=self.open_cap_s,
        )


class MqttConfig(Strict):
    """MQTT connection options (besides ``EFIR_MQTT_URL``)."""

    topic_prefix: str = Field(default="asrun", pattern=r"^[^#+]+$")
    client_id: str = Field(default="efir", min_length=1, max_length=64)
    #: 3.1.1 by default: every broker speaks it (the broker-restart fault test
    #: passes with both). "5" forces MQTT 5; "auto" tries 5 and falls back to 3.1.1.
    protocol: Literal["auto", "5", "3.1.1"] = "3.1.1"
    #: Session expiry (MQTT 5) so the broker keeps unacknowledged events while Efir restarts.
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    keepalive_s: int = Field(default=30, ge=5)
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_insecure: bool = False
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    #: Delay after a permanent refusal (bad credentials, not authorised).
    refused_retry_s: float = Field(default=60.0, gt=0)


class MqttTarget(BaseModel):
    """A parsed broker address."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: SecretStr | None = None

    def __str__(self) -> str:
        """The address without credentials (for logs)."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """Parse ``mqtt://user:pass@host:port`` or ``mqtts://…`` (default ports 1883/8883)."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts"}:
        msg = f"scheme must be mqtt:// or mqtts://, not {parts.scheme or 'none'}://"
        raise ValueError(msg)
    if not parts.hostname:
        msg = "no host (expected mqtt://host:port)"
        raise ValueError(msg)
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        msg = "the port must be a number from 1 to 65535"
        raise ValueError(msg) from None
    password = SecretStr(unquote(parts.password)) if parts.password is not None else None
    return MqttTarget(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=password,
    )


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ReportSchedule(Strict):
    """A weekly report sent to a receiver (the YAML ``reports:`` list, docs/reports.md).

    Each week's report (Monday 00:00 to Monday 00:00 in the channel's zone)
    goes out on ``weekday`` at ``at`` (local) of the week after it, through
    the notifier outbox (retried, journaled, resendable like an alert).
    """

    receiver: str
    #: Channel ids (empty: every configured channel), one report each.
    channels: list[str] = []
    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    at: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    format: Literal["pdf", "xlsx", "csv"] = "pdf"
    #: The PDF's language: en, kk or ru (XLSX and CSV keep English keys).
    lang: Literal["en", "kk", "ru"] = "en"
    #: What-if: judge the week under the thresholds in force on this date.
    as_of: date | None = None

    @property
    def weekday_index(self) -> int:
        """Monday 0 .. Sunday 6."""
        return _WEEKDAYS.index(self.weekday)


class Settings(BaseSettings):
    """Everything ``efir run`` needs. See docs/daemon.md for each setting."""

    model_config = SettingsConfigDict(
        env_prefix="EFIR_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    config: Path | None = None
    data_dir: Path = Path("efir-data")
    database_url: SecretStr | None = None
    mqtt_url: SecretStr | None = None
    embedded_broker_port: int = Field(default=1883, ge=1, le=65535)
    mqtt: MqttConfig = MqttConfig()
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    api_token: SecretStr | None = None
    #: Reads what may reveal secrets or raw payloads (dead letters, deliveries,
    #: the configuration); ``api_token`` reads them too.
    api_read_token: SecretStr | None = None
    channels: list[ChannelConfig] = []
    #: Events waiting for the store; a full queue stops reading from the broker.
    queue_max: int = Field(default=10_000, ge=10)
    #: Events committed per transaction at most.
    batch_max: int = Field(default=1_000, ge=1)
    retention_days: int = Field(default=400, ge=MIN_RETENTION_DAYS)
    #: A channel whose feed sent nothing (event or heartbeat) for this long is ``stale``.
    stale_after_s: float = Field(default=300.0, gt=0)
    #: Each channel's live state is checkpointed this often (0: never), so a
    #: restart restores it instead of replaying the live horizon's events.
    checkpoint_every_s: float = Field(default=300.0, ge=0)
    #: At restore, rows received this long before the checkpoint are read again
    #: (rows another instance committed while this one took the checkpoint).
    checkpoint_lookback_s: float = Field(default=3600.0, ge=0)
    #: Each channel's live state is compacted this often (0: never): items older
    #: than the live horizon and the versions held in memory are dropped (a
    #: restored item gets its versions back from the store when it needs them).
    compact_every_s: float = Field(default=21600.0, ge=0)
    #: Re-evaluation period, so slack and deadlines move without events.
    tick_s: float = Field(default=5.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: ``plain`` lines (time with its UTC offset) or ``json``, one object a line.
    log_format: Literal["plain", "json"] = "plain"
    alerts: AlertsConfig = AlertsConfig()
    #: Weekly reports sent to receivers (e-mail with the file attached, or a webhook).
    reports: list[ReportSchedule] = []
    #: The shard of channels this instance serves (``EFIR_SHARD``; docs/scaling.md).
    #: Required when the channels name shards, refused when they do not.
    shard: str | None = Field(default=None, pattern=CHANNEL_ID.pattern)
    #: Where users and the other instances reach this instance's API and board
    #: (``EFIR_PUBLIC_URL``), e.g. ``https://efir-north-1.example.kz``; default
    #: ``http://{http_host}:{http_port}``. The other instances name it for the
    #: channels this one serves.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=500)

    @model_validator(mode="after")
    def _report_receivers(self) -> Settings:
        receivers = {r.name: r.type for r in self.alerts.receivers}
        channels = {c.id for c in self.channels}
        for i, schedule in enumerate(self.reports):
            kind = receivers.get(schedule.receiver)
            if kind is None:
                msg = f"reports[{i}]: no receiver named {schedule.receiver!r} in alerts.receivers"
                raise ValueError(msg)
            if kind not in {"email", "webhook"}:
                msg = (
                    f"reports[{i}]: receiver {schedule.receiver!r} is {kind}; "
                    "reports go to email or webhook receivers"
                )
                raise ValueError(msg)
            unknown = sorted(set(schedule.channels) - channels)
            if unknown:
                msg = f"reports[{i}]: unknown channels {unknown}"
                raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _shards(self) -> Settings:
        named = [c.id for c in self.channels if c.shard is not None]
        if named and len(named) != len(self.channels):
            bare = [c.id for c in self.channels if c.shard is None]
            msg = (
                f"channels {bare} name no shard while {named[:3]} do: "
                "give every channel a shard, or none"
            )
            raise ValueError(msg)
        shards = list(dict.fromkeys(c.shard for c in self.channels if c.shard is not None))
        if self.shard is not None and self.shard not in shards:
            msg = (
                f"shard {self.shard!r} (EFIR_SHARD) serves no channel; the channels name {shards}"
                if shards
                else f"shard {self.shard!r} (EFIR_SHARD) is set but no channel names a shard"
            )
            raise ValueError(msg)
        return self

    @field_validator("mqtt_url")
    @classmethod
    def _valid_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            parse_mqtt_url(url.get_secret_value())
        return url

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, channels: list[ChannelConfig]) -> list[ChannelConfig]:
        for _, cid in _repeated(c.id for c in channels):
            msg = f"channel {cid!r} is listed twice"
            raise ValueError(msg)
        return channels

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the YAML file (passed as init values), then defaults."""
        del settings_cls, dotenv_settings, file_secret_settings
        return env_settings, init_settings

    # ------------------------------------------------------------- derived
    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL (default: SQLite in the data directory)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{(self.data_dir / 'efir.db').resolve()}"

    @property
    def embedded_broker(self) -> bool:
        """True when no broker is configured: Efir starts its own."""
        return self.mqtt_url is None

    @property
    def mqtt_target(self) -> MqttTarget:
        """The broker to connect to (the built-in one when none is configured)."""
        if self.mqtt_url is None:
            return MqttTarget(host="127.0.0.1", port=self.embedded_broker_port, tls=False)
        return parse_mqtt_url(self.mqtt_url.get_secret_value())

    def advertised_url(self, port: int | None = None) -> str:
        """Where this instance says it answers: ``public_url``, else ``http://host:port``.

        ``port``: the port actually bound (``http_port`` 0 picks one).
        """
        if self.public_url is not None:
            return self.public_url
        return f"http://{self.http_host}:{self.http_port if port is None else port}"

    def profiles(self) -> list[ChannelProfile]:
        """The configured channels as core profiles."""
        return [c.profile() for c in self.channels]


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment and the YAML file ``EFIR_CONFIG`` names.

    Raises:
        ConfigError: with every problem and where it is (file, key, line; or variable).
    """
    environ = dict(os.environ)
    path_text = overrides.get("config") or environ.get("EFIR_CONFIG")
    file_values: dict[str, Any] = {}
    marks: dict[tuple[str | int, ...], int] = {}
    path = Path(path_text) if path_text else None
    if path is not None:
        file_values, marks = _read_yaml(path)
    values = {**file_values, **overrides}
    if path is not None:
        values["config"] = path
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = _describe(exc, path, marks, environ)
        # Checks that pydantic runs only once every channel is valid, made on the
        # raw values so that one pass names every problem.
        for extra in _duplicate_channels(values.get("channels"), path, marks):
            if extra not in problems:
                problems.append(extra)
        raise ConfigError(problems) from None


def _duplicate_channels(
    channels: Any, path: Path | None, marks: dict[tuple[str | int, ...], int]
) -> list[str]:
    """``channel 'x' is listed twice`` for each repeated id among raw channel entries."""
    if not isinstance(channels, list):
        return []
    ids = (c.get("id") if isinstance(c, dict) else getattr(c, "id", None) for c in channels)
    out = []
    for i, cid in _repeated(ids):
        line = marks.get(("channels", i))
        where = f"{path}:{line}: channels" if path is not None and line else "channels"
        out.append(f"{where}: channel {cid!r} is listed twice")
    return out


def _repeated(ids: Iterable[object]) -> list[tuple[int, str]]:
    """``(position, id)`` of each channel id that an earlier entry already gave."""
    seen: set[str] = set()
    out = []
    for i, cid in enumerate(ids):
        if isinstance(cid, str):
            if cid in seen:
                out.append((i, cid))
            seen.add(cid)
    return out


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[str | int, ...], int]]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read the configuration file ({exc.strerror})"
        raise ConfigError([msg]) from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(path, exc)]) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        msg = f"{path}: the file must hold a mapping (keys such as channels:, mqtt:)"
        raise ConfigError([msg])
    marks: dict[tuple[str | int, ...], int] = {}
    _collect_marks(node, (), marks)
    return data, marks


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    """Where and why the YAML is broken, without quoting the file (it may hold passwords)."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"{path}: not valid YAML"
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    why = "; ".join(p for p in (exc.context, exc.problem) if p)
    return f"{where}: not valid YAML: {why or 'syntax error'}"


def _collect_marks(
    node: yaml.Node | None, at: tuple[str | int, ...], out: dict[tuple[str | int, ...], int]
) -> None:
    """Remember the line of every key and list item (1-based), for error messages."""
    if node is None:
        return
    out[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _collect_marks(value, (*at, str(key.value)), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _collect_marks(value, (*at, i), out)


def _describe(
    exc: ValidationError,
    path: Path | None,
    marks: dict[tuple[str | int, ...], int],
    environ: dict[str, str],
) -> list[str]:
    out = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(
            p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        env_name = "EFIR_" + "__".join(str(p) for p in loc).upper()
        message = error["msg"].removeprefix("Value error, ")
        if env_name in environ:
            where = f"{env_name} (environment)"
        elif path is not None and loc and (loc[0] != "config"):
            line = _nearest_line(loc, marks)
            where = f"{path}:{line}: {dotted}" if line else f"{path}: {dotted}"
        else:
            where = dotted or "settings"
        out.append(f"{where}: {message}")
    return out


def _nearest_line(
    loc: tuple[str | int, ...], marks: dict[tuple[str | int, ...], int]
) -> int | None:
    for n in range(len(loc), 0, -1):
        line = marks.get(loc[:n])
        if line is not None:
            return line
    return None


def describe(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets masked (``efir check-config``)."""
    data: dict[str, Any] = settings.model_dump(mode="json")
    for key in ("database_url", "mqtt_url", "api_token", "api_read_token"):
        if data.get(key) is not None:
            data[key] = "**********"
    if settings.database_url is None:
        data["database_url"] = f"(default) {settings.db_url}"
    data["mqtt_broker"] = "(built-in) " if settings.embedded_broker else ""
    data["mqtt_broker"] += str(settings.mqtt_target)
    plan: dict[str, list[str]] = {}
    for c in settings.channels:
        if c.shard is not None:
            plan.setdefault(c.shard, []).append(c.id)
    if plan:
        # What each shard's instances serve (docs/scaling.md); the first answers
        # for unknown channels and Efir's own alerts.
        data["shards"] = plan
    from efir.logs import secrets_of  # noqa: PLC0415 - logs imports pydantic models only

    masked: dict[str, Any] = _masked(data, secrets_of(settings))
    return masked


def _masked(value: Any, secrets: list[str]) -> Any:
    """``value`` with every string passed through :func:`efir.redact.redact`."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    return value
