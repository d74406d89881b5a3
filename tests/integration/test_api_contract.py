"""The HTTP API against its own OpenAPI document: a valid schema, and fuzzed without a 5xx.

openapi-spec-validator checks the document; schemathesis (bounded: a fixed
number of generated requests per operation, loopback only) sends requests
made from it to a running daemon and checks that none gives a server error
and that every answer matches the schema.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.integration.live import api, running, settings_for
from tests.services import MQTT_HOST, MQTT_PORT, require_port, unique_prefix

pytestmark = pytest.mark.integration
AUTH = {"Authorization": "Bearer test-token"}
#: Generated requests per operation (the whole run stays under a minute).
EXAMPLES = 30
#: Never-ending responses, not fuzzed.
SKIP = {"/api/v1/board/events"}


def _fuzz(base: str) -> tuple[list[str], dict[str, int]]:
    """Problems found, and the requests sent per operation."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    problems: list[str] = []
    sent: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIP:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=AUTH, timeout=20)
            label = f"{case.method} {case.operation.path}"
            sent[label] = sent.get(label, 0) + 1
            try:
                case.validate_response(
                    response,
                    checks=(
                        not_a_server_error,
                        status_code_conformance,
                        response_schema_conformance,
                    ),
                )
            except AssertionError as exc:  # schemathesis reports failures as AssertionError
                problems.append(f"{case.method} {case.formatted_path}: {str(exc)[:400]}")

        check()
    return problems, sent


async def test_the_api_matches_its_schema_and_gives_no_server_error(tmp_path: Path) -> None:
    require_port(MQTT_HOST, MQTT_PORT, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    prefix = unique_prefix()
    config = settings_for(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'efir.db'}",
        mqtt_url=f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
        prefix=prefix,
        data_dir=tmp_path,
        api_read_token="read-token",  # noqa: S106 - a test token
    )
    async with running(config) as service, api(service) as http:
        spec = (await http.get("/openapi.json")).json()
        validate(spec)  # raises with the first problem
        ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
        assert len(ids) == len(set(ids))
        assert "requestBody" in spec["paths"]["/api/v1/events"]["post"]
        status = spec["components"]["schemas"]["RuleStatus"]["properties"]["status"]
        assert "$ref" in status or "enum" in status
        docs = await http.get("/docs")
        assert "cdn" not in docs.text
        assert "https://" not in docs.text
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert (await http.get(f"/static-offline-docs/{asset}")).status_code == 200
        base = str(http.base_url).rstrip("/")
        problems, sent = await asyncio.to_thread(_fuzz, base)
        assert problems == []
        assert len(sent) >= 20  # every operation but the stream
        assert sum(sent.values()) >= 10 * len(sent)
        # Still alive and serving after the fuzzing.
        assert (await http.get("/healthz")).status_code == 200
        assert service.ingest.store_error is None
