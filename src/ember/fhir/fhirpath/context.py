"""The per-evaluation state that compiled closures share: variables, $index, services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ember.fhir.fhirpath.nodes import Node
from ember.fhir.model import Model

# Callbacks an evaluation may be given (all optional):
Resolver = Callable[[str], dict[str, Any] | None]  # reference -> resource JSON
Terminology = Callable[[Any, str], bool | None]  # (code/Coding/CodeableConcept, value set)
ProfileCheck = Callable[[dict[str, Any], str], bool | None]  # (resource/element, profile)
Tracer = Callable[[str, list[Any]], None]  # (trace name, traced items)


class Env:
    """Mutable evaluation state; iteration functions set and restore $index/$total."""

    __slots__ = (
        "conforms_to",
        "context",
        "index",
        "model",
        "resolver",
        "resource",
        "root_resource",
        "started",
        "terminology",
        "total",
        "tracer",
        "variables",
    )

    def __init__(
        self,
        model: Model,
        context: list[Any],
        resource: list[Any],
        root_resource: list[Any],
        variables: Mapping[str, list[Any]],
        *,
        resolver: Resolver | None = None,
        terminology: Terminology | None = None,
        conforms_to: ProfileCheck | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.model = model
        self.context = context
        self.resource = resource
        self.root_resource = root_resource
        self.variables = variables
        self.resolver = resolver
        self.terminology = terminology
        self.conforms_to = conforms_to
        self.tracer = tracer
        self.index: int | None = None
        self.total: list[Any] = []
        self.started: datetime | None = None  # now(): one instant per evaluation

    def now(self) -> datetime:
        if self.started is None:
            self.started = datetime.now().astimezone()
        return self.started

    def root_node(self) -> Node | None:
        root = self.root_resource
        return root[0] if root and root[0].__class__ is Node else None
