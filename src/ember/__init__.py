"""Ember: a definitions-driven FHIR server."""

__version__ = "0.1.0"
