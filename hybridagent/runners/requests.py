"""Checks of a request's names in the CLI process, before any workflow is started."""

from __future__ import annotations

from hybridagent.agents.catalog import DEFAULT_AGENT
from hybridagent.agents.files import AgentStore
from hybridagent.config import load_settings
from hybridagent.routing.names import is_default, parse_model_name


def check_request(agent: str | None, model: str | None) -> None:
    """Catch a bad agent or model name here (UnknownAgentError, UnknownModelError), so
    the user gets one sentence instead of a failed workflow. User agents are looked up in
    this machine's agents directory, which the worker must share."""
    AgentStore(load_settings().agents_path).load(agent or DEFAULT_AGENT)
    if model and not is_default(model) and "/" in model:
        parse_model_name(model)
