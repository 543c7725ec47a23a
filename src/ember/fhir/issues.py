"""Problems found in FHIR content, in OperationOutcome terms (operationoutcome.html).

The fhir layer reports what is wrong with content as `Issue`s; the engine wraps them
in an error with an HTTP status and the api renders them as an OperationOutcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["fatal", "error", "warning", "information"]


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    code: str  # an IssueType code: invalid, structure, required, value, invariant, ...
    diagnostics: str
    expression: str | None = None  # FHIRPath to the offending element ("Patient.name[0].given")

    def to_json(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code}
        if self.diagnostics:
            issue["diagnostics"] = self.diagnostics
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


def has_errors(issues: list[Issue]) -> bool:
    return any(i.severity in ("fatal", "error") for i in issues)
