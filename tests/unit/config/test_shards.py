"""Shards: the configuration's checks and what one instance of a shard keeps of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from efir.compose import api_context, build
from efir.config.alerts import AlertsConfig
from efir.config.settings import ChannelConfig, ConfigError, ReportSchedule, Settings
from efir.config.shards import SYSTEM_SCOPE, ShardMap

BASE = 0x4546524C


def _settings(shard: str | None, **extra: object) -> Settings:
    return Settings(
        channels=[
            ChannelConfig(id="n1", shard="north"),
            ChannelConfig(id="s1", shard="south"),
            ChannelConfig(id="n2", shard="north"),
        ],
        shard=shard,
        **extra,  # type: ignore[arg-type]
    )


def test_either_every_channel_names_a_shard_or_none_does() -> None:
    with pytest.raises(ValidationError, match=r"channels \['b'\] name no shard"):
        Settings(channels=[ChannelConfig(id="a", shard="x"), ChannelConfig(id="b")])


def test_the_instance_shard_must_be_one_the_channels_name() -> None:
    with pytest.raises(ValidationError, match=r"shard 'east' \(EFIR_SHARD\) serves no channel"):
        _settings("east")
    with pytest.raises(ValidationError, match="no channel names a shard"):
        Settings(channels=[ChannelConfig(id="a")], shard="north")


def test_sharded_channels_need_the_instance_to_name_its_shard() -> None:
    with pytest.raises(ConfigError, match="set EFIR_SHARD"):
        ShardMap.of(_settings(None))


def test_without_shards_the_instance_serves_everything() -> None:
    settings = Settings(channels=[ChannelConfig(id="a"), ChannelConfig(id="b")])
    shards = ShardMap.of(settings)
    assert not shards.sharded
    assert shards.primary
    assert shards.channels() == ["a", "b"]
    assert shards.elsewhere("a") is None
    assert shards.alert_scope() is None
    assert shards.lock_id(BASE) == BASE
    assert shards.local(settings) is settings


def test_an_instance_keeps_its_shard_and_knows_where_the_rest_is() -> None:
    north, south = ShardMap.of(_settings("north")), ShardMap.of(_settings("south"))
    assert north.shards == ("north", "south")  # the order the channel list names them
    assert north.primary
    assert not south.primary
    assert north.channels() == ["n1", "n2"]
    assert south.channels() == ["s1"]
    assert north.serves("n2")
    assert not north.serves("s1")
    assert not north.serves("ghost")
    assert north.elsewhere("s1") == "south"
    assert south.elsewhere("n1") == "north"
    assert north.elsewhere("n1") is None
    assert north.elsewhere("ghost") is None
    # Efir's own alerts belong to the first shard only.
    assert north.alert_scope() == {"n1", "n2", SYSTEM_SCOPE}
    assert south.alert_scope() == {"s1"}


@given(
    st.lists(
        st.from_regex(r"^[a-z][a-z0-9-]{0,20}$", fullmatch=True),
        min_size=2,
        max_size=8,
        unique=True,
    )
)
def test_each_shard_elects_its_own_leader(names: list[str]) -> None:
    settings = [
        Settings(
            channels=[ChannelConfig(id=f"c{i}", shard=n) for i, n in enumerate(names)], shard=n
        )
        for n in names
    ]
    ids = [ShardMap.of(s).lock_id(BASE) for s in settings]
    assert len(set(ids)) == len(ids)  # CRC-32 of distinct short names: distinct locks
    assert all(0 <= i < 2**63 for i in ids)  # a PostgreSQL bigint


def test_local_settings_hold_the_shards_channels_and_reports() -> None:
    alerts = AlertsConfig.model_validate(
        {"receivers": [{"name": "mail", "type": "webhook", "url": "https://hooks.example.kz/efir"}]}
    )
    settings = _settings(
        "south",
        alerts=alerts,
        reports=[
            ReportSchedule(receiver="mail", channels=["n1"]),
            ReportSchedule(receiver="mail", channels=["n1", "s1"]),
            ReportSchedule(receiver="mail"),
        ],
    )
    local = ShardMap.of(settings).local(settings)
    assert [c.id for c in local.channels] == ["s1"]
    # A schedule of north's channels only is north's; "every channel" stays.
    assert [r.channels for r in local.reports] == [["s1"], []]


def test_build_wires_the_shard(tmp_path: Path) -> None:
    settings = _settings(
        "south",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}",
        mqtt_url="mqtt://127.0.0.1:1",
    )
    parts = build(settings, now_us=lambda: 0).parts
    assert list(parts.monitor.channels) == ["s1"]
    assert parts.leadership.lock_id == ShardMap.of(settings).lock_id(BASE) != BASE
    assert parts.alert_store.scope == {"s1"}
    assert parts.alert_store.outbox.scope == {"s1"}
    assert not parts.alerter.system
    assert parts.alerter.shared_state
    assert parts.consumer.topic_filters() == [
        f"asrun/s1/{leaf}" for leaf in ("event", "status", "heartbeat", "plan")
    ]
    assert api_context(parts).channel_names == {"n1": None, "s1": None, "n2": None}
    north = build(settings.model_copy(update={"shard": "north"}), now_us=lambda: 0).parts
    assert north.consumer.topic_filters()[0] == "asrun/+/event"  # it dead-letters the unknown
    assert north.alerter.system
