"""The operations Ember serves (operations.html), by name and level.

An operation is HTTP-free: it gets the engine and an `Invocation` (where it was called,
its parameters and body), and returns the resource to answer with. The api routes
`$name` URLs here and renders the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ember.engine.errors import bad_request
from ember.engine.interactions import Engine
from ember.fhir import definitions

Level = Literal["system", "type", "instance"]


@dataclass(frozen=True, slots=True)
class Invocation:
    level: Level
    type_: str | None
    id_: str | None
    # parameter name -> values: from the query string (strings) and a Parameters body
    # (the parameter entries themselves)
    parameters: dict[str, list[Any]] = field(default_factory=dict)
    resource: dict[str, Any] | None = None  # a body that is not a Parameters resource

    def value(self, name: str) -> Any:
        """The single value of a parameter (`valueX`, `resource` or a query string);
        400 if it is given more than once."""
        values = self.parameters.get(name, [])
        if not values:
            return None
        if len(values) > 1:
            raise bad_request(f"{name} is given {len(values)} times; it takes one value", name)
        item = values[0]
        if not isinstance(item, dict):
            return item
        if "resource" in item:
            return item["resource"]
        return next((v for k, v in item.items() if k.startswith("value")), None)


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # without "$"
    levels: frozenset[Level]
    affects_state: bool  # False: GET is allowed too (operations.html#invoking)
    run: Callable[[Engine, Invocation], dict[str, Any]]
    definition: str  # the canonical URL of its OperationDefinition
    # that OperationDefinition, for Ember's own operations (the specification's are shipped)
    own_definition: dict[str, Any] | None = None


_OPERATIONS: dict[str, Operation] = {}


def register(operation: Operation) -> Operation:
    _OPERATIONS[operation.name] = operation
    return operation


def find(name: str) -> Operation | None:
    return _OPERATIONS.get(name)


def registered() -> list[Operation]:
    return sorted(_OPERATIONS.values(), key=lambda operation: operation.name)


def definition(version: str, id_: str) -> dict[str, Any] | None:
    """The shipped OperationDefinition `id_` of an operation Ember serves, so that the
    canonical URLs the CapabilityStatement gives can be read on this server."""
    served = {operation.definition for operation in _OPERATIONS.values()}
    own = (o.own_definition for o in _OPERATIONS.values() if o.own_definition is not None)
    shipped = definitions.load(version, "OperationDefinition")
    return next(
        (
            found
            for found in (*own, *shipped)
            if found.get("id") == id_ and found.get("url") in served
        ),
        None,
    )
