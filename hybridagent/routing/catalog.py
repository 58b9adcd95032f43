"""What a model can do: context window, tools, structured output, vision.

Ollama models report their own capabilities through `/api/show` (see
providers/ollama.py); cloud and embedded models come from this small catalog. Unknown
cloud models get conservative defaults: tools and structured output (every current
chat API has them), no vision, a 128k context.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    context_window: int
    tools: bool = True
    structured_output: bool = True
    vision: bool = False


UNKNOWN_CLOUD = Capabilities(context_window=128_000)

# Longest matching prefix of the name after `openai/` or `litellm/` wins.
CLOUD_CATALOG: dict[str, Capabilities] = {
    "gpt-4o": Capabilities(128_000, vision=True),
    "gpt-4.1": Capabilities(1_047_576, vision=True),
    "gpt-5": Capabilities(400_000, vision=True),
    "o3": Capabilities(200_000, vision=True),
    "o4-mini": Capabilities(200_000, vision=True),
    "gpt-3.5-turbo": Capabilities(16_385),
    "anthropic/claude-3-5": Capabilities(200_000, vision=True),
    "anthropic/claude-3-7": Capabilities(200_000, vision=True),
    "anthropic/claude-sonnet-4": Capabilities(200_000, vision=True),
    "anthropic/claude-opus-4": Capabilities(200_000, vision=True),
    "anthropic/claude-haiku-4": Capabilities(200_000, vision=True),
    "gemini/gemini-2": Capabilities(1_048_576, vision=True),
    "mistral/mistral-large": Capabilities(128_000),
    "groq/llama-3.3-70b": Capabilities(128_000),
}


def cloud_capabilities(model: str) -> Capabilities:
    """`model` is the name after the prefix: `gpt-4o-mini`, `anthropic/claude-3-5-haiku-...`."""
    matches = [key for key in CLOUD_CATALOG if model.startswith(key)]
    return CLOUD_CATALOG[max(matches, key=len)] if matches else UNKNOWN_CLOUD


def embedded_capabilities(context_window: int) -> Capabilities:
    """The embedded model calls tools and fills schemas by constrained emulation."""
    return Capabilities(context_window, tools=True, structured_output=True, vision=False)


def ollama_capabilities(
    capabilities: list[str], model_info: dict[str, object], served_context: int
) -> Capabilities:
    """From an `/api/show` answer. Ollama serves at most `served_context` tokens
    (OLLAMA_CONTEXT_LENGTH, default 4096) unless a request sets `num_ctx`, whatever the
    model could take; the smaller figure is the real window."""
    trained = next(
        (
            int(value)
            for key, value in model_info.items()
            if key.endswith(".context_length") and isinstance(value, int)
        ),
        served_context,
    )
    return Capabilities(
        context_window=min(trained, served_context),
        tools="tools" in capabilities,
        # Ollama constrains any model's output to a JSON schema with `format`.
        structured_output=True,
        vision="vision" in capabilities,
    )
