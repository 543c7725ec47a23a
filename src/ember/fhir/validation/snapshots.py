"""Snapshots generated from differentials (profiling.html#snapshot): a StructureDefinition
that carries only a differential gets the snapshot of its base with the differential's
constraints merged in.

Each differential element is merged into the base element with the same id; what the
base does not have yet is made first:
- the children of a complex datatype (`Observation.code.coding`), copied from the type's
  own definition, re-rooted under the element;
- the children of an element with a contentReference (`Questionnaire.item.item`),
  copied from the element it names;
- a slice (`Observation.category:vs`), a copy of the sliced element (without its slicing,
  minimum 0) placed after the sliced element's children and earlier slices, with copies
  of the sliced element's children;
- below a choice slice (`Observation.value[x]:valueQuantity.value`), the children of
  the type the slice names.
Merging overwrites what the differential says (cardinality, types, fixed/pattern,
binding, slicing, mustSupport, texts) and adds its constraints to the base's. An element
that cannot be placed (an unknown name) is left out; the checker still sees the
differential.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Lookup = Callable[[str], dict[str, Any] | None]
Element = dict[str, Any]
_CORE = "http://hl7.org/fhir/StructureDefinition/"


def with_snapshot(definition: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    """`definition` itself when it has a snapshot (or no differential, or an unknown
    base), else a copy with a generated snapshot."""
    if (definition.get("snapshot") or {}).get("element"):
        return definition
    differential = (definition.get("differential") or {}).get("element") or []
    base = lookup(definition.get("baseDefinition", ""))
    base_elements = ((base or {}).get("snapshot") or {}).get("element")
    if not differential or not base_elements:
        return definition
    builder = _Builder([copy.deepcopy(e) for e in base_elements], lookup)
    for element in differential:
        if not isinstance(element, dict):
            continue
        index = builder.place(element.get("id") or _id_of(element))
        if index is not None:
            builder.elements[index] = _merged(builder.elements[index], element)
    return {**definition, "snapshot": {"element": builder.elements}}


def _id_of(element: Element) -> str:
    path = str(element.get("path", ""))
    name = element.get("sliceName")
    return f"{path}:{name}" if name else path


def _merged(base: Element, differential: Element) -> Element:
    merged = dict(base)
    if any(k.startswith(("fixed", "pattern")) for k in differential):
        merged = {k: v for k, v in merged.items() if not k.startswith(("fixed", "pattern"))}
    for key, value in differential.items():
        if key == "constraint":
            merged[key] = [*base.get(key, []), *value]
        elif key not in ("id", "path"):
            merged[key] = value
    return merged


class _Builder:
    def __init__(self, elements: list[Element], lookup: Lookup) -> None:
        self.elements = elements
        self.lookup = lookup

    def index_of(self, id_: str) -> int | None:
        return next((i for i, e in enumerate(self.elements) if e.get("id") == id_), None)

    def place(self, id_: str, depth: int = 0) -> int | None:
        """The index of element `id_`, made (with what it hangs from) if need be."""
        found = self.index_of(id_)
        if found is not None or "." not in id_ or depth > 32:
            return found
        parent_id, last = id_.rsplit(".", 1)
        name, _, slice_name = last.partition(":")
        if slice_name:
            return self._slice(f"{parent_id}.{name}", slice_name, depth)
        parent = self.place(parent_id, depth + 1)
        if parent is None or self._has_children(parent_id):
            return None  # an unknown name
        self._expand(parent)
        return self.index_of(id_)

    def _has_children(self, id_: str) -> bool:
        return any(str(e.get("id", "")).startswith(id_ + ".") for e in self.elements)

    def _subtree_end(self, index: int) -> int:
        """The index after an element, its children and its slices."""
        id_ = self.elements[index]["id"]
        end = index + 1
        while end < len(self.elements) and str(self.elements[end].get("id", "")).startswith(
            (id_ + ".", id_ + ":")
        ):
            end += 1
        return end

    def _slice(self, sliced_id: str, slice_name: str, depth: int) -> int | None:
        sliced = self.place(sliced_id, depth + 1)
        if sliced is None:
            return None
        if not self._has_children(sliced_id) and self._type_of(self.elements[sliced]):
            self._expand(sliced)  # the slices copy the children
        slice_id = f"{sliced_id}:{slice_name}"
        made = {k: v for k, v in self.elements[sliced].items() if k != "slicing"}
        made.update(id=slice_id, sliceName=slice_name, min=0)
        children = [
            {**e, "id": slice_id + str(e["id"])[len(sliced_id) :]}
            for e in self.elements
            if str(e.get("id", "")).startswith(sliced_id + ".")
        ]
        end = self._subtree_end(sliced)
        self.elements[end:end] = [made, *copy.deepcopy(children)]
        return end

    def _type_of(self, element: Element) -> str | None:
        """The one type an element's children come from: its only type, or the type
        its choice slice names (`valueQuantity`)."""
        types = [t.get("code") for t in element.get("type", ()) if isinstance(t, dict)]
        if len(types) == 1:
            return types[0]
        name = str(element.get("sliceName", ""))
        stem = str(element.get("path", "")).rsplit(".", 1)[-1].removesuffix("[x]")
        wanted = name[len(stem) :].lower() if name.startswith(stem) else None
        return next((t for t in types if isinstance(t, str) and t.lower() == wanted), None)

    def _expand(self, index: int) -> None:
        """Insert the children of an element below it: those of its datatype, or of the
        element its contentReference names (`Questionnaire.item.item`)."""
        element = self.elements[index]
        reference = element.get("contentReference")
        if isinstance(reference, str) and reference.startswith("#"):
            root = reference[1:]
            sources = [
                e
                for e in self.elements
                if str(e.get("id", "")).startswith(root + ".") and ":" not in e["id"]
            ]
        else:
            root = self._type_of(element) or ""
            typedef = self.lookup(_CORE + root) if root else None
            sources = (((typedef or {}).get("snapshot") or {}).get("element") or [])[1:]
        id_, path = element["id"], element.get("path", element["id"])
        children = [
            {
                **copy.deepcopy(e),
                "id": id_ + str(e["id"])[len(root) :],
                "path": path + str(e["path"])[len(root) :],
            }
            for e in sources
            if "id" in e and "path" in e
        ]
        self.elements[index + 1 : index + 1] = children
