"""docker-compose.yml against the Compose specification's JSON schema (vendored by
check-jsonschema), plus the wiring a worker needs. No Docker engine runs here.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_valid_against_compose_spec(compose: dict[str, Any]) -> None:
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose, schema)


def test_schema_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    broken = {**compose, "services": {**compose["services"], "worker": {"depends_on": 7}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(schema_file.read_text()))


def test_services_are_wired_together(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgresql", "temporal", "temporal-ui", "ollama", "worker"} <= set(services)
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"
    worker = services["worker"]
    assert worker["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert worker["environment"]["OLLAMA_HOST"] == "http://ollama:11434"
    assert (ROOT / worker["build"]["dockerfile"]).exists()
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_the_api_shares_redis_keys_and_the_task_queue(compose: dict[str, Any]) -> None:
    services = compose["services"]
    api, worker, redis = services["api"], services["worker"], services["redis"]
    env = api["environment"]
    assert api["command"] == ["hybridagent", "serve"]
    assert env["HYBRIDAGENT_API_HOST"] == "0.0.0.0"  # reachable from outside the container
    assert api["ports"] == [f"{env['HYBRIDAGENT_API_PORT']}:{env['HYBRIDAGENT_API_PORT']}"]
    assert env["HYBRIDAGENT_REDIS_URL"] == "redis://redis:6379/0"
    assert "6379" not in str(redis.get("ports", ""))  # Redis is not published
    assert "--appendonly" in redis["command"]  # budgets' spend survives a restart
    assert {"temporal", "redis", "postgresql"} <= set(api["depends_on"])
    assert all(dep["condition"] == "service_healthy" for dep in api["depends_on"].values())
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "HYBRIDAGENT_TASK_QUEUE"):
        assert env[name] == worker["environment"][name]
    database = env["HYBRIDAGENT_DATABASE_URL"]
    postgres = services["postgresql"]["environment"]
    assert database.startswith("postgresql://") and database.endswith(
        f"@postgresql:5432/{postgres['POSTGRES_DB']}"
    )
    # The key secret and the agent files live in a volume both API and worker mount.
    state = env["HYBRIDAGENT_STATE_DIR"]
    assert worker["environment"]["HYBRIDAGENT_STATE_DIR"] == state
    for service in (api, worker):
        assert f"hybridagent-state:{state}" in service["volumes"]
    # The API holds no provider key (workers do).
    assert not any(name.endswith("_API_KEY") for name in env)
    assert {"redis-data", "hybridagent-state"} <= set(compose["volumes"])
