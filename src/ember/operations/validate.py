"""$validate (resource-operations.html#validate): is this resource valid, and for
which kind of write? Answers with the issues found, never fails because of them."""

from __future__ import annotations

from typing import Any

from ember.engine.errors import bad_request, operation_outcome
from ember.engine.interactions import Engine
from ember.fhir.formats import json as fhir_json
from ember.fhir.issues import Issue
from ember.fhir.validation.validator import validate
from ember.operations.registry import Invocation, Operation, register

MODES = ("create", "update", "delete")
ALL_OK = Issue("information", "informational", "All OK")


def run(engine: Engine, invocation: Invocation) -> dict[str, Any]:
    mode = invocation.value("mode")
    if mode is not None and mode not in MODES:
        raise bad_request(f"mode must be one of {', '.join(MODES)}, got {mode!r}", "mode")
    type_, id_ = invocation.type_, invocation.id_
    assert type_ is not None  # $validate is a type or instance operation
    if mode == "delete":
        if id_ is None:
            raise bad_request(
                f"mode=delete validates the deletion of an instance: use {type_}/[id]/$validate"
            )
        engine.read(type_, id_)  # 404 or 410 when there is nothing to delete
        return operation_outcome([ALL_OK])  # Ember keeps no referential integrity
    resource = invocation.value("resource") or invocation.resource
    if resource is None:
        if id_ is None:
            raise bad_request("No resource to validate: send one in the body")
        stored = engine.read(type_, id_)
        assert stored.content is not None
        resource = fhir_json.parse(stored.content)
    issues = _write_issues(resource, type_, id_, mode)
    if not issues:
        profile = invocation.value("profile")
        if profile is not None and (not isinstance(profile, str) or not profile):
            raise bad_request(f"profile must be a canonical URL, got {profile!r}", "profile")
        resolver = engine.definitions.resolver()
        issues = validate(
            resource,
            engine.model,
            max_depth=engine.settings.max_depth,
            profiles=[profile] if profile else [],
            lookup=resolver,
            terminology=resolver.terminology,
        )
    return operation_outcome(issues or [ALL_OK])


def _write_issues(resource: Any, type_: str, id_: str | None, mode: str | None) -> list[Issue]:
    """What makes the resource unfit for the write `mode` names, before its content."""
    if not isinstance(resource, dict):
        return [Issue("error", "structure", "The resource to validate must be a JSON object")]
    body_type = resource.get("resourceType")
    if body_type != type_:
        diagnostics = f"The resource is a {body_type!r}, but $validate was called on {type_}"
        return [Issue("error", "invalid", diagnostics, "resourceType")]
    if mode == "update":
        if "id" not in resource:
            return [Issue("error", "required", "An update needs the resource's id", type_)]
        if id_ is not None and resource["id"] != id_:
            diagnostics = f"The resource's id {resource['id']!r} is not the URL's {id_!r}"
            return [Issue("error", "invalid", diagnostics, f"{type_}.id")]
    return []


register(
    Operation(
        name="validate",
        levels=frozenset({"type", "instance"}),
        affects_state=False,
        run=run,
        definition="http://hl7.org/fhir/OperationDefinition/Resource-validate",
    )
)
