"""Invariants: the `constraint`s of the base definitions, evaluated with FHIRPath.

Every element instance is checked against the constraints of the element that holds it
(`Observation.component`, with `ele-1`) and of its type (`per-1` on a Period, `dom-*` and
`obs-*` on an Observation), each compiled once. The context is the element, `%resource`
the resource it sits in (see `walk`).

A constraint fails when its expression yields `false`; an empty result is taken as
"not applicable", as the definitions' expressions are written to yield true or false.
Error constraints give errors, warning constraints warnings. A constraint the engine
fails to evaluate on some content is reported as a warning: it never blocks a write.
The most frequent constraints have a Python version (`native`) that decides the common
cases without FHIRPath.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ember.fhir import fhirpath
from ember.fhir.fhirpath import FHIRPathError
from ember.fhir.fhirpath.nodes import Node
from ember.fhir.issues import Issue
from ember.fhir.model import Constraint, Element, Model
from ember.fhir.validation.native import Check, native_check
from ember.fhir.validation.walk import Instance

# Constraints not evaluated, by key, with the reason. Every base expression compiles
# (tests/fhir/validation/test_invariants.py asserts it), but these two would give wrong
# answers on valid content with Ember's strict FHIRPath engine.
UNEVALUATED: dict[str, str] = {
    "dom-3": "applies as() to collections (descendants().as(canonical)), which FHIRPath "
    "allows on single items only: it fails on every resource with contained resources",
    "que-7": "'answer is Boolean' names System.Boolean, which a FHIR boolean (answerBoolean) "
    "is not under strict FHIRPath typing: it would reject every valid 'exists' condition",
}


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    severity: str  # "error" or "warning", as the definition says
    human: str


@dataclass(frozen=True, slots=True)
class Invariant:
    """One expression and the constraints that share it (txt-1 and txt-2 both say
    `htmlChecks()`), so that it is evaluated once per element; `native` its Python
    version, if it has one."""

    expression: fhirpath.Expression
    rules: tuple[Rule, ...]
    native: Check | None = None


class Invariants:
    """The compiled invariants of one model, per (element path, type) and per type."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._by_type: dict[str, tuple[Invariant, ...]] = {}
        self._by_element: dict[tuple[str, str], tuple[Invariant, ...]] = {}

    def of_type(self, type_name: str) -> tuple[Invariant, ...]:
        found = self._by_type.get(type_name)
        if found is None:
            typedef = self.model.type(type_name)
            found = self._by_type[type_name] = self._compiled(typedef.constraints)
        return found

    def of_element(self, element: Element, type_name: str) -> tuple[Invariant, ...]:
        """The invariants of a value of `type_name` held by `element`."""
        key = (element.path, type_name)
        found = self._by_element.get(key)
        if found is None:
            constraints = element.constraints + self.model.type(type_name).constraints
            found = self._by_element[key] = self._compiled(constraints)
        return found

    def _compiled(self, constraints: tuple[Constraint, ...]) -> tuple[Invariant, ...]:
        return compiled(constraints, self.model.version)

    def applying(self, instance: Instance) -> tuple[Invariant, ...]:
        """The invariants that apply to one element instance."""
        if instance.element is None:
            return self.of_type(instance.type_name)
        return self.of_element(instance.element, instance.type_name)

    def check(self, instance: Instance, issues: list[Issue]) -> None:
        """Evaluate the invariants that apply to one element instance."""
        node: Node | None = None  # built for the first invariant that needs FHIRPath
        for invariant in self.applying(instance):
            if invariant.native is not None:
                verdict = invariant.native(instance.value, instance.ext)
                if verdict is True:
                    continue
                if verdict is False:
                    failed(invariant, instance.path, issues)
                    continue
            if node is None:
                node = node_of(instance)
            evaluate((invariant,), node, instance.root, instance.path, issues)


def node_of(instance: Instance) -> Node:
    """The FHIRPath context for an element instance."""
    return Node(instance.value, instance.type_name, instance.ext, instance.element)


def compiled(constraints: Iterable[Constraint], version: str) -> tuple[Invariant, ...]:
    """Constraints grouped by expression (first of each key), compiled; the ones in
    UNEVALUATED and those without an expression left out."""
    rules: dict[str, list[Rule]] = {}  # by expression, in order
    keys: set[str] = set()
    for constraint in constraints:
        key = constraint.key
        if key in keys or key in UNEVALUATED or not constraint.expression:
            continue
        keys.add(key)
        rule = Rule(key, constraint.severity, constraint.human)
        rules.setdefault(constraint.expression, []).append(rule)
    return tuple(
        Invariant(
            fhirpath.compile(text, version=version),
            tuple(shared),
            native_check(shared[0].key, text) if len(shared) == 1 else None,
        )
        for text, shared in rules.items()
    )


def evaluate(
    invariants: Iterable[Invariant], node: Node, root: Any, path: str, issues: list[Issue]
) -> None:
    """The issues of one element (`node`, at `path`, in resource `root`)."""
    for invariant in invariants:
        try:
            result = invariant.expression.evaluate(root, context=node)
        except FHIRPathError as exc:
            for rule in invariant.rules:
                diagnostics = f"Constraint {rule.key} could not be evaluated: {exc}"
                issues.append(Issue("warning", "processing", diagnostics, path))
            continue
        if result == [False]:
            failed(invariant, path, issues)


def failed(invariant: Invariant, path: str, issues: list[Issue]) -> None:
    """The issues of an invariant found false at `path`."""
    for rule in invariant.rules:
        diagnostics = f"Constraint failed: {rule.key}: '{rule.human}'"
        severity = "error" if rule.severity == "error" else "warning"
        issues.append(Issue(severity, "invariant", diagnostics, path))
