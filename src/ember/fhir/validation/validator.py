"""Full validation of one resource, as `$validate` does it: structure, then (when the
structure holds) invariants and bindings, extensions by URL, references and Bundle
rules, datatype rules, and the profiles it is checked against."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember.fhir.issues import Issue, Severity, has_errors
from ember.fhir.model import Model, get_model
from ember.fhir.validation.datatypes import check_datatypes
from ember.fhir.validation.extensions import check_extensions
from ember.fhir.validation.profiles import check_profile
from ember.fhir.validation.references import check_references
from ember.fhir.validation.rules import rules_for
from ember.fhir.validation.structure import validate_resource
from ember.fhir.validation.terminology import terminology_for

# A profile's StructureDefinition by canonical URL (`url` or `url|version`), if known
ProfileLookup = Callable[[str], dict[str, Any] | None]


def validate(
    resource: Any,
    model: Model | None = None,
    *,
    max_depth: int = 64,
    profiles: Iterable[str] = (),
    lookup: ProfileLookup | None = None,
) -> list[Issue]:
    """Every issue of `resource`: `profiles` are asked for explicitly (unknown ones are
    errors), `meta.profile` claims are checked when known (unknown ones are warnings)."""
    model = model or get_model("r4")
    issues = validate_resource(resource, model, max_depth=max_depth)
    if has_errors(issues):
        return issues  # the rules assume the shapes the structure prescribes
    rules = rules_for(model)
    issues += rules.check(resource)  # with the claimed profiles the server ships
    find = lookup or rules.shipped
    issues += check_extensions(resource, model, find)
    issues += check_references(resource, model)
    issues += check_datatypes(resource, model, terminology_for(model.version))
    claimed = resource.get("meta", {}).get("profile", [])
    for url in profiles:
        checked = url in claimed and rules.ships(url)
        issues += _profile_issues(resource, url, find, "error", "the profile parameter", checked)
    for index, url in enumerate(claimed):
        if isinstance(url, str) and url not in profiles:
            where = f"{resource['resourceType']}.meta.profile[{index}]"
            issues += _profile_issues(resource, url, find, "warning", where, rules.ships(url))
    return issues


def _profile_issues(
    resource: dict[str, Any],
    url: str,
    find: ProfileLookup,
    unknown_severity: Severity,
    where: str,
    checked: bool,
) -> list[Issue]:
    """Whether the profile is known and for this type; its content unless `checked`
    already (a claimed profile the server ships is checked with the rules)."""
    resource_type = resource["resourceType"]
    definition = find(url)
    if definition is None:
        diagnostics = f"Profile '{url}' (from {where}) is not known to this server"
        return [Issue(unknown_severity, "not-supported", diagnostics, resource_type)]
    if definition.get("type") != resource_type:
        diagnostics = (
            f"Profile '{url}' is for {definition.get('type')} resources, not {resource_type}"
        )
        return [Issue("error", "invalid", diagnostics, resource_type)]
    return [] if checked else check_profile(resource, url, find)
