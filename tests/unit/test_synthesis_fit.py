"""The coordinator's synthesis call fits the model that may take it: specialists'
answers are shortened fairly when together they exceed its context."""

from __future__ import annotations

import random

from hybridagent.workflows.call_router import CHARS_PER_TOKEN
from hybridagent.workflows.coordinator import (
    CLIPPED,
    SpecialistAnswer,
    _fitted_synthesis_prompt,
    fit_texts,
)
from tests.unit.test_call_router import CLOUD, LOCAL, router


def test_texts_within_budget_are_untouched() -> None:
    assert fit_texts(["abc", "de"], 5) == ["abc", "de"]


def test_a_short_text_keeps_everything_and_leaves_its_share_to_the_long_ones() -> None:
    short, long = "x" * 10, "y" * 1000
    fitted = fit_texts([long, short, long], 310)
    assert fitted[1] == short
    assert [len(t) for t in fitted] == [150, 10, 150]
    assert fitted[0].endswith(CLIPPED) and fitted[0].startswith("y" * 140)


def test_fitted_texts_never_exceed_the_budget_and_only_shorten() -> None:
    rng = random.Random(7)
    for _ in range(500):
        texts = ["w" * rng.randrange(300) for _ in range(rng.randint(1, 5))]
        budget = rng.randrange(800)
        fitted = fit_texts(texts, budget)
        if sum(map(len, texts)) <= budget:
            assert fitted == texts
            continue
        assert sum(map(len, fitted)) <= budget
        for f, t in zip(fitted, texts, strict=True):
            assert f == t or (len(f) < len(t) and f.endswith(CLIPPED[: len(f)]))


def answers(*texts: str) -> list[SpecialistAnswer]:
    return [
        SpecialistAnswer(agent=f"agent-{i}", final_output=t, models_used=["local/smollm2"])
        for i, t in enumerate(texts)
    ]


async def test_synthesis_of_long_answers_fits_the_local_model_when_they_are_private() -> None:
    # Three rambling answers, one holding a card number: only the local model may
    # take the synthesis, so it must fit the local model's 4096 tokens.
    verbose = "The sea is wide and deep and blue. " * 300
    private = verbose + " Pay with card 4111 1111 1111 1111."
    prompt = await _fitted_synthesis_prompt("A poem?", answers(verbose, private, verbose), router())
    assert len(prompt) // CHARS_PER_TOKEN <= LOCAL.context_window // 2
    assert prompt.count(CLIPPED) == 3 and "agent-2 answered: The sea" in prompt


async def test_synthesis_keeps_whole_answers_that_fit_the_cloud_model() -> None:
    verbose = "The sea is wide and deep and blue. " * 300
    prompt = await _fitted_synthesis_prompt("A poem?", answers(verbose, verbose), router())
    assert CLIPPED not in prompt and len(prompt) // CHARS_PER_TOKEN < CLOUD.context_window
