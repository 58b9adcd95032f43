"""CoordinatorWorkflow: several specialists on one request, in parallel, then one answer.

The specialists are the request's, or the coordinator agent's choice (a structured-output
call constrained to the catalog's names). Each runs as its own child AgentWorkflow, so
each routes local/cloud by its own preferences, retries on its own and shows as its own
run in the Web UI. When the coordinator's routing found private data, the children run
with `privacy_level=max`: the pin travels with the work. With more than one specialist,
a synthesis agent merges their answers, under the same pin.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from hybridagent.agents.catalog import BUILTIN_AGENTS
    from hybridagent.agents.spec import AgentSpec
    from hybridagent.routing.preferences import RoutingPreferences
    from hybridagent.workflows.call_router import CHARS_PER_TOKEN, CallRouter
    from hybridagent.workflows.io import (
        STRICT,
        AgentRunInput,
        AgentRunOutput,
        RawInput,
        TokenUsage,
        parse_input,
    )
    from hybridagent.workflows.run_agent import (
        api_key_memo,
        make_router,
        run_agent,
        user_facing,
    )

# Catalog agents the coordinator may pick by itself (not the default or the sample).
SPECIALISTS = [name for name in BUILTIN_AGENTS if name not in ("general", "haiku")]
MAX_SPECIALISTS = 3
CHILD_TIMEOUT = timedelta(minutes=30)
CLIPPED = " […]"  # ends an answer shortened to fit the synthesis call


class CoordinatorInput(BaseModel):
    model_config = STRICT

    prompt: str = Field(min_length=1)
    # Specialists by name (catalog or user files); empty: the coordinator chooses.
    specialists: list[str] = Field(default_factory=list, max_length=8)
    model: str | None = None
    routing: RoutingPreferences | None = None
    user: str = Field("default", min_length=1, max_length=200)
    max_turns: int = Field(10, ge=1, le=100)


class SpecialistAnswer(BaseModel):
    agent: str
    final_output: str
    models_used: list[str]


class CoordinatorOutput(BaseModel):
    final_output: str
    specialists: list[SpecialistAnswer]
    chosen_by: str  # "request" or "coordinator"
    pinned_local: bool
    models_used: list[str]
    usage: TokenUsage


COORDINATOR = AgentSpec(
    name="coordinator",
    description="Chooses the specialists for a request.",
    instructions=(
        "You assign a user's request to specialists. Specialists: "
        + "; ".join(f"{n}: {BUILTIN_AGENTS[n].description}" for n in SPECIALISTS)
        + ". Choose one to three whose skills the request needs."
    ),
    output_schema={
        "type": "object",
        "properties": {
            "specialists": {
                "type": "array",
                "items": {"type": "string", "enum": SPECIALISTS},
                "minItems": 1,
                "maxItems": MAX_SPECIALISTS,
            }
        },
        "required": ["specialists"],
    },
)

SYNTHESIZER = AgentSpec(
    name="synthesizer",
    description="Merges specialists' answers into one.",
    instructions=(
        "Several specialists answered the user's request. Write one answer for the user "
        "that combines what they said, without repeating yourself."
    ),
)


def _add(total: TokenUsage, usage: TokenUsage) -> TokenUsage:
    return TokenUsage(
        requests=total.requests + usage.requests,
        calls=total.calls + usage.calls,
        input_tokens=total.input_tokens + usage.input_tokens,
        output_tokens=total.output_tokens + usage.output_tokens,
        total_tokens=total.total_tokens + usage.total_tokens,
    )


@workflow.defn
class CoordinatorWorkflow:
    @workflow.run
    async def run(self, input: RawInput = None) -> CoordinatorOutput:
        request = parse_input(CoordinatorInput, input, "CoordinatorWorkflow")
        usage, models = TokenUsage(), []
        router = await make_router(COORDINATOR, model=request.model, preferences=request.routing)
        if request.specialists:
            names, chosen_by = list(dict.fromkeys(request.specialists)), "request"
            # Routing scans the prompt here too, so a private request pins the children.
            router.pinned = router.pinned or bool(await router.sensitive_types(request.prompt))
        else:
            choice = await run_agent(COORDINATOR, request.prompt, router, max_turns=2)
            usage, models = _add(usage, choice.usage), [*choice.models_used]
            picked = (choice.structured_output or {}).get("specialists") or ["general"]
            names, chosen_by = list(dict.fromkeys(picked))[:MAX_SPECIALISTS], "coordinator"
        pinned = router.pinned
        routing = (request.routing or RoutingPreferences()).model_copy(
            update={"privacy_level": "max"} if pinned else {}
        )
        answers = await asyncio.gather(
            *(self._specialist(request, name, routing) for name in names)
        )
        for answer in answers:
            usage = _add(usage, answer.usage)
            models += answer.models_used
        specialists = [
            SpecialistAnswer(agent=n, final_output=a.final_output, models_used=a.models_used)
            for n, a in zip(names, answers, strict=True)
        ]
        final = answers[0].final_output
        if len(answers) > 1:
            synthesis_router = await make_router(
                SYNTHESIZER, model=request.model, preferences=routing, local_only=pinned
            )
            prompt = await _fitted_synthesis_prompt(request.prompt, specialists, synthesis_router)
            merged = await run_agent(SYNTHESIZER, prompt, synthesis_router)
            usage, final = _add(usage, merged.usage), merged.final_output
            models += merged.models_used
        return CoordinatorOutput(
            final_output=final,
            specialists=specialists,
            chosen_by=chosen_by,
            pinned_local=pinned,
            models_used=list(dict.fromkeys(models)),
            usage=usage,
        )

    async def _specialist(
        self, request: CoordinatorInput, name: str, routing: RoutingPreferences
    ) -> AgentRunOutput:
        child = AgentRunInput(
            prompt=request.prompt, agent=name, model=request.model, routing=routing,
            user=request.user, max_turns=request.max_turns,
        )  # fmt: skip
        try:
            answer: AgentRunOutput = await workflow.execute_child_workflow(
                "AgentWorkflow",
                child,
                id=f"{workflow.info().workflow_id}-{name}",
                execution_timeout=CHILD_TIMEOUT,
                result_type=AgentRunOutput,
                static_summary=f"specialist {name}",
                # The API key that started the coordinator owns its children's calls.
                memo=api_key_memo(),
            )
            return answer
        except FailureError as err:
            raise user_facing(err) from None


def _synthesis_prompt(prompt: str, answers: list[SpecialistAnswer], texts: list[str]) -> str:
    parts = [f"Request: {prompt}"]
    parts += [f"{a.agent} answered: {text}" for a, text in zip(answers, texts, strict=True)]
    return "\n\n".join(parts)


async def _fitted_synthesis_prompt(
    prompt: str, answers: list[SpecialistAnswer], router: CallRouter
) -> str:
    """The synthesis request, with the specialists' answers shortened to fit the largest
    model that may take it: three verbose answers can exceed a small local model's
    context, and when the answers hold private data only local models may take it."""
    full = _synthesis_prompt(prompt, answers, [a.final_output for a in answers])
    local_only = bool(await router.sensitive_types(full))
    window = router.largest_context(local_only=local_only)
    if window == 0:
        return full  # no model can take it anyway; the router says why
    # Half the window for the request; the rest is the instructions and the answer.
    room = window * CHARS_PER_TOKEN // 2 - len(
        _synthesis_prompt(prompt, answers, [""] * len(answers))
    )
    texts = fit_texts([a.final_output for a in answers], max(room, 0))
    return _synthesis_prompt(prompt, answers, texts)


def fit_texts(texts: list[str], budget: int) -> list[str]:
    """`texts` shortened to `budget` characters in all, fairly: a text shorter than an
    equal share keeps all of it and leaves the rest to the longer ones; a shortened text
    ends with CLIPPED (counted in its share)."""
    if sum(map(len, texts)) <= budget:
        return list(texts)
    shares = [0] * len(texts)
    left, pending = budget, sorted(range(len(texts)), key=lambda i: len(texts[i]))
    while pending:
        share = left // len(pending)
        index = pending.pop(0)
        shares[index] = min(len(texts[index]), share)
        left -= shares[index]
    return [
        text if len(text) <= share else text[: max(share - len(CLIPPED), 0)] + CLIPPED[:share]
        for text, share in zip(texts, shares, strict=True)
    ]
