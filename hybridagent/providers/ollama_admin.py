"""Ollama model management through its native API and the official `ollama` client:
which models are loaded (`/api/ps`), pulling one with its progress (`/api/pull`), and
loading one ahead of the first call (`/api/generate` with no prompt, per the API
document's "Load a model"). OllamaBackend exposes these as methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import ollama

from hybridagent.activity_io import PullProgress
from hybridagent.providers.errors import ProviderError, ProviderUnreachableError
from hybridagent.routing.names import UnknownModelError
from hybridagent.worker_health import LoadedModel

# A download or a model load may pause for minutes between lines (verifying a large
# layer, reading weights from disk); connecting must still fail fast.
LONG_TIMEOUT = httpx.Timeout(300.0, connect=2.0)

# What Ollama says when a retry cannot help: the registry has no such model (a typo,
# usually) or the name is not a model name at all.
_REFUSALS = ("file does not exist", "not found", "manifest unknown", "invalid model name")


class ModelNotInRegistryError(UnknownModelError, ProviderError):
    """Ollama refused to pull the model: no such model in its registry, or a bad name."""


def _unreachable(host: str, err: Exception) -> ProviderUnreachableError:
    return ProviderUnreachableError(f"Ollama is not reachable at {host} ({type(err).__name__}).")


async def loaded_models(client: ollama.AsyncClient, host: str) -> list[LoadedModel]:
    try:
        running = await client.ps()
    except (httpx.HTTPError, ConnectionError) as err:
        raise _unreachable(host, err) from None
    except ollama.ResponseError as err:
        raise ProviderUnreachableError(
            f"Ollama at {host} answered /api/ps with HTTP {err.status_code}."
        ) from None
    return [
        LoadedModel(
            name=m.model or m.name or "?",
            size=int(m.size or 0),
            size_vram=int(m.size_vram or 0),
            expires_at=m.expires_at,
            context_length=m.context_length,
        )
        for m in running.models
    ]


async def pull(client: ollama.AsyncClient, host: str, model: str) -> AsyncIterator[PullProgress]:
    """Ollama's progress lines; Ollama resumes a pull that was cut off where it stopped."""
    try:
        async for line in await client.pull(model, stream=True):
            yield PullProgress(
                status=line.status or "",
                digest=line.digest,
                total=line.total,
                completed=line.completed,
            )
    except ollama.ResponseError as err:
        if any(refusal in err.error.lower() for refusal in _REFUSALS):
            raise ModelNotInRegistryError(
                f"Ollama cannot pull {model!r}: {err.error} (check the name on ollama.com)."
            ) from None
        raise ProviderError(f"Ollama at {host} failed to pull {model!r}: {err.error}.") from None
    except (httpx.HTTPError, ConnectionError) as err:
        raise _unreachable(host, err) from None


def keep_alive_value(keep_alive: str) -> float | str:
    """As OLLAMA_KEEP_ALIVE reads: a bare number is seconds, else a duration ("5m")."""
    try:
        return float(keep_alive)
    except ValueError:
        return keep_alive


async def prewarm(client: ollama.AsyncClient, host: str, model: str, keep_alive: str) -> None:
    """Load `model` into memory for `keep_alive` so the first real call does not wait."""
    try:
        await client.generate(model, keep_alive=keep_alive_value(keep_alive))
    except ollama.ResponseError as err:
        if err.status_code == 404:
            raise UnknownModelError(f"Ollama at {host} has no model {model!r}.") from None
        raise ProviderError(f"Ollama at {host} could not load {model!r}: {err.error}.") from None
    except (httpx.HTTPError, ConnectionError) as err:
        raise _unreachable(host, err) from None
