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
        self._bare_codes: dict[str, frozenset[str] | None] = {}

    def check(self, instance: Instance, issues: list[Issue]) -> None:
        element = instance.element
        if element is None or element.binding is None:
            return
        binding = element.binding
        severity = _SEVERITY.get(binding.strength)
        if severity is None or binding.value_set is None or instance.type_name not in _CODED_TYPES:
            return
        shown = self._outside(instance.type_name, instance.value, binding.value_set)
        if shown is not None:
            diagnostics = (
                f"{shown} is not in the value set '{binding.value_set}' "
                f"({binding.strength} binding of {element.path})"
            )
            issues.append(Issue(severity, "code-invalid", diagnostics, instance.path))

    def _outside(self, type_name: str, value: Any, value_set: str) -> str | None:
        """How to name the value when it is known to be outside the value set."""
        if type_name == "code":
            codes = self._codes_of(value_set)
            if codes is None or not isinstance(value, str) or value in codes:
                return None
            return f"The code '{value}'"
        expansion = self.terminology.expansion(value_set)
        if expansion is None or not isinstance(value, dict):
            return None
        codings = [value] if type_name == "Coding" else value.get("coding", ())
        decidable = [(c["system"], c["code"]) for c in codings if "system" in c and "code" in c]
        if not decidable or any(pair in expansion for pair in decidable):
            return None
        return "The coding " + ", ".join(f"'{system}#{code}'" for system, code in decidable)

    def _codes_of(self, value_set: str) -> frozenset[str] | None:
        """The codes of a value set without their systems: a `code` carries none."""
        if value_set not in self._bare_codes:
            expansion = self.terminology.expansion(value_set)
            self._bare_codes[value_set] = (
                None if expansion is None else frozenset(code for _, code in expansion)
            )
        return self._bare_codes[value_set]
