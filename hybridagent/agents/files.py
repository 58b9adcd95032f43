"""Agent spec files (TOML or YAML) and the directory of user-defined agents.

Read by the CLI and by the worker's resolve activity, never by workflow code. Every
problem is an InvalidAgentSpecError or UnknownAgentError with one sentence naming the
file and the field.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
import yaml
from pydantic import ValidationError

from hybridagent.agents.catalog import BUILTIN_AGENTS
from hybridagent.agents.spec import (
    NAME_PATTERN,
    AgentSpec,
    InvalidAgentSpecError,
    ResolvedAgent,
    UnknownAgentError,
    with_handoffs,
)
from hybridagent.agents.tool_names import check_tools
from hybridagent.routing.names import UnknownModelError, is_default, parse_model_name

Format = Literal["toml", "yaml"]
SUFFIXES: dict[str, Format] = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}


def format_of(path: Path) -> Format:
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise InvalidAgentSpecError(
            f"{path}: an agent file ends in .toml, .yaml or .yml."
        ) from None


def parse_spec(
    text: str, fmt: Format, source: str, *, default_name: str | None = None
) -> AgentSpec:
    """A spec from file text; `default_name` (the file's stem) fills a missing name."""
    try:
        data: Any = tomllib.loads(text) if fmt == "toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0]
        raise InvalidAgentSpecError(f"{source} is not valid {fmt.upper()}: {first}.") from None
    if not isinstance(data, dict):
        raise InvalidAgentSpecError(f"{source} must hold a table of agent fields.")
    if default_name and "name" not in data:
        data["name"] = default_name
    return validate_spec(data, source)


def validate_spec(data: dict[str, Any], source: str) -> AgentSpec:
    """A file's or the CLI's spec: instructions are required here, unlike inline."""
    if "instructions" not in data:
        raise InvalidAgentSpecError(f"{source}: instructions: is required.")
    try:
        spec = AgentSpec.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "spec"
        message = "is required" if first["type"] == "missing" else first["msg"]
        message = str(message).removeprefix("Value error, ")
        raise InvalidAgentSpecError(f"{source}: {where}: {message}.") from None
    try:
        check_tools(spec.tools)
    except UnknownAgentError as err:
        raise InvalidAgentSpecError(f"{source}: tools: {err}") from None
    if spec.model and not is_default(spec.model) and "/" in spec.model:
        try:
            parse_model_name(spec.model)
        except UnknownModelError as err:
            raise InvalidAgentSpecError(f"{source}: model: {err}") from None
    return spec


def dump_spec(spec: AgentSpec, fmt: Format) -> str:
    """The spec as file text: empty fields left out, routing as the user set it."""
    data = spec.model_dump(mode="json", exclude_none=True, exclude={"routing"})
    data = {k: v for k, v in data.items() if v not in ([], "")}
    if spec.routing is not None:
        data["routing"] = spec.routing.model_dump(mode="json", exclude_unset=True)
    if fmt == "yaml":
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    try:
        return tomli_w.dumps(data, multiline_strings=True)
    except TypeError as err:
        raise InvalidAgentSpecError(
            f"Agent {spec.name!r} cannot be written as TOML ({err}); export it as YAML."
        ) from None


def read_spec_file(path: Path) -> AgentSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InvalidAgentSpecError(f"{path} cannot be read: {err.strerror}.") from None
    return parse_spec(text, format_of(path), str(path), default_name=path.stem)


class AgentStore:
    """User-defined agents: one file per agent, `<name>.toml` or `<name>.yaml`, in `root`.

    Built-in names are reserved: the store neither writes nor reads a file with one.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, name: str) -> Path | None:
        if not re.fullmatch(NAME_PATTERN, name):
            raise UnknownAgentError(
                f"{name!r} is not an agent name: letters, digits, '-' and '_', "
                "starting with a letter."
            )
        found = [self.root / f"{name}{s}" for s in SUFFIXES if (self.root / f"{name}{s}").is_file()]
        if len(found) > 1:
            raise InvalidAgentSpecError(
                f"Agent {name!r} has more than one file ({', '.join(p.name for p in found)}) "
                f"in {self.root}; keep one."
            )
        return found[0] if found else None

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        stems = {p.stem for p in self.root.iterdir() if p.suffix.lower() in SUFFIXES}
        return sorted(stems - set(BUILTIN_AGENTS))

    def load(self, name: str) -> AgentSpec:
        """A built-in or user agent by name."""
        if name in BUILTIN_AGENTS:
            return BUILTIN_AGENTS[name]
        path = self.path_of(name)
        if path is None:
            raise UnknownAgentError(
                f"Unknown agent {name!r}; built-in agents are {', '.join(BUILTIN_AGENTS)}, "
                f"and {self.root} has no {name}.toml or {name}.yaml."
            )
        spec = read_spec_file(path)
        if spec.name != name:
            raise InvalidAgentSpecError(
                f"{path}: name: is {spec.name!r}, but the file is {name!r}."
            )
        return spec

    def check(self, spec: AgentSpec, source: str) -> None:
        """Handoffs must name agents that exist (built-in, in this store, or `spec`)."""
        for name in spec.handoffs:
            if name == spec.name:
                raise InvalidAgentSpecError(
                    f"{source}: handoffs: an agent cannot hand off to itself."
                )
            if name not in BUILTIN_AGENTS and self.path_of(name) is None:
                raise InvalidAgentSpecError(
                    f"{source}: handoffs: unknown agent {name!r}; it is neither built-in nor in "
                    f"{self.root}."
                )

    def save(self, spec: AgentSpec, fmt: Format | None = None) -> Path:
        """Write atomically, in the agent's current format unless `fmt` is given."""
        if spec.name in BUILTIN_AGENTS:
            raise InvalidAgentSpecError(
                f"{spec.name!r} is a built-in agent; give yours another name."
            )
        existing = self.path_of(spec.name)
        fmt = fmt or (format_of(existing) if existing else "toml")
        target = self.root / f"{spec.name}.{fmt}"
        text = dump_spec(spec, fmt)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{spec.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
        if existing is not None and existing != target:
            existing.unlink()
        return target

    def delete(self, name: str) -> Path:
        if name in BUILTIN_AGENTS:
            raise InvalidAgentSpecError(f"{name!r} is a built-in agent and cannot be deleted.")
        path = self.path_of(name)
        if path is None:
            raise UnknownAgentError(f"There is no user-defined agent {name!r} in {self.root}.")
        path.unlink()
        return path

    def resolve(self, spec: AgentSpec) -> ResolvedAgent:
        """`spec` with the specs of every agent reachable through its handoffs; an
        agent that is nowhere raises UnknownAgentError (from `load`)."""
        resolved = with_handoffs(spec, self.load)
        assert resolved is not None  # load raises rather than return None
        return resolved
