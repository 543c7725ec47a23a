"""The official FHIR definitions shipped with Ember, one folder per FHIR version.

Each folder holds one gzipped JSON array per resource type (StructureDefinition,
SearchParameter, CompartmentDefinition, OperationDefinition, ValueSet, CodeSystem),
written by `python -m ember.fhir.definitions.build`.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Any

import orjson

FHIR_VERSIONS = {"r4": "4.0.1"}
_ROOT = Path(__file__).parent


@cache
def load(version: str, resource_type: str) -> tuple[dict[str, Any], ...]:
    """All shipped definition resources of one type for a FHIR version ("r4")."""
    path = _ROOT / version / f"{resource_type}.json.gz"
    if not path.exists():
        raise LookupError(f"no shipped {resource_type} definitions for FHIR {version}")
    with gzip.open(path, "rb") as handle:
        return tuple(orjson.loads(handle.read()))
