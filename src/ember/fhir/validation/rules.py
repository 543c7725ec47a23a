"""The rule checks beyond structure that the `validation` setting governs on write:
invariants and terminology bindings (in one walk), and the claimed profiles
(`meta.profile`) the server ships.

These run on structurally valid content only (the walk trusts the shapes), on every
`$validate` and, as the setting says, on writes. A claimed profile the server does not
ship is not an error here: `$validate` reports it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ember.fhir.issues import Issue
from ember.fhir.model import Model, get_model
from ember.fhir.validation.bindings import BindingChecker
from ember.fhir.validation.invariants import Invariants
from ember.fhir.validation.profiles import check_profile
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
        meta = resource.get("meta")
        claimed = meta.get("profile") if isinstance(meta, dict) else None
        for url in claimed if isinstance(claimed, list) else ():
            if self.ships(url):
                issues += check_profile(resource, url, self.shipped)
        return issues

    def ships(self, url: str) -> bool:
        return self.shipped(url) is not None

    def shipped(self, url: str) -> dict[str, Any] | None:
        return self.model.structure_definitions.get(url.split("|", 1)[0])


@cache
def rules_for(model: Model) -> RuleChecker:
    return RuleChecker(model)


def check_rules(resource: Any, model: Model | None = None) -> list[Issue]:
    """The invariant, binding and shipped-profile issues of a structurally valid resource."""
    if not isinstance(resource, dict):
        return []
    return rules_for(model or get_model("r4")).check(resource)
