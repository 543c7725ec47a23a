"""The FHIR model layer: definitions, types, FHIRPath, validation, formats.

It knows nothing of HTTP or SQL.
"""
