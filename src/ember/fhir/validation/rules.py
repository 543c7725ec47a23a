"""The rule checks beyond structure that the `validation` setting governs on write:
invariants and terminology bindings (in one walk), and the claimed profiles
(`meta.profile`) the server knows: shipped, or resolved by the caller's lookup (stored
StructureDefinitions).

These run on structurally valid content only (the walk trusts the shapes), on every
`$validate` and, as the setting says, on writes. A claimed profile the server does not
know is a warning, not an error: a claim is only an assertion (resource.html#profile-tags)
and the validator reports unknown profiles it was not asked for the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from ember.fhir.issues import Issue, Severity
from ember.fhir.model import Model, get_model
from ember.fhir.validation.bindings import BindingChecker
from ember.fhir.validation.invariants import Invariants
from ember.fhir.validation.profiles import TerminologySource, check_profile
from ember.fhir.validation.terminology import Terminology, terminology_for
from ember.fhir.validation.walk import instances

# A StructureDefinition by canonical URL (`url` or `url|version`), if known
ProfileLookup = Callable[[str], dict[str, Any] | None]


class RuleChecker:
    """The compiled invariants and the expanded bindings of one model, kept for reuse."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.invariants = Invariants(model)
        self.bindings = BindingChecker(terminology_for(model.version))

    def check(
        self,
        resource: dict[str, Any],
        lookup: ProfileLookup | None = None,
        terminology: TerminologySource | None = None,
        *,
        profiles: bool = True,
    ) -> list[Issue]:
        """Base rules, then claimed profiles (unless `profiles` is False)."""
        issues = self.base_rules(resource)
        if profiles:
            issues += self.claimed_profiles(resource, lookup, terminology)
        return list(dict.fromkeys(issues))  # profiles often repeat the base's rules

    def base_rules(self, resource: dict[str, Any]) -> list[Issue]:
        """The issues of the base definitions' invariants and bindings."""
        issues: list[Issue] = []
        for instance in instances(resource, self.model):
            self.invariants.check(instance, issues)
            self.bindings.check(instance, issues)
        return issues

    def claimed_profiles(
        self,
        resource: dict[str, Any],
        lookup: ProfileLookup | None = None,
        terminology: TerminologySource | None = None,
    ) -> list[Issue]:
        """The issues of the profiles in `meta.profile` (unknown ones: a warning)."""
        issues: list[Issue] = []
        meta = resource.get("meta")
        claimed = meta.get("profile") if isinstance(meta, dict) else None
        for index, url in enumerate(claimed if isinstance(claimed, list) else ()):
            where = f"{resource['resourceType']}.meta.profile[{index}]"
            find = lookup or self.shipped
            terms = terminology or self.shipped_terminology
            issues += profile_issues(resource, url, find, "warning", where, terms)
        return issues

    def shipped_terminology(self) -> Terminology:
        return self.bindings.terminology

    def shipped(self, url: str) -> dict[str, Any] | None:
        return self.model.structure_definitions.get(url.split("|", 1)[0])


@cache
def rules_for(model: Model) -> RuleChecker:
    return RuleChecker(model)


def check_rules(
    resource: Any,
    model: Model | None = None,
    lookup: ProfileLookup | None = None,
    terminology: TerminologySource | None = None,
    *,
    profiles: bool = True,
) -> list[Issue]:
    """The invariant, binding and (unless `profiles` is False) claimed-profile issues of
    a structurally valid resource (profiles found by `lookup`, else among the shipped
    ones; their bindings checked with `terminology`, else the shipped one)."""
    if not isinstance(resource, dict):
        return []
    checker = rules_for(model or get_model("r4"))
    return checker.check(resource, lookup, terminology, profiles=profiles)


def check_claimed_profiles(
    resource: dict[str, Any],
    model: Model,
    lookup: ProfileLookup | None = None,
    terminology: TerminologySource | None = None,
) -> list[Issue]:
    """The issues of a structurally valid resource against the profiles it claims."""
    return rules_for(model).claimed_profiles(resource, lookup, terminology)


def profile_issues(
    resource: dict[str, Any],
    url: Any,
    find: ProfileLookup,
    unknown_severity: Severity,
    where: str,
    terminology: TerminologySource | None = None,
) -> list[Issue]:
    """The issues of a resource against profile `url`: unknown (at `unknown_severity`),
    for another type, or its content."""
    resource_type = resource["resourceType"]
    definition = find(url) if isinstance(url, str) else None
    if definition is None:
        diagnostics = f"Profile '{url}' (from {where}) is not known to this server: not checked"
        return [Issue(unknown_severity, "not-supported", diagnostics, resource_type)]
    if definition.get("type") != resource_type:
        diagnostics = (
            f"Profile '{url}' is for {definition.get('type')} resources, not {resource_type}"
        )
        return [Issue("error", "invalid", diagnostics, resource_type)]
    return check_profile(resource, url, find, terminology=terminology)
