"""The FHIR type registry, derived from the official StructureDefinitions.

Everything Ember knows about resources and datatypes (which elements a type has,
their types, cardinality, choice-type expansions, order, summary flags, bindings,
invariants, primitive regexes) comes from here; there is no hand-written
per-resource code anywhere else.

Backbone elements (e.g. `Patient.contact`) become anonymous types named by their
path, so navigation works the same way for them as for named datatypes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from ember.fhir import definitions

Kind = Literal["primitive-type", "complex-type", "resource", "backbone"]

_FHIRPATH_SYSTEM = "http://hl7.org/fhirpath/System."
_FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
_REGEX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/regex"

# How each primitive appears in JSON (json.html); every other primitive is a string.
_JSON_NUMBER_PRIMITIVES = {"integer": int, "positiveInt": int, "unsignedInt": int, "decimal": float}


@dataclass(frozen=True, slots=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str | None
    source: str | None


@dataclass(frozen=True, slots=True)
class Binding:
    strength: str
    value_set: str | None


@dataclass(frozen=True, slots=True)
class Element:
    """One element of a type, as the snapshot defines it."""

    name: str  # without "[x]"; for a choice element this is the stem ("value")
    path: str  # full path as in the definition ("Observation.value[x]")
    types: tuple[str, ...]  # type names; backbone elements name their own path type
    min: int
    max: int | None  # None means unbounded ("*")
    is_choice: bool
    is_modifier: bool
    is_summary: bool
    binding: Binding | None
    target_profiles: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    type_profiles: tuple[str, ...] = ()

    @property
    def is_array(self) -> bool:
        return self.max is None or self.max > 1

    def json_names(self) -> dict[str, str]:
        """JSON property name -> type name (choice elements expand per type)."""
        if not self.is_choice:
            return {self.name: self.types[0]}
        return {self.name + _choice_suffix(t): t for t in self.types}


@dataclass(slots=True)
class TypeDef:
    """A datatype, resource, or backbone element type."""

    name: str
    kind: Kind
    abstract: bool
    base: str | None
    url: str | None
    elements: dict[str, Element] = field(default_factory=dict)  # by name, in order
    by_json_name: dict[str, tuple[Element, str]] = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()
    regex: re.Pattern[str] | None = None  # primitives only
    max_length: int | None = None  # primitives only

    @property
    def is_primitive(self) -> bool:
        return self.kind == "primitive-type"

    @property
    def is_resource(self) -> bool:
        return self.kind == "resource"

    def element(self, json_name: str) -> tuple[Element, str] | None:
        """The element and concrete type a JSON property name stands for."""
        return self.by_json_name.get(json_name)


def _choice_suffix(type_name: str) -> str:
    return type_name[0].upper() + type_name[1:]


class Model:
    """The type registry of one FHIR version."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.fhir_version = definitions.FHIR_VERSIONS[version]
        self.types: dict[str, TypeDef] = {}
        self.structure_definitions: dict[str, dict[str, Any]] = {}
        for sd in definitions.load(version, "StructureDefinition"):
            self.structure_definitions[sd["url"]] = sd
            # Specialisations define types; the roots (Resource, Element) have no base.
            is_type = sd.get("derivation") == "specialization" or "baseDefinition" not in sd
            if is_type and sd["kind"] != "logical":
                self._add_structure(sd)
        self.resource_types: frozenset[str] = frozenset(
            name for name, t in self.types.items() if t.kind == "resource" and not t.abstract
        )

    # -- questions -------------------------------------------------------------------

    def is_resource_type(self, name: str) -> bool:
        """True for concrete resource types (Patient), false for Resource/DomainResource."""
        return name in self.resource_types

    def type(self, name: str) -> TypeDef:
        try:
            return self.types[name]
        except KeyError:
            raise LookupError(f"unknown FHIR type {name!r}") from None

    def find_type(self, name: str) -> TypeDef | None:
        return self.types.get(name)

    def is_primitive(self, name: str) -> bool:
        t = self.types.get(name)
        return t is not None and t.is_primitive

    def json_type_of_primitive(self, name: str) -> type:
        """The Python type a primitive's JSON value has (bool, int, float or str)."""
        if name == "boolean":
            return bool
        return _JSON_NUMBER_PRIMITIVES.get(name, str)

    def is_subtype(self, name: str, ancestor: str) -> bool:
        """True if type `name` is `ancestor` or derives from it (Age -> Quantity)."""
        current: str | None = name
        while current is not None:
            if current == ancestor:
                return True
            t = self.types.get(current)
            current = t.base if t else None
        return False

    def element(self, type_name: str, json_name: str) -> tuple[Element, str] | None:
        t = self.types.get(type_name)
        return t.by_json_name.get(json_name) if t else None

    # -- building --------------------------------------------------------------------

    def _add_structure(self, sd: dict[str, Any]) -> None:
        name = sd["type"] if sd["kind"] != "logical" else sd["id"]
        base_url = sd.get("baseDefinition")
        base = base_url.rsplit("/", 1)[-1] if base_url else None
        snapshot = sd["snapshot"]["element"]
        root = TypeDef(
            name=name,
            kind=sd["kind"],
            abstract=bool(sd.get("abstract")),
            base=base,
            url=sd["url"],
            constraints=constraints_of(snapshot[0]),
        )
        self.types[name] = root
        by_path: dict[str, TypeDef] = {name: root}
        has_children = {d["path"].rpartition(".")[0] for d in snapshot}
        for definition in snapshot[1:]:
            path: str = definition["path"]
            parent_path, _, raw_name = path.rpartition(".")
            parent = by_path.get(parent_path)
            if parent is None:  # a child of something we skip (cannot happen in core)
                continue
            if root.is_primitive and raw_name == "value":
                self._set_primitive_value(root, definition)
                continue
            is_backbone = path in has_children and "contentReference" not in definition
            element = self._element(root, path, raw_name, definition, is_backbone)
            if is_backbone:
                # an inline backbone element: its children follow in the snapshot
                backbone_base = definition["type"][0]["code"]
                by_path[path] = self.types[path] = TypeDef(
                    name=path,
                    kind="backbone",
                    abstract=False,
                    base=backbone_base,
                    url=None,
                    constraints=element.constraints,
                )
            parent.elements[element.name] = element
            for json_name, type_name in element.json_names().items():
                parent.by_json_name[json_name] = (element, type_name)

    def _element(
        self,
        root: TypeDef,
        path: str,
        raw_name: str,
        definition: dict[str, Any],
        is_backbone: bool,
    ) -> Element:
        is_choice = raw_name.endswith("[x]")
        name = raw_name[:-3] if is_choice else raw_name
        types: list[str] = []
        target_profiles: list[str] = []
        type_profiles: list[str] = []
        if "contentReference" in definition:
            types.append(definition["contentReference"].split("#", 1)[1])
        for t in definition.get("type", ()):
            code = t["code"]
            if is_backbone:
                code = path
            elif code.startswith(_FHIRPATH_SYSTEM):
                code = _fhir_type_of_system(t, root, path)
            types.append(code)
            target_profiles.extend(t.get("targetProfile", ()))
            type_profiles.extend(t.get("profile", ()))
        binding = definition.get("binding")
        max_ = definition.get("max", "*")
        return Element(
            name=name,
            path=path,
            types=tuple(types),
            min=int(definition.get("min", 0)),
            max=None if max_ == "*" else int(max_),
            is_choice=is_choice,
            is_modifier=bool(definition.get("isModifier")),
            is_summary=bool(definition.get("isSummary")),
            binding=Binding(binding["strength"], binding.get("valueSet")) if binding else None,
            target_profiles=tuple(target_profiles),
            constraints=constraints_of(definition),
            type_profiles=tuple(type_profiles),
        )

    def _set_primitive_value(self, primitive: TypeDef, definition: dict[str, Any]) -> None:
        for t in definition.get("type", ()):
            for ext in t.get("extension", ()):
                if ext["url"] == _REGEX_EXTENSION:
                    primitive.regex = re.compile(ext["valueString"])
        if "maxLength" in definition:
            primitive.max_length = int(definition["maxLength"])


def _fhir_type_of_system(type_entry: dict[str, Any], root: TypeDef, path: str) -> str:
    # R4 types `Resource.id` as System.String with fhir-type "string", although the
    # resource id is of type `id` (resource.html); element ids are plain strings.
    if root.is_resource and path == f"{root.name}.id":
        return "id"
    for ext in type_entry.get("extension", ()):
        if ext["url"] == _FHIR_TYPE_EXTENSION:
            return ext.get("valueUrl") or ext.get("valueUri") or "string"
    return "string"


def constraints_of(definition: dict[str, Any]) -> tuple[Constraint, ...]:
    """The constraints of an element definition (JSON)."""
    return tuple(
        Constraint(
            key=c["key"],
            severity=c.get("severity", "error"),
            human=c.get("human", ""),
            expression=c.get("expression"),
            source=c.get("source"),
        )
        for c in definition.get("constraint", ())
    )


@cache
def get_model(version: str = "r4") -> Model:
    """The cached type registry of a FHIR version."""
    return Model(version)
