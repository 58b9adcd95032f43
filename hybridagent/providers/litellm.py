"""Cloud models from any provider LiteLLM knows (Anthropic, Gemini, Groq, ...), through the
Agents SDK's LitellmModel. Keys come from LiteLLM's own environment variables.

LiteLLM creates its own HTTP clients, so this backend cannot take an injected one; tests
point it at a loopback stub with `api_base` instead.
"""

from __future__ import annotations

import os

from agents import Model

from hybridagent.providers.base import ModelListing
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.guarded import GuardedModel


def _import_litellm_model() -> type[Model]:
    # LiteLLM downloads a model-cost map from the internet at import unless told not to;
    # a privacy product must not phone home.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        from agents.extensions.models.litellm_model import LitellmModel
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "LiteLLM is not installed; run: pip install 'openai-agents[litellm]'"
        ) from err
    return LitellmModel


class LitellmBackend:
    prefix = "litellm"

    def __init__(
        self,
        api_base: str | None = None,
        api_key: str | None = None,
        *,
        circuits: CircuitBreaker | None = None,
    ) -> None:
        self.circuits = circuits
        self.api_base = api_base
        self.api_key = api_key
        self._models: dict[str, Model] = {}

    def get_model(self, model: str) -> Model:
        if model not in self._models:
            litellm_model = _import_litellm_model()
            inner = litellm_model(model=model, base_url=self.api_base, api_key=self.api_key)  # type: ignore[call-arg]
            self._models[model] = GuardedModel(
                inner,
                backend=f"LiteLLM ({model.split('/', 1)[0]})",
                endpoint=self.api_base or "the provider's default endpoint",
                model=model,
                circuits=self.circuits,
            )
        return self._models[model]

    async def list_models(self) -> ModelListing:
        # LiteLLM has no listing endpoint; reachability is only known by calling a model.
        return ModelListing(
            "litellm",
            self.api_base or "provider defaults",
            True,
            detail="any litellm/<provider>/<model>; keys from LiteLLM's variables",
        )

    async def aclose(self) -> None:
        return None
