"""Compartments (compartmentdefinition.html) from the shipped CompartmentDefinitions:
which resource types can be in a compartment, and by which reference parameters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ember.fhir import definitions

# A member type whose parameter list holds this is in the compartment of its own id
# (Practitioner/1 is in the compartment of Practitioner/1).
ITSELF = "{def}"


@dataclass(frozen=True, slots=True)
class Compartment:
    """One compartment instance, e.g. Patient/123, and how its members point at it."""

    code: str  # the compartment type: Patient, Encounter, RelatedPerson, Practitioner, Device
    id: str
    members: tuple[tuple[str, tuple[str, ...]], ...]  # (resource type, parameter codes)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(type_ for type_, _ in self.members)


@cache
def _definitions(version: str) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """{compartment code: ((member type, params), ...)}, from the official definitions
    (the published example definition is left out)."""
    found: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    for definition in definitions.load(version, "CompartmentDefinition"):
        code = definition["code"]
        if definition["url"].lower() != f"http://hl7.org/fhir/compartmentdefinition/{code}".lower():
            continue
        found[code] = tuple(
            (member["code"], tuple(member["param"]))
            for member in definition.get("resource", ())
            if member.get("param")
        )
    return found


def compartment_codes(version: str = "r4") -> tuple[str, ...]:
    return tuple(sorted(_definitions(version)))


def compartment(code: str, id_: str, version: str = "r4") -> Compartment | None:
    """The compartment `code/id_`, None if `code` names no compartment."""
    members = _definitions(version).get(code)
    return None if members is None else Compartment(code, id_, members)
