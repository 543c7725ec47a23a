"""The per-evaluation state that compiled closures share: variables, $index, services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ember.fhir.fhirpath.nodes import Node
from ember.fhir.model import Model

# Callbacks an evaluation may be given (all optional):
Resolver = Callable[[str], dict[str, Any] | None]  # reference -> resource JSON
Terminology = Callable[[Any, str], bool | None]  # (code/Coding/CodeableConcept, value set)
ProfileCheck = Callable[[Any, str], bool | None]  # (resource/element JSON, profile url)
Tracer = Callable[[str, list[Any]], None]  # (trace name, traced items)


@dataclass(frozen=True, slots=True)
class Services:
    """The callbacks of one evaluation."""

    resolver: Resolver | None = None
    terminology: Terminology | None = None
    conforms_to: ProfileCheck | None = None
    tracer: Tracer | None = None


NO_SERVICES = Services()


class Env:
    """Mutable evaluation state; iteration functions set and restore $index/$total."""

    __slots__ = (
        "context",
        "index",
        "model",
        "resource",
        "services",
        "started",
        "total",
        "variables",
    )

    def __init__(
        self,
        model: Model,
        context: list[Any],
        resource: list[Any],
        variables: Mapping[str, list[Any]],
        services: Services,
    ) -> None:
        self.model = model
        self.context = context  # %context
        self.resource = resource  # %resource (and %rootResource)
        self.variables = variables
        self.services = services
        self.index: int | None = None
        self.total: list[Any] = []
        self.started: datetime | None = None  # now() is one instant per evaluation

    def now(self) -> datetime:
        if self.started is None:
            self.started = datetime.now().astimezone()
        return self.started

    def root_node(self) -> Node | None:
        root = self.resource
        return root[0] if root and root[0].__class__ is Node else None
