"""A run's start in one local activity (activities/run_start.py): it resolves a user
agent, sets up routing for the agent's model and scans the prompt as the router's first
call would, and the router takes that verdict only when its own scan would be the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from hybridagent.activities.agent_specs import AgentSpecActivities
from hybridagent.activities.models import ModelActivities
from hybridagent.activities.privacy import PrivacyActivities
from hybridagent.activities.run_start import RunStartActivities
from hybridagent.activity_io import (
    ResolveAgentRequest,
    StartedRun,
    StartRunRequest,
)
from hybridagent.agents.catalog import BUILTIN_AGENTS
from hybridagent.agents.files import AgentStore
from hybridagent.agents.spec import AgentSpec
from hybridagent.providers.base import ModelBackend
from hybridagent.providers.hybrid import HybridModelProvider
from hybridagent.routing.preferences import RoutingPreferences, RoutingSettings
from hybridagent.testing.scripted_model import ScriptedModel
from hybridagent.workflows.call_router import CallRouter, RoutedCall, prompt_parts
from tests.unit.test_call_router import Scanner

SSN = "My SSN is 512-48-7730; which tax form do I need?"
PIRATE = AgentSpec(name="start-pirate", instructions="Answer like a pirate.", model="local/m")


def activities(tmp_path: Path, routing: RoutingSettings | None = None) -> RunStartActivities:
    AgentStore(tmp_path).save(PIRATE)
    backends = {"local": ModelBackend("local", lambda model: ScriptedModel())}
    provider = HybridModelProvider(backends, "local/m")
    models = ModelActivities(provider, routing or RoutingSettings())
    return RunStartActivities(AgentSpecActivities(tmp_path), models, PrivacyActivities())


async def start(run: RunStartActivities, request: StartRunRequest) -> StartedRun:
    result: StartedRun = await ActivityEnvironment().run(run.start_run, request)
    return result


def router_for(started: StartedRun, spec: AgentSpec, scanner: Scanner) -> CallRouter:
    preferences = started.setup.preferences_for(None, spec.routing)
    return CallRouter(preferences, started.setup, scanner, prescan=started.prescan)


async def test_a_user_agent_is_resolved_and_its_model_set_up(tmp_path: Path) -> None:
    request = StartRunRequest(resolve=ResolveAgentRequest(agent=PIRATE.name))
    started = await start(activities(tmp_path), request)
    assert started.agent is not None and started.agent.spec == PIRATE
    assert started.setup.requested == "local/m"  # the agent's own model
    assert started.prescan is None  # no prompt given


async def test_the_first_call_takes_the_verdict_of_the_start(tmp_path: Path) -> None:
    general = BUILTIN_AGENTS["general"]
    items = [{"role": "user", "content": SSN}]
    request = StartRunRequest(spec=general, prompt=prompt_parts(items))  # type: ignore[arg-type]
    started = await start(activities(tmp_path), request)
    assert started.agent is None and started.prescan is not None
    scanner = Scanner()
    router = router_for(started, general, scanner)
    route = await router.route(RoutedCall("general", general.instructions, items))  # type: ignore[arg-type]
    assert route.decision.local_only and scanner.requests == []  # no second scan
    # The run's next call scans only what is new, with the scanner.
    more = [*items, {"role": "user", "content": "And for 2025?"}]
    await router.route(RoutedCall("general", general.instructions, more))  # type: ignore[arg-type]
    assert [[p.text for p in r.parts] for r in scanner.requests] == [["And for 2025?"]]


@pytest.mark.parametrize("differs", ["instructions", "terms"])
async def test_a_first_call_unlike_the_start_is_scanned_itself(
    tmp_path: Path, differs: str
) -> None:
    general = BUILTIN_AGENTS["general"]
    items = [{"role": "user", "content": "Tell me about Project Bluebird."}]
    request = StartRunRequest(spec=general, prompt=prompt_parts(items))  # type: ignore[arg-type]
    started = await start(activities(tmp_path), request)
    scanner = Scanner()
    instructions = general.instructions
    if differs == "instructions":
        instructions += " Be brief."
        router = router_for(started, general, scanner)
    else:  # the router's terms are not the ones the start scanned with
        preferences = RoutingPreferences(terms=["Bluebird"])
        router = CallRouter(preferences, started.setup, scanner, prescan=started.prescan)
    route = await router.route(RoutedCall("general", instructions, items))  # type: ignore[arg-type]
    assert len(scanner.requests) == 1
    assert route.decision.local_only is (differs == "terms")


async def test_the_run_and_configured_terms_reach_the_start_scan(tmp_path: Path) -> None:
    general = BUILTIN_AGENTS["general"]
    items = [{"role": "user", "content": "Status of Bluebird and Kestrel?"}]
    run = activities(tmp_path, RoutingSettings(terms=["Kestrel"]))
    request = StartRunRequest(
        spec=general, prompt=prompt_parts(items),  # type: ignore[arg-type]
        preferences=RoutingPreferences(terms=["Bluebird"]),
    )  # fmt: skip
    started = await start(run, request)
    assert started.prescan is not None
    assert started.prescan.result.types[1] == ["custom_term"]
    # The router merging the same layers takes the verdict.
    scanner = Scanner()
    preferences = started.setup.preferences_for(request.preferences, general.routing)
    router = CallRouter(preferences, started.setup, scanner, prescan=started.prescan)
    route = await router.route(RoutedCall("general", general.instructions, items))  # type: ignore[arg-type]
    assert route.decision.local_only and scanner.requests == []


async def test_an_unknown_agent_fails_as_resolve_agent_does(tmp_path: Path) -> None:
    request = StartRunRequest(resolve=ResolveAgentRequest(agent="no-such-agent"))
    with pytest.raises(ApplicationError) as caught:
        await start(activities(tmp_path), request)
    assert caught.value.non_retryable and "no-such-agent" in str(caught.value)
