"""The routing thresholds and preference fields are declared once, in
hybridagent/routing/thresholds.py: the configuration's `[routing]` table, a run's recorded
setup, the preferences and the policy derive from it, no other module writes one of
those fields or the set of values a preference may take, and the recorded histories'
setups keep their shape."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

import hybridagent
from hybridagent.activity_io import RoutingSetup
from hybridagent.routing import policy
from hybridagent.routing.policy import Preferences, decide
from hybridagent.routing.preferences import RoutingPreferences, RoutingSettings
from hybridagent.routing.thresholds import (
    ForceProvider,
    LatencyPreference,
    PreferenceFields,
    PrivacyLevel,
    RoutingThresholds,
    spelled,
)

PACKAGE = Path(hybridagent.__file__).parent
DEFINITION = PACKAGE / "routing" / "thresholds.py"
HISTORIES = Path(__file__).parent.parent / "data" / "histories"

FIELDS = set(RoutingThresholds.model_fields) | set(PreferenceFields.model_fields)
CHOICES: dict[str, tuple[str, ...]] = {
    "force_provider": get_args(ForceProvider),
    "privacy_level": get_args(PrivacyLevel),
    "latency_preference": get_args(LatencyPreference),
}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield str(path.relative_to(PACKAGE.parent)), ast.parse(path.read_text(), str(path))


def _strings(nodes: list[ast.expr | None]) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes of a module, its classes and functions."""
    kinds = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    owners: list[ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef] = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, kinds)),
    ]
    found = set()
    for owner in owners:
        body = owner.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            found.add(id(body[0].value))
    return found


@pytest.mark.parametrize(
    ("model", "definition"),
    [
        (RoutingSettings, RoutingThresholds),
        (RoutingSetup, RoutingThresholds),
        (RoutingPreferences, PreferenceFields),
        (Preferences, PreferenceFields),
    ],
)
def test_every_routing_model_takes_its_fields_from_the_definition(
    model: type[BaseModel], definition: type[BaseModel]
) -> None:
    assert issubclass(model, definition)
    for name, declared in definition.model_fields.items():
        inherited = model.model_fields[name]
        assert (inherited.annotation, inherited.default, inherited.metadata) == (
            declared.annotation,
            declared.default,
            declared.metadata,
        ), f"{model.__name__}.{name} differs from routing/thresholds.py"


def test_the_policy_reads_the_one_definition() -> None:
    assert get_type_hints(decide)["config"] is RoutingThresholds
    assert not hasattr(policy, "RoutingConfig")
    settings = RoutingSettings(complexity_threshold=0.7, budget_reserve=0.2, latency_shift=0.1)
    assert settings.thresholds() == RoutingThresholds(
        complexity_threshold=0.7, budget_reserve=0.2, latency_shift=0.1
    )
    assert type(settings.thresholds()) is RoutingThresholds
    preferences = RoutingPreferences(privacy_level="high", token_budget=9, terms=["Orca"])
    assert Preferences(**preferences.preference_values(), model="local/smollm2") == Preferences(
        privacy_level="high", token_budget=9, model="local/smollm2"
    )


def test_no_other_module_declares_a_routing_field() -> None:
    """A class attribute with a threshold's or preference's name, outside the definition,
    is a second declaration of it."""
    again = [
        f"{where}:{node.lineno} {node.target.id}"
        for where, tree in _modules()
        if where != str(DEFINITION.relative_to(PACKAGE.parent))
        for cls in ast.walk(tree)
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id in FIELDS
    ]
    assert again == []


def test_no_other_module_writes_out_the_values_a_preference_may_take() -> None:
    """No `Literal[...]`, tuple, list, set or dict of two or more of a preference's values,
    and no text that lists them all (a help line), outside the definition."""
    definition = str(DEFINITION.relative_to(PACKAGE.parent))
    copies = []
    for where, tree in _modules():
        if where == definition:
            continue
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
                listed = _strings(list(node.slice.elts))
            elif isinstance(node, ast.Tuple | ast.List | ast.Set):
                listed = _strings(list(node.elts))
            elif isinstance(node, ast.Dict):
                listed = _strings(list(node.keys))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docstrings:
                    continue
                words = set(re.findall(r"\w+", node.value))
                listed = next((set(v) for v in CHOICES.values() if set(v) <= words), set())
            else:
                continue
            for field, values in CHOICES.items():
                if len(listed & set(values)) >= 2:
                    copies.append(f"{where}:{node.lineno} {field} {sorted(listed & set(values))}")
    assert copies == []


def _uses(tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, field, value) for each string a preference field is compared with, set to
    (keyword argument) or updated to (dict key) in `tree`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            fields = [s.attr for s in sides if isinstance(s, ast.Attribute) and s.attr in CHOICES]
            for field in fields:
                for value in _strings(list(sides)):
                    yield node.lineno, field, value
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in CHOICES:
                    for value in _strings([keyword.value]):
                        yield node.lineno, keyword.arg, value
        elif isinstance(node, ast.Dict):
            for key, item in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in CHOICES:
                    for text in _strings([item]):
                        yield node.lineno, str(key.value), text


def test_every_value_used_elsewhere_is_one_the_definition_declares() -> None:
    """A module that names one value (`privacy_level == "max"`, `{"force_provider":
    "local"}`) names one of the declared values: mypy checks the comparisons, this also
    the keyword arguments and the model_copy updates it cannot type."""
    uses = [(where, *use) for where, tree in _modules() for use in _uses(tree)]
    assert {field for _, _, field, _ in uses} >= {"privacy_level", "force_provider"}
    unknown = [use for use in uses if use[3] not in CHOICES[use[2]]]
    assert unknown == []


def test_the_cli_help_spells_the_declared_values() -> None:
    assert spelled(ForceProvider) == "local, cloud or none"
    assert spelled(PrivacyLevel) == "standard, high or max"
    assert spelled(LatencyPreference) == "speed, balanced, quality or cost"


def _recorded_setups() -> Iterator[tuple[str, Any]]:
    """(history, payload) of every routing_setup result the checked-in histories hold."""
    for path in sorted(HISTORIES.glob("*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        for event in history.events:
            if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
                continue
            details = event.marker_recorded_event_attributes.details
            if "result" not in details:
                continue
            meta = json.loads(details["data"].payloads[0].data)
            if meta["activity_type"] == "routing_setup":
                yield path.stem, details["result"].payloads[0]


# Thresholds added after the checked-in histories were recorded: a setup without one
# decodes to its default (only latency_preference=cost, which no history holds, reads it).
ADDED_SINCE = {"cost_shift": 0.3}


def test_recorded_setups_decode_to_the_same_keys_and_values() -> None:
    """The setups in histories recorded before the thresholds moved decode to the
    thresholds they recorded and dump back to the same top-level keys, plus the
    thresholds added since, at their defaults."""
    setups = list(_recorded_setups())
    assert setups, "the histories hold routing_setup results"
    converter = pydantic_data_converter.payload_converter
    for name, payload in setups:
        recorded = json.loads(payload.data)
        setup = converter.from_payload(payload, RoutingSetup)
        assert set(setup.model_dump(mode="json")) == set(recorded) | set(ADDED_SINCE), name
        assert not set(ADDED_SINCE) & set(recorded), name
        assert setup.thresholds() == RoutingThresholds.model_validate(
            {key: recorded.get(key, ADDED_SINCE.get(key)) for key in RoutingThresholds.model_fields}
        ), name
        assert all(c.usd_per_mtok is None for c in setup.candidates), name
