"""efir check-config and efir run: every problem in one pass, one sentence, no traceback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from typer.testing import CliRunner

from efir.cli import app

runner = CliRunner()


def test_check_config_names_every_problem_in_one_pass(tmp_path: Path) -> None:
    config = tmp_path / "efir.yaml"
    config.write_text(
        "channels:\n"
        "  - {id: a, timezone: Mars/Olympus}\n"
        "  - {id: a}\n"
        "  - {id: b, rule_pack: nope}\n"
        "alerts:\n"
        "  receivers:\n"
        "    - {name: hook, type: webhook, url: 'ftp://user:pw@x/y'}\n"
    )
    result = runner.invoke(app, ["check-config", "--config", str(config)])
    assert result.exit_code == 2
    for problem in (
        ":2: channels[0]: unknown IANA time zone 'Mars/Olympus'",
        ":3: channels: channel 'a' is listed twice",
        ":4: channels[2]: rule pack 'nope'",
        ":7: alerts.receivers[0].webhook.url",
    ):
        assert problem in result.stderr, result.stderr
    # Rich markup no longer eats the brackets of a pattern.
    assert "'^https?://'" in result.stderr
    assert "pw" not in result.stderr


def test_a_yaml_syntax_error_does_not_quote_the_file(tmp_path: Path) -> None:
    config = tmp_path / "efir.yaml"
    config.write_text('channels:\n  - {id: a}\nmqtt:\n  password: "s3cr3t-pass\n  x: [\n')
    result = runner.invoke(app, ["check-config", "--config", str(config)])
    assert result.exit_code == 2
    assert "not valid YAML" in result.stderr
    assert "s3cr3t" not in result.stderr


def test_efir_run_with_its_http_port_taken_says_so_in_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(
            app,
            ["run"],
            env={
                "EFIR_HTTP_PORT": str(port),
                "EFIR_MQTT_URL": "mqtt://127.0.0.1:1",
                "EFIR_DATA_DIR": str(tmp_path),
            },
        )
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"EFIR_HTTP_PORT={port + 1}" in result.stderr
    assert "Traceback" not in result.output


def test_check_config_shows_each_shard_and_refuses_a_half_sharded_list(tmp_path: Path) -> None:
    config = tmp_path / "efir.yaml"
    config.write_text(
        "channels:\n"
        "  - {id: a, shard: north}\n"
        "  - {id: b, shard: south}\n"
        "  - {id: c, shard: north}\n"
    )
    result = runner.invoke(app, ["check-config", "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["shards"] == {"north": ["a", "c"], "south": ["b"]}
    config.write_text("channels:\n  - {id: a, shard: north}\n  - {id: b}\n")
    result = runner.invoke(app, ["check-config", "--config", str(config)])
    assert result.exit_code == 2
    assert "channels ['b'] name no shard" in result.stderr
    config.write_text("channels:\n  - {id: a, shard: north}\n")
    result = runner.invoke(
        app, ["check-config", "--config", str(config)], env={"EFIR_SHARD": "east"}
    )
    assert result.exit_code == 2
    assert "shard 'east' (EFIR_SHARD) serves no channel" in result.stderr


def test_run_refuses_a_sharded_list_without_its_shard(tmp_path: Path) -> None:
    config = tmp_path / "efir.yaml"
    config.write_text("channels:\n  - {id: a, shard: north}\n")
    result = runner.invoke(
        app,
        ["run", "--seconds", "1"],
        env={
            "EFIR_CONFIG": str(config),
            "EFIR_DATA_DIR": str(tmp_path / "data"),
            "EFIR_MQTT_URL": "mqtt://127.0.0.1:1",
        },
    )
    assert result.exit_code == 2
    assert "set EFIR_SHARD" in result.stderr
