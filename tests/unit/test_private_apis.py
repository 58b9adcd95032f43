"""Guards on the private names of our libraries that the package uses (docs/architecture.md,
"Private names of our libraries"): each test fails, naming the upgrade problem, when an
upgrade removes a name or changes the shape we rely on. How the code behaves on top of
them is tested elsewhere (routing, fallback, chat sessions, native Ollama)."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterator
from typing import Any

import ollama
import pytest
from agents import Agent, AgentOutputSchema
from agents.run import AgentRunner
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.openai_agents import ModelActivityParameters

from hybridagent.agents.output import JsonSchemaOutput
from hybridagent.workers.log_lines import SDK_LOGGERS
from hybridagent.workers.plugin import AgentAndModelSummary
from hybridagent.workflows.chat_session import _STREAM_OFFSET_QUERY
from hybridagent.workflows.routed_stub import RoutedModelStub
from tests.fixtures.ollama_server import FakeOllama

MODEL_CALL_POSITIONAL = [
    "system_instructions",
    "input",
    "model_settings",
    "tools",
    "output_schema",
    "handoffs",
    "tracing",
]
MODEL_CALL_KEYWORD = ["previous_response_id", "conversation_id", "prompt"]


def upgrade_problem(library: str, name: str, change: str, user: str) -> str:
    return (
        f"{library} changed its private {name}: {change}. hybridagent relies on it in {user} "
        "(docs/architecture.md, 'Private names of our libraries'): adapt that code to the "
        "new version, then this guard."
    )


def private(module: str, name: str, user: str, library: str = "temporalio-openai-agents") -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        pytest.fail(upgrade_problem(library, f"{module}.{name}", f"it is gone ({err})", user))


def parameters(function: Any) -> tuple[list[str], list[str]]:
    """(positional parameter names after self, keyword-only names)."""
    found = list(inspect.signature(function).parameters.values())[1:]
    positional = [p.name for p in found if p.kind is p.POSITIONAL_OR_KEYWORD]
    keyword = [p.name for p in found if p.kind is p.KEYWORD_ONLY]
    return positional, keyword


STUB_USER = "workflows/routed_stub.py (RoutedModelStub)"


def temporal_model_stub() -> Any:
    return private("temporalio.openai_agents._temporal_model_stub", "_TemporalModelStub", STUB_USER)


def test_the_plugins_model_stub_is_built_and_steered_as_routing_expects() -> None:
    stub_class = temporal_model_stub()
    assert issubclass(RoutedModelStub, stub_class)
    name = "_TemporalModelStub"
    init = parameters(stub_class.__init__)
    assert init == (["model_name"], ["model_params", "agent"]), upgrade_problem(
        "temporalio-openai-agents", name, f"its constructor takes {init}", STUB_USER
    )
    params = ModelActivityParameters()
    stub = stub_class("local/m", model_params=params, agent=None)
    # The router points a stub at its choice by setting these two between calls.
    held = {k: getattr(stub, k, "missing") for k in ("model_name", "model_params", "agent")}
    assert held == {"model_name": "local/m", "model_params": params, "agent": None}, (
        upgrade_problem("temporalio-openai-agents", name, f"a stub holds {held}", STUB_USER)
    )
    for method in ("get_response", "stream_response"):
        found = parameters(getattr(stub_class, method))
        # RoutedModelStub forwards *args/**kwargs and finds model_settings third in line.
        assert found == (MODEL_CALL_POSITIONAL, MODEL_CALL_KEYWORD), upgrade_problem(
            "temporalio-openai-agents", f"{name}.{method}", f"it takes {found}", STUB_USER
        )


def test_the_plugin_leaves_an_agent_whose_model_is_a_stub_alone() -> None:
    """Why RoutedModelStub subclasses the private stub: the plugin's runner replaces any
    other model of an agent by its own stub, which would bypass routing."""
    convert = private(
        "temporalio.openai_agents._openai_runner", "_convert_agent", "workflows/routed_stub.py"
    )
    params = ModelActivityParameters()
    stub = temporal_model_stub()("local/m", model_params=params, agent=None)
    agent = Agent(name="a", model=stub)
    converted = convert(params, agent, None)
    assert converted.model is stub, upgrade_problem(
        "temporalio-openai-agents",
        "_openai_runner._convert_agent",
        "it replaces a model that already is a _TemporalModelStub",
        "workflows/routed_stub.py (with_routed_models)",
    )


def test_the_plugins_runner_carries_the_model_parameters() -> None:
    runner_class = private(
        "temporalio.openai_agents._openai_runner",
        "TemporalOpenAIRunner",
        "workflows/routed_stub.py (RoutedModelStub.__init__)",
    )
    assert issubclass(runner_class, AgentRunner)
    params = ModelActivityParameters()
    runner = runner_class(params)
    assert getattr(runner, "model_params", None) is params, upgrade_problem(
        "temporalio-openai-agents",
        "TemporalOpenAIRunner",
        "its instances no longer hold model_params",
        "workflows/routed_stub.py (RoutedModelStub.__init__ reads the worker's parameters)",
    )


def test_model_summary_provider_is_still_private_and_the_same_shape() -> None:
    user = "workers/plugin.py (AgentAndModelSummary)"
    provider = private("temporalio.openai_agents._model_parameters", "ModelSummaryProvider", user)
    assert issubclass(AgentAndModelSummary, provider)
    found = parameters(provider.provide)
    assert found == (["agent", "instructions", "input"], []), upgrade_problem(
        "temporalio-openai-agents", "ModelSummaryProvider.provide", f"it takes {found}", user
    )
    public = importlib.import_module("temporalio.openai_agents")
    assert not hasattr(public, "ModelSummaryProvider"), (
        "temporalio.openai_agents exports ModelSummaryProvider now: import it from there in "
        f"{user} and drop it from docs/architecture.md's private names."
    )


def test_the_workflow_streams_offset_query_keeps_its_name() -> None:
    """The chat session reads its stream's end through the handler WorkflowStream
    registers under this name (no public accessor); the public client asks the same."""
    source = inspect.getsource(WorkflowStreamClient.get_offset)
    assert _STREAM_OFFSET_QUERY in source, upgrade_problem(
        "temporalio.contrib.workflow_streams",
        f"query name {_STREAM_OFFSET_QUERY!r}",
        "WorkflowStreamClient.get_offset no longer asks it",
        "workflows/chat_session.py (_stream_end, before continue-as-new)",
    )


def test_json_schema_output_sets_the_schema_the_sdk_returns() -> None:
    user = "agents/output.py (JsonSchemaOutput)"
    bare = AgentOutputSchema(dict, strict_json_schema=False)
    assert hasattr(bare, "_output_schema"), upgrade_problem(
        "openai-agents", "AgentOutputSchema._output_schema", "it is gone", user
    )
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    output = JsonSchemaOutput("weather", schema)
    assert output.json_schema() == schema, upgrade_problem(
        "openai-agents",
        "AgentOutputSchema._output_schema",
        "json_schema() no longer returns it",
        user,
    )


def test_the_activity_worker_logs_under_its_module_name() -> None:
    user = "workers/log_lines.py (SDK_LOGGERS)"
    logger = private("temporalio.worker._activity", "logger", user, library="temporalio")
    assert isinstance(logger, logging.Logger) and logger.name in SDK_LOGGERS, upgrade_problem(
        "temporalio", "temporalio.worker._activity.logger", f"it is {logger!r}", user
    )


OLLAMA_USER = "providers/ollama_native.py (OllamaNativeModel)"


@pytest.fixture(scope="module")
def fake_ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


def test_ollama_request_has_its_shape() -> None:
    request = private("ollama", "AsyncClient", OLLAMA_USER, library="ollama")._request
    assert inspect.iscoroutinefunction(request), upgrade_problem(
        "ollama", "AsyncClient._request", "it is no longer a coroutine function", OLLAMA_USER
    )
    found = [(p.name, p.kind.name) for p in inspect.signature(request).parameters.values()]
    assert found == [
        ("self", "POSITIONAL_OR_KEYWORD"),
        ("cls", "POSITIONAL_OR_KEYWORD"),
        ("args", "VAR_POSITIONAL"),
        ("stream", "KEYWORD_ONLY"),
        ("kwargs", "VAR_KEYWORD"),
    ], upgrade_problem("ollama", "AsyncClient._request", f"it takes {found}", OLLAMA_USER)


@pytest.mark.parametrize("stream", [False, True])
async def test_ollama_request_sends_the_body_as_built(
    fake_ollama: FakeOllama, stream: bool
) -> None:
    """Why `_request` and not `chat()`: the body (tool schemas with anyOf) goes out as
    built, and the answer comes back parsed as ChatResponse, streamed or not."""
    fake_ollama.reset()
    tool = {
        "type": "function",
        "function": {
            "name": "w",
            "description": "d",
            "parameters": {
                "type": "object",
                "properties": {"unit": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
            },
        },
    }
    body = {
        "model": "llama3.2:3b",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [tool],
        "stream": stream,
    }
    client = ollama.AsyncClient(fake_ollama.host)
    answer = await client._request(
        ollama.ChatResponse, "POST", "/api/chat", json=body, stream=stream, timeout=None
    )
    parts = [part async for part in answer] if stream else [answer]
    problem = upgrade_problem("ollama", "AsyncClient._request", "{}", OLLAMA_USER)
    assert fake_ollama.chats() == [body], problem.format("the body sent differs from the one built")
    assert parts and all(isinstance(p, ollama.ChatResponse) for p in parts), problem.format(
        f"it answers {[type(p).__name__ for p in parts]}"
    )
    assert parts[-1].done, problem.format("the last part is not the final one")
