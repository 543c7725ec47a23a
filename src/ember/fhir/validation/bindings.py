"""Terminology bindings (terminologies.html#strength) of code, Coding and CodeableConcept.

A value outside the bound value set is an error for a required binding, a warning for an
extensible one and information for a preferred one; example bindings are not checked.
Values whose membership cannot be decided (an unknown expansion, a Coding without a
system, a CodeableConcept with text only) produce no issue.
"""

from __future__ import annotations

from typing import Any

from ember.fhir.issues import Issue, Severity
from ember.fhir.validation.terminology import Terminology
from ember.fhir.validation.walk import Instance

_SEVERITY: dict[str, Severity] = {
    "required": "error",
    "extensible": "warning",
    "preferred": "information",
}
_CODED_TYPES = frozenset({"code", "Coding", "CodeableConcept"})


class BindingChecker:
    def __init__(self, terminology: Terminology) -> None:
        self.terminology = terminology

    def check(self, instance: Instance, issues: list[Issue]) -> None:
        element = instance.element
        if element is None or element.binding is None:
            return
        binding = element.binding
        check_binding(
            self.terminology,
            binding.strength,
            binding.value_set,
            element.path,
            instance.type_name,
            instance.value,
            instance.path,
            issues,
        )


def check_binding(
    terminology: Terminology,
    strength: str,
    value_set: str | None,
    bound: str,
    type_name: str,
    value: Any,
    path: str,
    issues: list[Issue],
) -> None:
    """The issue of a value of `type_name` at `path` outside the value set that element
    `bound` is bound to, if it is known to be outside."""
    severity = _SEVERITY.get(strength)
    if severity is None or value_set is None or type_name not in _CODED_TYPES:
        return
    shown = _outside(terminology, type_name, value, value_set)
    if shown is not None:
        diagnostics = (
            f"{shown} is not in the value set '{value_set}' ({strength} binding of {bound})"
        )
        issues.append(Issue(severity, "code-invalid", diagnostics, path))


def _outside(terminology: Terminology, type_name: str, value: Any, value_set: str) -> str | None:
    """How to name the value when it is known to be outside the value set."""
    if type_name == "code":
        codes = terminology.codes_without_systems(value_set)
        if codes is None or not isinstance(value, str) or value in codes:
            return None
        return f"The code '{value}'"
    expansion = terminology.expansion(value_set)
    if expansion is None or not isinstance(value, dict):
        return None
    codings = [value] if type_name == "Coding" else value.get("coding", ())
    decidable = [(c["system"], c["code"]) for c in codings if "system" in c and "code" in c]
    if not decidable or any(pair in expansion for pair in decidable):
        return None
    return "The coding " + ", ".join(f"'{system}#{code}'" for system, code in decidable)
