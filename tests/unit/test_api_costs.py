"""Model prices from LiteLLM's bundled cost map, read without importing litellm, and
the prompt token estimate the reservations use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hybridagent.api.costs import DEFAULT_PRICE, cost_usd, price, usd_per_mtok
from hybridagent.api.limits import estimate_tokens, to_nano


def test_cloud_models_are_priced_from_litellms_map() -> None:
    mini = price("openai/gpt-4o-mini")
    assert (mini.input_per_token, mini.output_per_token, mini.source) == (
        1.5e-07,
        6e-07,
        "litellm",
    )
    assert cost_usd("openai/gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert price("litellm/anthropic/claude-haiku-4-5").source == "litellm"
    assert price("litellm/gemini/gemini-2.0-flash").source == "litellm"
    assert price("litellm/openai/gpt-4o") == price("openai/gpt-4o")


def test_local_models_are_free_and_unknown_ones_dear() -> None:
    assert cost_usd("local/smollm2", 10_000, 10_000) == 0.0
    assert cost_usd("ollama/llama3.2:3b", 10_000, 10_000) == 0.0
    for name in ("openai/no-such-model", "auto", "agent/research", "nope/x", "litellm/a/b"):
        assert price(name) == DEFAULT_PRICE
    assert DEFAULT_PRICE.input_per_token >= price("openai/gpt-4o").input_per_token


def test_pricing_does_not_import_litellm() -> None:
    code = (
        "import sys; from hybridagent.api.costs import price; "
        "assert price('openai/gpt-4o-mini').source == 'litellm'; "
        "assert 'litellm' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_estimate_tokens_counts_text_parts_and_messages() -> None:
    assert estimate_tokens([]) == 0
    one = [{"role": "user", "content": "x" * 396}]  # 400 chars with "user"
    assert estimate_tokens(one) == 100 + 4
    parts = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "x" * 396},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 9999}},
            ],
        }
    ]
    assert estimate_tokens(parts) == 100 + 765 + 4
    tool = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}],
        }
    ]
    assert estimate_tokens(tool) > 4


def test_usd_to_nano_dollars_rounds_up_without_float_noise() -> None:
    assert to_nano(0.03) == 30_000_000
    assert to_nano(1e-10) == 1
    assert to_nano(0.0) == 0 and to_nano(-1.0) == 0


def test_the_routers_price_blends_three_prompt_tokens_to_one_completion_token() -> None:
    # gpt-4o-mini: $0.15 and $0.60 per million: (3 * 0.15 + 0.60) / 4.
    assert usd_per_mtok("openai/gpt-4o-mini") == pytest.approx(0.2625)
    assert usd_per_mtok("openai/gpt-4o-mini") < usd_per_mtok("openai/gpt-4o")  # type: ignore[operator]
    assert usd_per_mtok("local/smollm2") == 0.0
    # Unknown: not the budgets' deliberately dear default, so the router can say so.
    assert usd_per_mtok("openai/no-such-model") is None
