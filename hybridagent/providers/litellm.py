"""Cloud models from any provider LiteLLM knows (Anthropic, Gemini, Groq, ...), through the
Agents SDK's LitellmModel. Keys come from LiteLLM's own environment variables.

LiteLLM creates its own HTTP clients, so this backend cannot take an injected one; tests
point it at a loopback stub with `api_base` instead.
"""

from __future__ import annotations

import os
from typing import Any

from agents import Model

from hybridagent.logs import adopt_litellm_logging
from hybridagent.providers.base import ModelListing
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.errors import MissingApiKeyError
from hybridagent.providers.guarded import GuardedModel

# LiteLLM's key variables for the providers used most, for `hybridagent models`, which
# must not spend seconds importing LiteLLM; a model call asks LiteLLM itself.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "groq": ("GROQ_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "cohere": ("COHERE_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
}


def _import_litellm() -> Any:
    # LiteLLM downloads a model-cost map from the internet at import unless told not to;
    # a privacy product must not phone home.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "LiteLLM is not installed; run: pip install 'openai-agents[litellm]'"
        ) from err
    adopt_litellm_logging()
    return litellm


def _import_litellm_model() -> type[Model]:
    _import_litellm()
    from agents.extensions.models.litellm_model import LitellmModel

    return LitellmModel


def missing_key(model: str, api_key: str | None, api_base: str | None) -> str | None:
    """Why `model` (LiteLLM's `<provider>/<model>`) has no key on this worker, or None:
    LiteLLM's own check of its provider's variables."""
    found = _import_litellm().validate_environment(model=model, api_key=api_key, api_base=api_base)
    if found.get("keys_in_environment", True):
        return None
    names: list[str] = list(found.get("missing_keys") or [])
    provider = model.split("/", 1)[0]
    if len(names) == 1:
        return f"no {names[0]} is set on the worker"
    return f"no key for {provider} is set on the worker ({', '.join(names) or 'LiteLLM says'})"


class LitellmBackend:
    prefix = "litellm"
    label = "LiteLLM"  # starts its circuit keys (providers/registry.py)

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
            why = missing_key(model, self.api_key, self.api_base)
            if why is not None:
                raise MissingApiKeyError(why)
            litellm_model = _import_litellm_model()
            inner = litellm_model(model=model, base_url=self.api_base, api_key=self.api_key)  # type: ignore[call-arg]
            self._models[model] = GuardedModel(
                inner,
                backend=f"{self.label} ({model.split('/', 1)[0]})",
                endpoint=self.api_base or "the provider's default endpoint",
                model=model,
                circuits=self.circuits,
            )
        return self._models[model]

    async def list_models(self) -> ModelListing:
        """LiteLLM has no listing endpoint, and reachability is only known by calling a
        model: the row is usable when a key is there, and says for which providers."""
        endpoint = self.api_base or "provider defaults"
        if self.api_key:
            return ModelListing(
                "litellm", endpoint, True, detail="LITELLM_API_KEY set; any litellm/<p>/<model>"
            )
        keyed = [p for p, names in PROVIDER_KEYS.items() if any(os.environ.get(n) for n in names)]
        if not keyed:
            return ModelListing(
                "litellm",
                endpoint,
                False,
                detail="no provider key set (ANTHROPIC_API_KEY, GEMINI_API_KEY, GROQ_API_KEY, …)",
            )
        return ModelListing(
            "litellm",
            endpoint,
            True,
            detail=f"keys for {', '.join(keyed)}; any litellm/<provider>/<model>",
        )

    async def aclose(self) -> None:
        return None
