"""The committed Grafana dashboards, read the way the tests need them."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
METRIC = re.compile(r"\b(efir_[a-z0-9_]+)")
LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def generator() -> ModuleType:
    """``grafana/generate.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("efir_grafana_generate", GRAFANA / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


@dataclass(frozen=True)
class Target:
    dashboard: str
    panel: str
    panel_type: str
    expr: str
    legend: str
    instant: bool

    def labels(self) -> set[str]:
        """Labels the legend names: each series must carry them."""
        return set(LEGEND_LABEL.findall(self.legend))

    def substitute(self, values: dict[str, str], rate_interval: str) -> str:
        """The query as Grafana sends it, with ``values`` for the template variables."""
        expr = self.expr.replace("$__rate_interval", rate_interval)
        for name in sorted(values, key=len, reverse=True):
            expr = expr.replace(f"${{{name}}}", values[name]).replace(f"${name}", values[name])
        assert "$" not in expr, expr
        return expr


def targets() -> Iterator[Target]:
    """Every query of every panel of every committed dashboard."""
    for path in DASHBOARDS:
        model = load(path)
        for panel in model["panels"]:
            for t in panel.get("targets", []):
                yield Target(
                    model["uid"],
                    panel["title"],
                    panel["type"],
                    t["expr"],
                    t.get("legendFormat", ""),
                    bool(t.get("instant")),
                )


def variable_queries() -> Iterator[tuple[str, str, str]]:
    """``(dashboard uid, variable name, query)`` of every query variable."""
    for path in DASHBOARDS:
        model = load(path)
        for var in model["templating"]["list"]:
            if var["type"] == "query":
                yield model["uid"], var["name"], var["query"]
