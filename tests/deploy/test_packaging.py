"""deploy/ and the Dockerfile, checked with the real tools (docker is not on this machine).

- compose.yaml is valid against the compose specification (check-jsonschema's
  vendored schema), every file it mounts exists, and promtool accepts the
  Prometheus configuration *as mounted* (rules found, Efir scraped by its
  service name); Grafana gets its datasource and the dashboards' folder.
- The Dockerfile is clean under hadolint; its health check is exec-form and
  honours EFIR_HTTP_PORT (``efir healthcheck``).
- The systemd unit's exposure (``systemd-analyze security``) is 3 or less.
- The Kubernetes sidecar never has a readiness probe (it would take the
  playout Pod out of service when the broker is down).
- The Kubernetes fleet runs a pair per shard the channel list names, each pod
  with its own client id and address, on a configuration Efir accepts.
"""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from efir.config.settings import Settings
from efir.config.shards import ShardMap

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"{name} is missing: ./scripts/test installs it")
    return found


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def _mounts(service: str) -> list[tuple[Path, str]]:
    out = []
    for volume in _compose()["services"][service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            out.append(((DEPLOY / source).resolve(), target))
    return out


def test_compose_is_valid_against_the_compose_specification() -> None:
    done = _run(
        _tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.compose-spec",
        str(DEPLOY / "compose.yaml"),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_file_compose_mounts_exists() -> None:
    services = _compose()["services"]
    mounted = [m for name in services for m in _mounts(name)]
    assert len(mounted) >= 7
    missing = [str(source) for source, _ in mounted if not source.exists()]
    assert missing == []


def test_prometheus_as_mounted_loads_the_rules_and_scrapes_efir(tmp_path: Path) -> None:
    """Lay the mounted files out as the container sees them, then ask promtool."""
    root = tmp_path / "container"
    for source, target in _mounts("prometheus"):
        dest = root / target.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, dest)
    config = root / "etc/prometheus/prometheus.yml"
    done = _run(_tool("promtool"), "check", "config", str(config), cwd=config.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout + done.stderr
    targets = yaml.safe_load(config.read_text())["scrape_configs"][0]["static_configs"][0][
        "targets"
    ]
    efir_port = _compose()["services"]["efir"]["ports"][0].split(":")[-1]
    assert targets == [f"efir:{efir_port}"]  # the compose service, not Prometheus itself


def test_grafana_is_provisioned_with_the_datasource_and_dashboards() -> None:
    mounts = {target: source for source, target in _mounts("grafana")}
    datasource = yaml.safe_load(
        mounts["/etc/grafana/provisioning/datasources/efir.yaml"].read_text()
    )
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load(mounts["/etc/grafana/provisioning/dashboards/efir.yaml"].read_text())
    folder = provider["providers"][0]["options"]["path"]
    assert folder in mounts
    assert len(list(mounts[folder].glob("*.json"))) >= 3
    uids = {
        ds["uid"]
        for ds in yaml.safe_load((ROOT / "grafana/provisioning/datasources/efir.yaml").read_text())[
            "datasources"
        ]
    }
    assert datasource["datasources"][0]["uid"] in uids


def test_dockerfile_is_clean_under_hadolint() -> None:
    done = _run(_tool("hadolint"), "--no-color", "Dockerfile")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER [0-9]+(:[0-9]+)?$", text, re.MULTILINE)
    assert (
        'HEALTHCHECK --interval=15s --timeout=3s --start-period=30s CMD ["efir", "healthcheck"]'
        in text
    )


def test_systemd_unit_exposure_is_3_or_less() -> None:
    done = _run(
        _tool("systemd-analyze"),
        "security",
        "--offline=true",
        "--no-pager",
        str(DEPLOY / "efir.service"),
    )
    found = re.search(r"Overall exposure level for efir.service: ([0-9.]+)", done.stdout)
    assert found is not None, done.stdout + done.stderr
    assert float(found.group(1)) <= 3.0, done.stdout


def test_the_kubernetes_sidecar_never_gates_the_playout_pod() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes/efir-sidecar.yaml").read_text()))
    pod = next(d for d in docs if d["kind"] == "Pod")
    spec = pod["spec"]
    every = spec.get("initContainers", []) + spec["containers"]
    efir = next(c for c in every if c["name"] == "efir")
    assert "readinessProbe" not in efir
    assert efir["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert efir["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert efir in spec["initContainers"]
    assert efir["restartPolicy"] == "Always"  # a native sidecar


def test_the_kubernetes_fleet_runs_a_pair_per_shard_of_one_channel_list() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes/efir-shards.yaml").read_text()))
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["efir.yaml"]
    channels = yaml.safe_load(config)["channels"]
    named = {c["shard"] for c in channels}
    sets = [d for d in docs if d["kind"] == "StatefulSet"]
    headless = {
        d["metadata"]["name"]
        for d in docs
        if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"
    }
    served = set()
    for st in sets:
        spec = st["spec"]
        (container,) = spec["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        shard = env["EFIR_SHARD"]["value"]
        served.add(shard)
        assert spec["replicas"] == 2  # an active/standby pair
        assert spec["serviceName"] in headless
        assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert env["EFIR_MQTT__CLIENT_ID"]["value"] == "$(POD_NAME)"  # its own broker session
        assert env["EFIR_PUBLIC_URL"]["value"] == f"http://$(POD_NAME).{spec['serviceName']}:8080"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        # The file and the shard make a configuration an instance accepts.
        url = env["EFIR_PUBLIC_URL"]["value"].replace("$(POD_NAME)", "efir-x-0")
        settings = Settings(channels=channels, shard=shard, public_url=url)
        shards = ShardMap.of(settings)
        assert shards.channels()
    assert served == named  # every shard the channels name has its pair


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_efir_healthcheck_honours_efir_http_port(tmp_path: Path) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    efir = str(Path(sys.executable).parent / "efir")
    env = {"PATH": "/usr/bin:/bin", "EFIR_HTTP_PORT": str(port), "HOME": str(tmp_path)}
    try:
        ok = subprocess.run(
            [efir, "healthcheck"], env=env, capture_output=True, timeout=30, check=False
        )
        assert ok.returncode == 0, ok.stderr
        ready = subprocess.run(
            [efir, "healthcheck", "--ready"], env=env, capture_output=True, timeout=30, check=False
        )
        assert ready.returncode == 1
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    env["EFIR_HTTP_PORT"] = str(free)
    down = subprocess.run(
        [efir, "healthcheck"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert down.returncode == 1
    assert f"127.0.0.1:{free}/healthz" in down.stderr
