"""Small builders for tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from efir.core.alerting.alert import Alert, Severity, State
from efir.core.channel import ChannelProfile
from efir.core.engine import ChannelEngine
from efir.core.event import INHERITABLE, AsRunEvent, Kind, Layer, Phase
from efir.core.rules import Media
from efir.core.schedule import OnAirSchedule
from efir.core.timebase import seconds_to_us, to_us
from efir.rulepacks import load_pack

ALMATY = ZoneInfo("Asia/Almaty")
KZ = load_pack("kz")


def at(*args: int, tz: ZoneInfo = ALMATY) -> int:
    """Local wall time (fold=0) in ``tz`` as microseconds UTC."""
    return to_us(datetime(*args, tzinfo=tz))  # type: ignore[misc]


def ev(
    event_id: str,
    start: int | None,
    seconds: float | None,
    kind: str = "program",
    *,
    phase: str = "complete",
    language: str | None = "kk",
    given: frozenset[str] | None = None,
    **fields: object,
) -> AsRunEvent:
    """An event of channel ``c`` with a duration in seconds."""
    return AsRunEvent(
        channel="c",
        event_id=event_id,
        phase=Phase(phase),
        start=start,
        duration=None if seconds is None else seconds_to_us(seconds),
        kind=Kind(kind),
        layer=Layer(fields.pop("layer", "primary")),
        language=language,
        given=frozenset(INHERITABLE) if given is None else given,
        **fields,  # type: ignore[arg-type]
    )


def engine(
    *,
    media: Media = Media.TV,
    tz: str = "Asia/Almaty",
    flags: frozenset[str] = frozenset({"domestic"}),
    enable: frozenset[str] = frozenset(),
    mourning: frozenset = frozenset(),  # type: ignore[type-arg]
    pack: str = "kz",
    on_air: tuple[str, ...] = (),
) -> ChannelEngine:
    """A channel engine for channel ``c`` with the given pack (and on-air hours)."""
    channel = ChannelProfile(
        "c",
        media=media,
        timezone=tz,
        flags=flags,
        enable=enable,
        mourning_dates=mourning,
        on_air=OnAirSchedule.parse(on_air),
    )
    return ChannelEngine(channel, load_pack(pack).rules)


def by_rule(results: list, rule: str) -> list:  # type: ignore[type-arg]
    """Filter window results of one rule."""
    return [r for r in results if r.rule == rule]


def firing_alert(fingerprint: str, *, at: int, **fields: object) -> Alert:
    """A firing ``EfirQuotaRisk`` warning on qaz-tv's ``lang_6h`` since ``at``; ``fields`` override."""
    values: dict[str, object] = {
        "fingerprint": fingerprint,
        "alertname": "EfirQuotaRisk",
        "channel": "qaz-tv",
        "rule": "lang_6h",
        "window": "w",
        "state": State.FIRING,
        "severity": Severity.WARNING,
        "summary": "s",
        "description": "d",
        "active_since": at,
        "episode": at,
        "starts_at": at,
    }
    return Alert(**(values | fields))  # type: ignore[arg-type]
