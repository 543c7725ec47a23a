"""Full validation of one resource, as `$validate` does it: structure, then (when the
structure holds) invariants and bindings, extensions by URL, references and Bundle
rules, datatype rules, and the profiles it is checked against."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.fhir.issues import Issue, has_errors
from ember.fhir.model import Model, get_model
from ember.fhir.validation.datatypes import check_datatypes
from ember.fhir.validation.extensions import check_extensions
from ember.fhir.validation.profiles import TerminologySource
from ember.fhir.validation.references import check_references
from ember.fhir.validation.rules import ProfileLookup, profile_issues, rules_for
from ember.fhir.validation.structure import validate_resource
from ember.fhir.validation.terminology import terminology_for


def validate(
    resource: Any,
    model: Model | None = None,
    *,
    max_depth: int = 64,
    profiles: Iterable[str] = (),
    lookup: ProfileLookup | None = None,
    terminology: TerminologySource | None = None,
) -> list[Issue]:
    """Every issue of `resource`: `profiles` are asked for explicitly (unknown ones are
    errors), `meta.profile` claims are checked when known (unknown ones are warnings)."""
    model = model or get_model("r4")
    issues = validate_resource(resource, model, max_depth=max_depth)
    if has_errors(issues):
        return issues  # the rules assume the shapes the structure prescribes
    rules = rules_for(model)
    find = lookup or rules.shipped
    terminology = terminology or rules.shipped_terminology
    issues += rules.check(resource, find, terminology)  # with the profiles it claims
    issues += check_extensions(resource, model, find)
    issues += check_references(resource, model)
    issues += check_datatypes(resource, model, terminology_for(model.version))
    claimed = resource.get("meta", {}).get("profile", [])
    for url in profiles:
        if url not in claimed or find(url) is None:
            issues += profile_issues(
                resource, url, find, "error", "the profile parameter", terminology
            )
    return issues
