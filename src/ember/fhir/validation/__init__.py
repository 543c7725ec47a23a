"""Validation of FHIR content written to the server."""

from ember.fhir.validation.structure import validate_resource

__all__ = ["validate_resource"]
