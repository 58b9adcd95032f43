"""What workflows and the activities they call exchange: the activities' names and their
inputs and outputs, as plain data (pydantic models of plain fields).

Workflow code imports this module, never an activity module: those import the provider
stack (clients, the embedded server's supervisor, Ollama's client), which has no place
in the workflow sandbox's import graph. A workflow calls an activity by its name here;
the activity's `@activity.defn(name=...)` takes the same constant, so the two cannot drift.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from hybridagent.agents.spec import AgentSpec, ResolvedAgent
from hybridagent.routing.policy import Candidate
from hybridagent.routing.preferences import PrivacySettings, RoutingPreferences, merge
from hybridagent.routing.thresholds import RoutingThresholds

# Activity names (the local activities a run starts with, and the regular ones).
ROUTING_SETUP = "routing_setup"
SCAN_PRIVACY = "scan_privacy"
RESOLVE_AGENT = "resolve_agent"
START_RUN = "start_run"  # the three above in one, for runs started since it exists
PULL_MODEL = "pull_model"


class RoutingSetupRequest(BaseModel):
    requested: str | None = None
    agent: str = "general"


class RoutingSetup(RoutingThresholds):
    """Everything a run's router needs from the worker's configuration: the thresholds
    (routing/thresholds.py; their keys stay at the top level, as recorded histories hold
    them), the candidates, the terms and the agent's configured preferences."""

    candidates: list[Candidate]
    requested: str | None = None  # the concrete name of the model the run asked for
    requested_is_local: bool = False
    agent_preferences: RoutingPreferences | None = None
    terms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    response_cache: bool = False  # the worker caches answers to calls marked cacheable

    def preferences_for(self, *layers: RoutingPreferences | None) -> RoutingPreferences:
        """A run's preferences: `layers` (most specific first: the request's, the
        agent spec's), then the configuration's for the agent; terms and patterns of
        all of them add up."""
        configured = RoutingPreferences(terms=self.terms, patterns=self.patterns)
        return merge(*layers, self.agent_preferences, configured)


class InputPart(BaseModel):
    text: str
    # Written by a person (a user message): the learned stage reads it too.
    prose: bool = False


class PrivacyScanRequest(BaseModel):
    parts: list[InputPart]
    terms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)


class PrivacyScanResult(BaseModel):
    types: list[list[str]]  # finding types per part, sorted
    scores: list[float | None]  # the learned stage's highest score per part, if it found one
    model_version: str | None = None


def part_key(part: InputPart) -> bytes:
    """What identifies a scanned part within a run: its text and whether it is prose."""
    return hashlib.blake2b(f"{part.prose:d}{part.text}".encode(), digest_size=16).digest()


def scan_digest(request: PrivacyScanRequest) -> str:
    """What a scan's verdict depends on in a run (the run's privacy settings come from
    its one routing setup): its parts, terms and patterns. Built of the parts' keys and
    the words themselves, not of a serialisation, so a later version computes the same
    digest when it replays the run."""
    digest = hashlib.blake2b(digest_size=16)
    for key in map(part_key, request.parts):
        digest.update(key)
    for word in [*request.terms, "\0", *request.patterns]:
        digest.update(word.encode() + b"\0")
    return digest.hexdigest()


class PrescannedInput(BaseModel):
    """The verdict on a run's first call, scanned at its start: the router uses it when
    the first call's scan would have had this digest, and scans itself otherwise."""

    digest: str
    result: PrivacyScanResult


class ResolveAgentRequest(BaseModel):
    """An agent name (built-in or a file in the worker's agents_dir), or an inline spec."""

    agent: str | None = None
    spec: AgentSpec | None = None


class StartRunRequest(BaseModel):
    """A run's start in one local activity: its agent (resolved by the worker when a user
    file is needed), the routing setup for its model, and the verdict on its prompt."""

    spec: AgentSpec | None = None  # the agent, when the workflow has it (built-in)
    resolve: ResolveAgentRequest | None = None  # else the agent the worker resolves
    model: str | None = None  # the run's requested model; None: the agent's
    preferences: RoutingPreferences | None = None  # the run's own
    prompt: list[InputPart] = Field(default_factory=list)  # the first call's, after its
    # instructions: what the router will scan first


class StartedRun(BaseModel):
    agent: ResolvedAgent | None = None  # the resolved agent; None: the request's spec
    setup: RoutingSetup
    prescan: PrescannedInput | None = None  # None: no prompt was given


# User mistakes of a pull: retrying them cannot help.
NON_RETRYABLE_PULL_ERRORS = ["ModelNotInRegistryError", "NoOllamaBackendError"]


def full_name(model: str) -> str:
    """Ollama's own name for a model: the tag defaults to `latest`."""
    model = model.removeprefix("ollama/")
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


class PullProgress(BaseModel):
    """One line of Ollama's streamed `/api/pull` answer (`total` and `completed` are the
    bytes of the layer `digest` being downloaded)."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


class PullModelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # the PullModelWorkflow's input

    model: str = Field(min_length=1, description="Ollama's name, e.g. llama3.2:3b")
    heartbeat_seconds: float = Field(30.0, gt=0)


class PullResult(BaseModel):
    model: str
    status: str
    layers: int = 0  # layers Ollama reported downloading (or already had)
    bytes: int = 0  # their total size
    resumed_from: PullProgress | None = None  # the last progress an earlier attempt reported
