"""Which resources a search looks at (http.html#search): one type, the types of
`_type` (or every type) at system level, and a compartment's members."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ember.engine.errors import FhirError, bad_request
from ember.fhir.model import Model
from ember.search.compartments import Compartment, compartment, compartment_codes

ALL_IN_COMPARTMENT = "*"


@dataclass(frozen=True, slots=True)
class Scope:
    types: tuple[str, ...]  # () for every type
    compartment: Compartment | None = None


def _listed_types(model: Model, query: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The types `_type` names (repeated or comma-separated), () when absent."""
    types: list[str] = []
    for name, value in query:
        if name != "_type":
            continue
        for type_ in (t.strip() for t in value.split(",")):
            if not model.is_resource_type(type_):
                raise bad_request(f"_type: {type_!r} is not a resource type", "_type")
            if type_ not in types:
                types.append(type_)
    return tuple(types)


def resolve(
    model: Model,
    type_: str | None,
    query: Sequence[tuple[str, str]],
    in_compartment: tuple[str, str] | None = None,
) -> Scope:
    """The scope of a search at type level (`type_`), system level (None) or in the
    compartment `(code, id)` (with `type_` a member type or `*`)."""
    listed = _listed_types(model, query)
    if type_ is not None and type_ != ALL_IN_COMPARTMENT:
        if listed and listed != (type_,):
            raise bad_request(f"_type: a search of {type_} cannot look at other types", "_type")
        listed = (type_,)
    if in_compartment is None:
        return Scope(listed)
    code, id_ = in_compartment
    found = compartment(code, id_, model.version)
    if found is None:
        known = ", ".join(compartment_codes(model.version))
        raise FhirError.of(
            404, "not-supported", f"{code} is not a compartment; compartments are {known}"
        )
    outside = [t for t in listed if t not in found.types]
    if outside:
        raise bad_request(
            f"{', '.join(outside)} cannot be in the {code} compartment (compartmentdefinition-"
            f"{code.lower()}.html)",
            "_type" if type_ == ALL_IN_COMPARTMENT else None,
        )
    return Scope(listed or found.types, found)
