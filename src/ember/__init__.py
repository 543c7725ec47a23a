"""Ember: a definitions-driven FHIR server."""
