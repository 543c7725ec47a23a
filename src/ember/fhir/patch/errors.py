"""The error both patch formats raise."""

from __future__ import annotations

from ember.fhir.issues import Issue


class PatchError(ValueError):
    """A patch that cannot be applied; `issue` says which operation and why."""

    def __init__(self, issue: Issue, status: int = 422) -> None:
        super().__init__(issue.diagnostics)
        self.issue = issue
        self.status = status
