"""The two samples of the model-providers pattern: the haiku assistant with a
`get_weather` tool, once on a local model and once on a LiteLLM cloud model.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from hybridagent.agents.catalog import get_agent_spec
    from hybridagent.workflows.io import AgentRunOutput, HaikuInput, RawInput, parse_input
    from hybridagent.workflows.run_agent import make_router, run_agent

DEFAULT_LITELLM_MODEL = "litellm/anthropic/claude-3-5-haiku-20241022"


async def haiku(prompt: str, *, model: str | None, local_only: bool = False) -> AgentRunOutput:
    spec = get_agent_spec("haiku")
    router = await make_router(spec, model=model, local_only=local_only)
    return await run_agent(spec, prompt, router)


@workflow.defn
class LocalHaikuWorkflow:
    """On the worker's default local model (Ollama, else the embedded SmolLM2)."""

    @workflow.run
    async def run(self, input: RawInput = None) -> AgentRunOutput:
        request = parse_input(HaikuInput, input, "LocalHaikuWorkflow")
        return await haiku(request.prompt, model=request.model, local_only=True)


@workflow.defn
class LitellmHaikuWorkflow:
    """On a cloud model through LiteLLM (Anthropic's Claude by default)."""

    @workflow.run
    async def run(self, input: RawInput = None) -> AgentRunOutput:
        request = parse_input(HaikuInput, input, "LitellmHaikuWorkflow")
        return await haiku(request.prompt, model=request.model or DEFAULT_LITELLM_MODEL)
