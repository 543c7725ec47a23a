"""FHIRPath Patch (fhirpatch.html): a Parameters resource of add, insert, delete,
replace and move operations, each locating its target with a FHIRPath expression.

FHIRPath gives back the JSON objects of complex elements themselves, so a target that
is an object is found by identity in the resource. A primitive target is reached
through its parent: the path up to its last `.name` step (with an optional `[n]`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from ember.fhir import fhirpath
from ember.fhir.issues import Issue
from ember.fhir.model import Model
from ember.fhir.patch.errors import PatchError
from ember.fhir.validation import validate_resource

_PARTS = ("type", "path", "name", "value", "index", "source", "destination")
_LAST_STEP = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9_]*)(?:\[(?P<index>\d+)\])?$")


def _fail(message: str, status: int = 422, code: str = "processing") -> PatchError:
    return PatchError(Issue("error", code, message), status)


@dataclass
class _Operation:
    number: int
    type: str
    path: str
    name: str | None = None
    value: Any = None  # JSON of the value (a primitive or an object)
    value_type: str | None = None  # the FHIR type the valueX named, for choice names
    has_value: bool = False
    index: int | None = None
    source: int | None = None
    destination: int | None = None

    @property
    def where(self) -> str:
        return f"Patch operation {self.number} ({self.type} {self.path})"


def _part_value(part: dict[str, Any]) -> tuple[Any, str | None] | None:
    for key, value in part.items():
        if key.startswith("value") and key != "value":
            return value, key[5:6].lower() + key[6:]
    if "resource" in part:
        return part["resource"], part["resource"].get("resourceType")
    if "part" in part:  # an anonymous type, given as its parts
        return {p["name"]: _part_value(p)[0] for p in part["part"] if _part_value(p)}, None  # type: ignore[index]
    return None


def _operations(model: Model, parameters: Any) -> list[_Operation]:
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise _fail("A FHIRPath Patch is a Parameters resource", 400, "invalid")
    # The Parameters resource must be well formed before its parts are interpreted.
    problems = [i for i in validate_resource(parameters, model) if i.severity == "error"]
    if problems:
        first = problems[0]
        raise PatchError(Issue("error", first.code, first.diagnostics, first.expression), 400)
    operations = []
    for number, parameter in enumerate(parameters.get("parameter", [])):
        if parameter.get("name") != "operation":
            raise _fail(f"Parameter {number} is not named 'operation'", 400, "invalid")
        fields: dict[str, Any] = {}
        value_type = None
        has_value = False
        for part in parameter.get("part", []):
            name = part.get("name")
            if name not in _PARTS:
                raise _fail(
                    f"Patch operation {number} has an unknown part {name!r}", 400, "invalid"
                )
            found = _part_value(part)
            if name == "value":
                has_value = found is not None
                value_type = found[1] if found else None
            fields[name] = found[0] if found else None
        if fields.get("type") not in ("add", "insert", "delete", "replace", "move"):
            raise _fail(f"Patch operation {number} has no valid type", 400, "invalid")
        if not isinstance(fields.get("path"), str):
            raise _fail(f"Patch operation {number} has no path", 400, "invalid")
        for position in ("index", "source", "destination"):
            if fields.get(position) is not None and type(fields[position]) is not int:
                raise _fail(
                    f"Patch operation {number}: {position} must be an integer", 400, "invalid"
                )
        operations.append(
            _Operation(number=number, value_type=value_type, has_value=has_value, **fields)
        )
    return operations


def _split_last_step(path: str) -> tuple[str, str, int | None] | None:
    """'Patient.name[0].given[1]' -> ('Patient.name[0]', 'given', 1); None if the last
    step is not a plain element name."""
    depth = 0
    quoted = False
    for position in range(len(path) - 1, -1, -1):
        char = path[position]
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char in ")]":
            depth += 1
        elif char in "([":
            depth -= 1
        elif char == "." and depth == 0:
            match = _LAST_STEP.match(path[position + 1 :])
            if not match:
                return None
            index = match.group("index")
            return path[:position], match.group("name"), int(index) if index else None
    return None


def _path_to(node: Any, target: dict[str, Any]) -> list[str | int] | None:
    """The keys and indexes leading from `node` to the object `target` (by identity)."""
    if node is target:
        return []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        if isinstance(value, dict | list):
            found = _path_to(value, target)
            if found is not None:
                return [key, *found]
    return None


class _Patcher:
    def __init__(self, model: Model, resource: dict[str, Any]) -> None:
        self.model = model
        self.resource = resource

    def evaluate(self, operation: _Operation, path: str) -> list[Any]:
        try:
            return fhirpath.compile(path).evaluate(self.resource)
        except fhirpath.FHIRPathError as exc:
            raise _fail(f"{operation.where}: {exc}", 400, "invalid") from None

    def _single_object(self, operation: _Operation, path: str) -> dict[str, Any]:
        found = self.evaluate(operation, path)
        if len(found) != 1 or not isinstance(found[0], dict):
            raise _fail(
                f"{operation.where}: {path} must select exactly one element, found {len(found)}"
            )
        return found[0]

    def locate(self, operation: _Operation, allow_missing: bool) -> tuple[Any, Any] | None:
        """(container, key or index) of the single element the path selects."""
        found = self.evaluate(operation, operation.path)
        if not found and allow_missing:
            return None
        if len(found) != 1:
            raise _fail(f"{operation.where}: the path must select one element, found {len(found)}")
        if isinstance(found[0], dict):
            steps = _path_to(self.resource, found[0])
            if not steps:
                raise _fail(f"{operation.where}: the element cannot be changed in place")
            container: Any = self.resource
            for step in steps[:-1]:
                container = container[step]  # type: ignore[index]
            return container, steps[-1]
        split = _split_last_step(operation.path)
        if split is None:
            raise _fail(f"{operation.where}: a primitive target must end in .name or .name[n]")
        parent_path, name, index = split
        parent = self._single_object(operation, parent_path)
        if name not in parent:
            raise _fail(f"{operation.where}: {name} is not present")
        if isinstance(parent[name], list):
            return parent[name], index or 0
        return parent, name

    def json_name(self, container_type: str | None, name: str, value_type: str | None) -> str:
        """The JSON property for `name` (a choice element takes its type's suffix)."""
        if container_type is None:
            return name
        type_def = self.model.find_type(container_type)
        element = type_def.elements.get(name) if type_def else None
        if element is not None and element.is_choice and value_type:
            return name + value_type[0].upper() + value_type[1:]
        return name

    def apply(self, operation: _Operation) -> None:
        kind = operation.type
        if kind == "delete":
            location = self.locate(operation, allow_missing=True)
            if location is not None:
                container, key = location
                del container[key]
                if isinstance(container, dict) and isinstance(key, str):
                    container.pop("_" + key, None)
            return
        if kind == "replace":
            self._need_value(operation)
            location = self.locate(operation, allow_missing=False)
            assert location is not None
            container, key = location
            container[key] = operation.value
            return
        if kind == "add":
            self._need_value(operation)
            if not operation.name:
                raise _fail(f"{operation.where}: add needs a name", 400, "invalid")
            parent = self._single_object(operation, operation.path)
            parent_type = self._type_of(parent)
            key = self.json_name(parent_type, operation.name, operation.value_type)
            if self._repeats(parent_type, operation.name):
                parent.setdefault(key, []).append(operation.value)
            elif key in parent:
                raise _fail(f"{operation.where}: {operation.name} already has a value")
            else:
                parent[key] = operation.value
            return
        items = self._list(operation)
        if kind == "insert":
            self._need_value(operation)
            if operation.index is None or not 0 <= operation.index <= len(items):
                raise _fail(f"{operation.where}: index {operation.index} is outside the list")
            items.insert(operation.index, operation.value)
            return
        source, destination = operation.source, operation.destination
        if (
            source is None
            or destination is None
            or not (0 <= source < len(items) and 0 <= destination < len(items))
        ):
            raise _fail(f"{operation.where}: source and destination must be list positions")
        items.insert(destination, items.pop(source))

    def _list(self, operation: _Operation) -> list[Any]:
        split = _split_last_step(operation.path)
        if split is None or split[2] is not None:
            raise _fail(f"{operation.where}: the path must name a list (…​.name)")
        parent = self._single_object(operation, split[0])
        items = parent.get(split[1])
        if not isinstance(items, list):
            raise _fail(f"{operation.where}: {split[1]} is not a list here")
        return items

    def _need_value(self, operation: _Operation) -> None:
        if not operation.has_value:
            raise _fail(f"{operation.where} needs a value", 400, "invalid")

    def _type_of(self, node: dict[str, Any]) -> str | None:
        """The FHIR type of an object in the resource, by walking the model to it."""
        steps = _path_to(self.resource, node) or []
        current: Any = self.resource
        type_name: str | None = self.resource.get("resourceType")
        for step in steps:
            current = current[step]
            if isinstance(step, str) and type_name is not None:
                found = self.model.element(type_name, step)
                type_name = found[1] if found else None
            if type_name == "Resource" and isinstance(current, dict):
                type_name = current.get("resourceType")
        return type_name

    def _repeats(self, type_name: str | None, name: str) -> bool:
        type_def = self.model.find_type(type_name) if type_name else None
        element = type_def.elements.get(name) if type_def else None
        return element is not None and element.is_array


def _prune(node: Any) -> Any:
    """Drop objects and lists that deletes left empty (FHIR JSON has none)."""
    if isinstance(node, dict):
        for key in list(node):
            value = _prune(node[key])
            if value in ({}, []):
                del node[key]
    elif isinstance(node, list):
        node[:] = [item for item in (_prune(i) for i in node) if item not in ({}, [])]
    return node


def apply_fhirpath_patch(model: Model, resource: dict[str, Any], parameters: Any) -> dict[str, Any]:
    """The patched copy of `resource`; raises PatchError saying which operation failed."""
    operations = _operations(model, parameters)
    patcher = _Patcher(model, copy.deepcopy(resource))
    for operation in operations:
        patcher.apply(operation)
    return _prune(patcher.resource)
