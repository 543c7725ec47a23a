"""The rule checks beyond structure: invariants and terminology bindings, in one walk.

These run on structurally valid content only (the walk trusts the shapes), on every
`$validate` and, as the `validation` setting says, on writes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ember.fhir.issues import Issue
from ember.fhir.model import Model, get_model
from ember.fhir.validation.bindings import BindingChecker
from ember.fhir.validation.invariants import Invariants
from ember.fhir.validation.terminology import terminology_for
from ember.fhir.validation.walk import instances


class RuleChecker:
    """The compiled invariants and the expanded bindings of one model, kept for reuse."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.invariants = Invariants(model)
        self.bindings = BindingChecker(terminology_for(model.version))

    def check(self, resource: dict[str, Any]) -> list[Issue]:
        issues: list[Issue] = []
        for instance in instances(resource, self.model):
            self.invariants.check(instance, issues)
            self.bindings.check(instance, issues)
        return issues


@cache
def rules_for(model: Model) -> RuleChecker:
    return RuleChecker(model)


def check_rules(resource: Any, model: Model | None = None) -> list[Issue]:
    """The invariant and binding issues of a structurally valid resource (parsed JSON)."""
    if not isinstance(resource, dict):
        return []
    return rules_for(model or get_model("r4")).check(resource)
