"""Validation of FHIR content: structure on every write; invariants, bindings on demand."""

from ember.fhir.validation.rules import check_rules
from ember.fhir.validation.structure import validate_resource

__all__ = ["check_rules", "validate_resource"]
