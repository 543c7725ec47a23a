"""The FHIR model layer: definitions, types, FHIRPath, validation, formats. Knows nothing of HTTP or SQL."""
