"""The one error family of Ember: an HTTP status plus OperationOutcome issues.

Everything below the api raises these; the api renders them, nothing else formats
errors (ARCHITECTURE.md, decision 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ember.fhir.issues import Issue


class FhirError(Exception):
    def __init__(self, status: int, issues: Sequence[Issue], headers: dict[str, str] | None = None):
        super().__init__(issues[0].diagnostics if issues else f"HTTP {status}")
        self.status = status
        self.issues = list(issues)
        self.headers = headers or {}

    @classmethod
    def of(
        cls, status: int, code: str, diagnostics: str, expression: str | None = None
    ) -> FhirError:
        return cls(status, [Issue("error", code, diagnostics, expression)])

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in issues]}


def bad_request(
    diagnostics: str, expression: str | None = None, code: str = "invalid"
) -> FhirError:
    return FhirError.of(400, code, diagnostics, expression)


def not_found(diagnostics: str) -> FhirError:
    return FhirError.of(404, "not-found", diagnostics)


def gone(diagnostics: str, headers: dict[str, str] | None = None) -> FhirError:
    return FhirError(410, [Issue("error", "deleted", diagnostics)], headers)


def conflict(diagnostics: str) -> FhirError:
    return FhirError.of(409, "conflict", diagnostics)


def busy(diagnostics: str) -> FhirError:
    """503: the database was locked by other writers for longer than a write waits;
    nothing was written and the client may retry (RFC 9110 Retry-After)."""
    return FhirError(503, [Issue("error", "lock-error", diagnostics)], {"Retry-After": "1"})


def precondition_failed(diagnostics: str) -> FhirError:
    return FhirError.of(412, "conflict", diagnostics)


def unprocessable(diagnostics: str, expression: str | None = None) -> FhirError:
    return FhirError.of(422, "business-rule", diagnostics, expression)
