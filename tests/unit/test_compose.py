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


def test_worker_and_api_read_one_required_key_ring_file(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """Both encrypt and decrypt the same histories, so both read the same env file;
    a missing file stops `docker compose up` rather than storing plain text."""
    services = compose["services"]
    files = [services[name]["env_file"] for name in ("worker", "api")]
    assert files[0] == files[1] == [{"path": "./encryption.env", "required": True}]
    for ignore in (".gitignore", ".dockerignore"):
        assert "encryption.env" in (ROOT / ignore).read_text().splitlines()

    # The file the compose header's command writes is what Settings reads.
    from hybridagent.config import Settings
    from hybridagent.security.keys import configured_ring, generate_ring

    ring = generate_ring()
    env_file = tmp_path / "encryption.env"
    env_file.write_text(f"HYBRIDAGENT_ENCRYPTION_KEYS={ring.serialise().strip()}\n")
    assert (
        "HYBRIDAGENT_ENCRYPTION_KEYS=$(hybridagent codec keygen --print)"
        in (ROOT / "docker-compose.yml").read_text()
    )
    settings = Settings(_env_file=env_file, state_dir=tmp_path)  # type: ignore[call-arg]
    loaded = configured_ring(settings)
    assert loaded is not None and loaded.active == ring.active and loaded.keys == ring.keys
