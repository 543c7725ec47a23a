"""The app factory uvicorn workers call: settings come from EMBER_* variables."""

from __future__ import annotations

from starlette.applications import Starlette

from ember.api.app import create_app
from ember.config import Settings


def app_from_env() -> Starlette:
    return create_app(Settings.from_env())
