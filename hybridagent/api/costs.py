"""What a model call costs in USD, for budgets: LiteLLM's bundled cost map, read locally.

The map is the JSON file inside the installed litellm package
(`model_prices_and_context_window_backup.json`), read directly: importing litellm takes
seconds and would fetch the map from GitHub unless told not to; reading the file takes
about 10 ms, once per process, and never touches the network.

Local models (every prefix whose NameRule is local: `local/…`, `ollama/…`) cost 0. A
cloud model the map does not know, and a name whose model is not known before the call
(`auto`, `agent/<name>`, an unknown prefix), is priced at DEFAULT_PRICE: deliberately
expensive (Claude 3 Opus' list price, among the dearest chat models), so that a budget
errs on the side of refusing instead of overspending. Admission reserves with this
estimate; the API reconciles with the price of the model that actually ran.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from hybridagent.routing.names import BUILTIN_NAMES, ModelNames, UnknownModelError

COST_MAP_FILE = "model_prices_and_context_window_backup.json"

__all__ = [
    "DEFAULT_PRICE",
    "ModelPrice",
    "cost_usd",
    "price",
    "usd_per_mtok",
]


@dataclass(frozen=True)
class ModelPrice:
    input_per_token: float  # USD
    output_per_token: float  # USD
    source: Literal["litellm", "local", "default"]

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return self.input_per_token * prompt_tokens + self.output_per_token * completion_tokens


# $15 per million prompt tokens, $75 per million completion tokens.
DEFAULT_PRICE = ModelPrice(15e-6, 75e-6, "default")
FREE = ModelPrice(0.0, 0.0, "local")


@lru_cache(maxsize=1)
def _cost_map() -> dict[str, Any]:
    """LiteLLM's bundled map, found without importing litellm; empty when missing."""
    spec = importlib.util.find_spec("litellm")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / COST_MAP_FILE
        if path.is_file():
            data = json.loads(path.read_text())
            return data if isinstance(data, dict) else {}
    return {}


def _priced(entry: Any) -> ModelPrice | None:
    if not isinstance(entry, dict):
        return None
    prompt, completion = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if not (isinstance(prompt, int | float) and isinstance(completion, int | float)):
        return None
    if not (math.isfinite(prompt) and math.isfinite(completion)):
        return None
    return ModelPrice(float(prompt), float(completion), "litellm")


def _lookup(provider: str, model: str) -> ModelPrice | None:
    """LiteLLM's entry for `model` of `provider`: `provider/model` first, then the bare
    name when the map lists it under that provider (OpenAI's and Anthropic's models are
    listed bare)."""
    costs = _cost_map()
    qualified = _priced(costs.get(f"{provider}/{model}"))
    if qualified is not None:
        return qualified
    bare = costs.get(model)
    if isinstance(bare, dict) and bare.get("litellm_provider") in (provider, f"{provider}_chat"):
        return _priced(bare)
    return None


@lru_cache(maxsize=512)
def _price(name: str, names: ModelNames) -> ModelPrice:
    try:
        ref = names.parse(name)
    except UnknownModelError:
        return DEFAULT_PRICE
    if ref.is_local:
        return FREE
    if ref.prefix == "litellm":
        provider, _, model = ref.model.partition("/")
    else:
        provider, model = ref.prefix, ref.model
    return _lookup(provider, model) or DEFAULT_PRICE


def price(name: str, names: ModelNames = BUILTIN_NAMES) -> ModelPrice:
    """The per-token price of one of our model names (`openai/gpt-4o-mini`,
    `litellm/anthropic/claude-haiku-4-5`, `local/smollm2`, …)."""
    return _price(name.strip(), names)


def cost_usd(
    name: str, prompt_tokens: int, completion_tokens: int, names: ModelNames = BUILTIN_NAMES
) -> float:
    """USD for a call of model `name` with this usage (an estimate, or the real usage)."""
    return price(name, names).cost(prompt_tokens, completion_tokens)


def usd_per_mtok(name: str, names: ModelNames = BUILTIN_NAMES) -> float | None:
    """What the router compares at latency_preference=cost: USD per million tokens at 3
    prompt tokens to 1 completion token (a chat call's usual mix), 0 for a local model;
    None when the map does not know the model (DEFAULT_PRICE is for budgets, which must
    err high; the router says "price unknown" instead)."""
    known = price(name, names)
    if known.source == "default":
        return None
    return (3 * known.input_per_token + known.output_per_token) / 4 * 1e6
