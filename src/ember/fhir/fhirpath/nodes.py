"""FHIR data as FHIRPath sees it: typed nodes over plain JSON, and navigation.

A collection is a Python list whose items are either system values (bool, int, Decimal,
str, Date/DateTime/Time, Quantity) or `Node`s: a FHIR element with its FHIR type. A
primitive node also carries its `_field` sibling (id/extension), so
`Patient.birthDate.extension(...)` works. Primitive values are converted to system values
lazily, only when an operation needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from ember.fhir.fhirpath import temporal
from ember.fhir.model import Element, Model


class Node:
    """A FHIR element: `data` is its JSON (a dict, or a primitive's value, possibly None)."""

    __slots__ = ("data", "element", "ext", "type_name")

    def __init__(
        self,
        data: Any,
        type_name: str | None,
        ext: dict[str, Any] | None = None,
        element: Element | None = None,
    ) -> None:
        self.data = data
        self.type_name = type_name  # FHIR type (backbone types are named by path)
        self.ext = ext  # a primitive's id/extension, from its `_name` sibling
        self.element = element  # the definition it was reached through, if any

    def __repr__(self) -> str:
        return f"Node({self.type_name}, {self.data!r})"


def wrap(value: Any) -> Any:
    """A value handed in from Python (variable, callback result) as a collection item."""
    if isinstance(value, dict):
        return Node(value, value.get("resourceType"))
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


# -- primitive values ----------------------------------------------------------------


@lru_cache(maxsize=4096)
def _temporal_value(type_name: str, text: str) -> Any:
    value = temporal.parse_fhir(type_name, text)
    return text if value is None else value


def _decimal_value(_: str, raw: Any) -> Any:
    if isinstance(raw, Decimal | bool):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    return raw


_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "date": _temporal_value,
    "dateTime": _temporal_value,
    "instant": _temporal_value,
    "time": _temporal_value,
    "decimal": _decimal_value,
}


def system_value(item: Any) -> Any:
    """The FHIRPath system value of an item; complex nodes are returned unchanged."""
    if item.__class__ is not Node:
        return item
    data = item.data
    if data.__class__ is dict or data is None:
        return item
    converter = _CONVERTERS.get(item.type_name)  # type: ignore[arg-type]
    if converter is None:
        if data.__class__ is float:
            return Decimal(repr(data))
        return data
    return converter(item.type_name, data)  # type: ignore[arg-type]


def to_python(item: Any) -> Any:
    """A result item as handed back to callers: JSON for complex elements, else the value."""
    if item.__class__ is not Node:
        return item
    if item.data is None:
        return item.ext or {}
    if item.data.__class__ is dict:
        return item.data
    return system_value(item)


# -- navigation ----------------------------------------------------------------------


class Child:
    """How to find one named child in the JSON of one parent type.

    `collect(data, out)` appends the child nodes found in a parent's JSON; it is bound
    at construction to the collector for the kind of element (the hot path).
    """

    __slots__ = (
        "choice_keys",
        "choices",
        "collect",
        "element",
        "ext_name",
        "json_name",
        "type_name",
    )

    def __init__(self, element: Element | None, type_name: str | None, model: Model) -> None:
        self.element = element
        self.type_name = type_name
        self.json_name = element.name if element else ""
        self.ext_name = "_" + self.json_name
        self.choices: dict[str, str] = {}
        self.choice_keys: frozenset[str] = frozenset()
        if element is not None and element.is_choice:
            self.choices = element.json_names()
            self.choice_keys = frozenset(self.choices) | {"_" + key for key in self.choices}
            self.collect = self._collect_choice
        elif type_name in ("Resource", "DomainResource"):
            self.collect = self._collect_resources
        elif type_name is not None and model.is_primitive(type_name):
            self.collect = self._collect_primitives
        else:
            self.collect = self._collect_complex

    def _collect_complex(self, data: dict[str, Any], out: list[Any]) -> None:
        value = data.get(self.json_name)
        if value is None:
            return
        if value.__class__ is list:
            type_name, element = self.type_name, self.element
            out.extend([Node(entry, type_name, None, element) for entry in value])
        else:
            out.append(Node(value, self.type_name, None, self.element))

    def _collect_resources(self, data: dict[str, Any], out: list[Any]) -> None:
        # contained and Bundle.entry.resource are typed by their resourceType
        value = data.get(self.json_name)
        if value is None:
            return
        for entry in value if value.__class__ is list else (value,):
            out.append(Node(entry, _resource_type(entry), None, self.element))

    def _collect_primitives(self, data: dict[str, Any], out: list[Any]) -> None:
        value = data.get(self.json_name)
        ext = data.get(self.ext_name)
        if ext is None:
            if value is None:
                return
            if value.__class__ is list:
                type_name, element = self.type_name, self.element
                out.extend([Node(v, type_name, None, element) for v in value if v is not None])
            else:
                out.append(Node(value, self.type_name, None, self.element))
            return
        _add_primitives(value, ext, self.type_name, self.element, out)

    def _collect_choice(self, data: dict[str, Any], out: list[Any]) -> None:
        choices = self.choices
        for key in self.choice_keys & data.keys():
            value = data[key]
            if key[0] == "_":
                # a primitive with only extensions has no `valueX`, just `_valueX`
                if key[1:] not in data:
                    out.append(Node(None, choices[key[1:]], value, self.element))
            elif value.__class__ is dict:
                out.append(Node(value, choices[key], None, self.element))
            else:
                out.append(Node(value, choices[key], data.get("_" + key), self.element))


def _resource_type(value: Any) -> str | None:
    return value.get("resourceType") if value.__class__ is dict else None


def _add_primitives(
    value: Any, ext: Any, type_name: str | None, element: Element | None, out: list[Any]
) -> None:
    """Primitive nodes from a value (or list) and its `_name` sibling (or list)."""
    if value.__class__ is list or ext.__class__ is list:
        values = value if value.__class__ is list else []
        exts = ext if ext.__class__ is list else []
        for i in range(max(len(values), len(exts))):
            v = values[i] if i < len(values) else None
            e = exts[i] if i < len(exts) else None
            if v is not None or e is not None:
                out.append(Node(v, type_name, e, element))
    elif value is not None or ext is not None:
        out.append(Node(value, type_name, ext, element))


class _UntypedChild:
    """Navigation in JSON of unknown type: by property name, guessing choice types."""

    __slots__ = ("model", "name")

    def __init__(self, name: str, model: Model) -> None:
        self.name = name
        self.model = model

    def collect(self, data: dict[str, Any], out: list[Any]) -> None:
        name = self.name
        value = data.get(name)
        if value is not None or "_" + name in data:
            if value.__class__ is dict or (
                value.__class__ is list and value and value[0].__class__ is dict
            ):
                for entry in value if value.__class__ is list else [value]:
                    out.append(Node(entry, _resource_type(entry)))
            else:
                _add_primitives(value, data.get("_" + name), None, None, out)
            return
        size = len(name)
        for key, value in data.items():
            if len(key) > size and key.startswith(name) and key[size].isupper():
                type_name = self._choice_type(key[size:])
                if value.__class__ is dict:
                    out.append(Node(value, type_name))
                else:
                    _add_primitives(value, data.get("_" + key), type_name, None, out)

    def _choice_type(self, suffix: str) -> str | None:
        for candidate in (suffix, suffix[0].lower() + suffix[1:]):
            if self.model.find_type(candidate) is not None:
                return candidate
        return None


@cache
def child_finder(model: Model, type_name: str | None, name: str) -> Child | _UntypedChild | None:
    """The Child for `name` in `type_name`; None if that type has no such element."""
    typedef = model.find_type(type_name) if type_name else None
    if typedef is None:
        return _UntypedChild(name, model)
    element = typedef.elements.get(name)
    if element is None:
        return None
    return Child(element, None if element.is_choice else element.types[0], model)


StepFunction = Callable[[list[Any]], list[Any]]


def step(name: str, model: Model) -> StepFunction:
    """Navigation to the children called `name`, remembering per parent type how to find
    them (the hot path: a plain closure, as cheap to call as Python allows)."""
    by_type: dict[str | None, Child | _UntypedChild | None] = {}

    def navigate(items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if item.__class__ is not Node:
                continue
            data = item.data
            if data.__class__ is not dict:
                if item.ext is not None:
                    _primitive_child(item.ext, name, out)
                continue
            try:
                child = by_type[item.type_name]
            except KeyError:
                child = by_type[item.type_name] = child_finder(model, item.type_name, name)
            if child is not None:
                child.collect(data, out)
        return out

    return navigate


def _primitive_child(ext: dict[str, Any], name: str, out: list[Any]) -> None:
    # a primitive's own children are its id and extensions, from its `_name` sibling
    if name == "extension":
        for extension in ext.get("extension", ()):
            out.append(Node(extension, "Extension", None, None))
    elif name == "id" and "id" in ext:
        out.append(Node(ext["id"], "string", None, None))


def children(item: Any, model: Model) -> list[Any]:
    """All child nodes of an item, in document order (children())."""
    if item.__class__ is not Node:
        return []
    data = item.data
    out: list[Any] = []
    if data.__class__ is not dict:
        for name in ("id", "extension"):
            out.extend(step(name, model)([item]))
        return out
    typedef = model.find_type(item.type_name) if item.type_name else None
    if typedef is None:
        names = [key for key in data if key[0] != "_" and key != "resourceType"]
        for name in names:
            _UntypedChild(name, model).collect(data, out)
        return out
    for element in typedef.elements.values():
        child_finder(model, item.type_name, element.name).collect(data, out)  # type: ignore[union-attr]
    return out
