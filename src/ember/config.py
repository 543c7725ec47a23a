"""Server settings: from EMBER_* environment variables, overridden by command-line flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any


def _env_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


VALIDATION_MODES = ("off", "warn", "reject")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///data/ember.db"
    base_url: str | None = None  # public base of the FHIR endpoint; default from the request
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    fhir_version: str = "r4"
    max_body_bytes: int = 16 * 1024 * 1024
    max_depth: int = 64  # nesting depth of JSON objects/arrays in a resource
    require_if_match: bool = False  # "version-aware updates required" (http.html#concurrency)
    allow_update_create: bool = True  # PUT to a new id creates it (http.html#upsert)
    conditional_delete_max: int = 10  # more matches than this: 412
    default_count: int = 50
    max_count: int = 1000
    max_bundle_entries: int = 10_000  # batch/transaction entries per request
    strict_handling: bool = False  # unknown search parameters: 400 instead of a warning
    # invariants and bindings on write: off, warn (checked, never blocking) or reject
    # (errors refuse the write); structural checks always run and always reject
    validation: str = "reject"
    # claimed profiles (meta.profile) on write: off, warn (default: a claim is an assertion
    # real data often breaks, e.g. Synthea's vital signs without a value) or reject (422)
    profile_validation: str = "warn"
    # _text/_content: full-text rows written with every version (off saves their cost)
    fulltext: bool = True
    log_level: str = "info"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from EMBER_<NAME> variables; non-None overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"EMBER_{f.name.upper()}")
            if raw is None:
                continue
            default = f.default
            if isinstance(default, bool):
                values[f.name] = _env_bool(raw)
            elif isinstance(default, int):
                values[f.name] = int(raw)
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __post_init__(self) -> None:
        for name in ("validation", "profile_validation"):
            mode = getattr(self, name)
            if mode not in VALIDATION_MODES:
                modes = " | ".join(VALIDATION_MODES)
                raise ValueError(f"{name} must be one of {modes}, got {mode!r}")
