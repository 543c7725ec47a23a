"""`GET [base]/$reindex`: the search index rebuilds, running and recent (an Ember
operation). Rebuilds start by themselves when a SearchParameter changes; this reports
each one's progress as a Parameters resource, one `job` part per rebuild."""

from __future__ import annotations

from typing import Any

from ember.engine.interactions import Engine
from ember.operations.registry import Invocation, Operation, register
from ember.search import reindex

DEFINITION = "http://ember.dev/fhir/OperationDefinition/reindex"


def _out(name: str, type_: str, max_: str = "1") -> dict[str, Any]:
    return {"name": name, "use": "out", "min": 0 if max_ == "*" else 1, "max": max_, "type": type_}


# Served at GET [base]/OperationDefinition/reindex, the definition the
# CapabilityStatement names
OPERATION_DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "reindex",
    "url": DEFINITION,
    "name": "Reindex",
    "status": "active",
    "kind": "operation",
    "description": "The search index rebuilds, running and recent, with their progress",
    "affectsState": False,
    "code": "reindex",
    "system": True,
    "type": False,
    "instance": False,
    "parameter": [
        {
            "name": "job",
            "use": "out",
            "min": 0,
            "max": "*",
            "documentation": "One rebuild; parameter and type name what it rebuilds",
            "part": [
                _out("id", "integer"),
                _out("status", "code"),
                _out("done", "integer"),
                _out("total", "integer"),
                _out("parameter", "string", "*"),
                _out("type", "code", "*"),
            ],
        }
    ],
}


def _job(job: reindex.Job) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"name": "id", "valueInteger": job.pk},
        {"name": "status", "valueCode": "completed" if job.finished else "in-progress"},
        {"name": "done", "valueInteger": job.done},
        {"name": "total", "valueInteger": job.total},
    ]
    parts += [{"name": "parameter", "valueString": code} for code in job.params or ()]
    parts += [{"name": "type", "valueCode": type_} for type_ in job.types or ()]
    return {"name": "job", "part": parts}


def run(engine: Engine, invocation: Invocation) -> dict[str, Any]:
    with engine.store.reading() as reader:
        jobs = reindex.recent(reader)
    result: dict[str, Any] = {"resourceType": "Parameters"}
    if jobs:  # FHIR JSON has no empty arrays
        result["parameter"] = [_job(job) for job in jobs]
    return result


register(
    Operation(
        name="reindex",
        levels=frozenset({"system"}),
        affects_state=False,
        run=run,
        definition=DEFINITION,
        own_definition=OPERATION_DEFINITION,
    )
)
