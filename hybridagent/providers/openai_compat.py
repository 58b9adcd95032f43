"""The one adapter every OpenAI-compatible backend shares (Ollama /v1, llama.cpp, OpenAI).

Retries are off in the client: Temporal's retry policy is the only retry loop, so every
attempt is visible in the workflow history.
"""

from __future__ import annotations

from typing import Any

import httpx
from agents import Model, OpenAIChatCompletionsModel
from openai import AsyncOpenAI

from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.guarded import GuardedModel


def make_openai_client(
    base_url: str | None, api_key: str, http_client: httpx.AsyncClient | None = None
) -> AsyncOpenAI:
    # openai 3.x is built on httpx2 and accepts a classic httpx client as well.
    client: Any = http_client
    return AsyncOpenAI(base_url=base_url, api_key=api_key, http_client=client, max_retries=0)


def chat_model(
    client: AsyncOpenAI, model: str, *, backend: str, circuits: CircuitBreaker | None = None
) -> Model:
    """A Chat Completions model over `client`, with failures typed and circuit-broken."""
    inner = OpenAIChatCompletionsModel(model=model, openai_client=client)
    return GuardedModel(
        inner, backend=backend, endpoint=str(client.base_url), model=model, circuits=circuits
    )
