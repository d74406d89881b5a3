"""Configuration: YAML + EFIR_* environment, every error with its location, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from efir.config.settings import ConfigError, describe, load_settings, parse_mqtt_url


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "efir.yaml"
    path.write_text(
        "http_port: 9000\nchannels:\n  - {id: qaz-tv}\n  - {id: qaz-fm, media: radio}\n"
    )
    monkeypatch.setenv("EFIR_CONFIG", str(path))
    monkeypatch.setenv("EFIR_HTTP_PORT", "9100")
    monkeypatch.setenv("EFIR_MQTT__TOPIC_PREFIX", "playout")
    s = load_settings()
    assert s.http_port == 9100
    assert s.mqtt.topic_prefix == "playout"
    assert [c.id for c in s.channels] == ["qaz-tv", "qaz-fm"]
    assert s.embedded_broker
    assert s.db_url.startswith("sqlite+aiosqlite:///")


def test_every_error_names_file_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "efir.yaml"
    path.write_text(
        "channels:\n"
        "  - id: qaz-tv\n"
        "    timezone: Mars/Olympus\n"
        "  - id: BAD ID\n"
        "retention_days: 30\n"
    )
    monkeypatch.setenv("EFIR_CONFIG", str(path))
    monkeypatch.setenv("EFIR_MQTT_URL", "http://broker")
    with pytest.raises(ConfigError) as info:
        load_settings()
    errors = info.value.errors
    assert any(e.startswith(f"{path}:2: channels[0]") and "Mars/Olympus" in e for e in errors)
    assert any(e.startswith(f"{path}:4: channels[1].id") for e in errors)
    assert any(e.startswith(f"{path}:5: retention_days") for e in errors)
    assert any(e.startswith("EFIR_MQTT_URL (environment)") and "mqtt://" in e for e in errors)


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EFIR_MQTT_URL", "mqtts://efir:s3cret@broker.example:8883")
    monkeypatch.setenv("EFIR_API_TOKEN", "tok-123")
    monkeypatch.setenv("EFIR_DATABASE_URL", "postgresql+asyncpg://efir:pw@db/efir")
    s = load_settings()
    text = json.dumps(describe(s)) + repr(s) + str(s.mqtt_target)
    for secret in ("s3cret", "tok-123", ":pw@"):
        assert secret not in text
    assert s.mqtt_target.tls
    assert s.mqtt_target.port == 8883


def test_mqtt_urls() -> None:
    t = parse_mqtt_url("mqtt://user%40x:p%3Ass@10.0.0.5")
    assert (t.host, t.port, t.username, t.tls) == ("10.0.0.5", 1883, "user@x", False)
    assert t.password is not None
    assert t.password.get_secret_value() == "p:ss"
    with pytest.raises(ValueError, match="mqtt://"):
        parse_mqtt_url("tcp://x")
