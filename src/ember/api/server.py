"""The app factory uvicorn workers call: settings come from EMBER_* variables."""

from __future__ import annotations

from ember.api.app import FhirApp, create_app
from ember.config import Settings


def app_from_env() -> FhirApp:
    return create_app(Settings.from_env())
