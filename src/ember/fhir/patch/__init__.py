"""Patches of FHIR resources: JSON Patch (RFC 6902) and FHIRPath Patch (fhirpatch.html)."""
