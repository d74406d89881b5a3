"""The dashboards: generated from code, valid for the SDK's schema, naming only real metrics."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import prometheus
from prometheus_client.parser import text_string_to_metric_families

from efir.config.alerts import AlertsConfig, WebhookReceiver
from tests.dashboards import DASHBOARDS, GRAFANA, METRIC, generator, load, targets, variable_queries
from tests.unit.api.inprocess import AUTH, event, in_process


def _json(obj: Any) -> Any:
    return json.loads(json.dumps(obj, cls=JSONEncoder))


def test_three_dashboards_are_committed() -> None:
    assert [p.name for p in DASHBOARDS] == [
        "efir-channel.json",
        "efir-fleet.json",
        "efir-operations.json",
    ]


def test_committed_json_is_what_the_generator_writes() -> None:
    rendered = generator().render()
    assert sorted(rendered) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text() == rendered[path.name], (
            f"{path.name} is stale: run python grafana/generate.py"
        )


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_round_trips_through_the_sdk_schema(path: Path) -> None:
    """Decoding into the SDK's typed models and back loses nothing: no unknown or mistyped key."""
    model = load(path)
    assert _json(dashboard_model.Dashboard.from_json(model)) == model
    assert model["schemaVersion"] >= 39
    ids = [p["id"] for p in model["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in model["panels"]:
        if panel["type"] == "row":
            continue
        module = importlib.import_module(f"grafana_foundation_sdk.models.{panel['type']}")
        if "options" in panel:
            assert _json(module.Options.from_json(panel["options"])) == panel["options"]
        custom = panel["fieldConfig"]["defaults"].get("custom")
        if custom is not None:
            assert _json(module.FieldConfig.from_json(custom)) == custom
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert _json(prometheus.Dataquery.from_json(target)) == target
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["description"], f"{panel['title']}: say what the panel means"


def test_the_schema_check_catches_a_misspelt_option() -> None:
    model = load(GRAFANA / "dashboards" / "efir-fleet.json")
    panel = next(p for p in model["panels"] if p["type"] == "stat")
    module = importlib.import_module("grafana_foundation_sdk.models.stat")
    wrong = {**panel["options"], "colourMode": "background"}
    assert _json(module.Options.from_json(wrong)) != wrong


def test_dashboards_have_channel_and_rule_variables() -> None:
    names = {(uid, name) for uid, name, _ in variable_queries()}
    for uid in ("efir-fleet", "efir-channel"):
        assert (uid, "channel") in names
        assert (uid, "rule") in names


async def _exported_metric_names(tmp_path: Path) -> set[str]:
    """Every sample name a daemon with one channel, one event and one receiver exports."""
    desk = WebhookReceiver(type="webhook", name="desk", url="http://127.0.0.1:1/")
    async with in_process(tmp_path, alerts=AlertsConfig(receivers=[desk])) as (http, _):
        assert (await http.post("/api/v1/events", json=event(), headers=AUTH)).status_code == 200
        text = (await http.get("/metrics")).text
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
    return names


async def test_every_metric_a_dashboard_names_is_exported(tmp_path: Path) -> None:
    exported = await _exported_metric_names(tmp_path)
    named = {m for t in targets() for m in METRIC.findall(t.expr)}
    named |= {m for _, _, q in variable_queries() for m in METRIC.findall(q)}
    assert named, "no metric found in the dashboards"
    missing = sorted(named - exported)
    assert not missing, f"dashboards name metrics Efir does not export: {missing}"


async def test_every_metric_a_prometheus_rule_names_is_exported(tmp_path: Path) -> None:
    rules = yaml.safe_load(
        (GRAFANA.parent / "deploy" / "prometheus" / "efir-rules.yml").read_text()
    )
    named = {m for g in rules["groups"] for r in g["rules"] for m in METRIC.findall(r["expr"])}
    exported = await _exported_metric_names(tmp_path)
    assert named
    assert not sorted(named - exported)


def test_provisioning_points_grafana_at_the_dashboards() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "efir.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "efir.yaml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]
