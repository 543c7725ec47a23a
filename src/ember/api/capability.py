"""The CapabilityStatement (capabilitystatement.html), generated from what the server
really does: the resource types of the model, the interactions the routes serve and
the search parameters the search engine applies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import ember
from ember.api.formats import FORMATS
from ember.engine.interactions import Engine
from ember.fhir import definitions
from ember.operations import registered
from ember.search.compartments import compartment_codes
from ember.search.criteria import supported_parameters

_STATUS_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
_TYPE_INTERACTIONS = [
    "read",
    "vread",
    "update",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
]


def _is_normative(engine: Engine, type_name: str) -> bool:
    url = engine.model.type(type_name).url
    sd = engine.model.structure_definitions.get(url or "", {})
    return any(
        e.get("url") == _STATUS_EXTENSION and e.get("valueCode") == "normative"
        for e in sd.get("extension", ())
    )


def _search_params(type_name: str) -> list[dict[str, Any]]:
    return [
        {"name": p.code, "definition": p.url, "type": p.type, "documentation": p.description}
        for p in supported_parameters(type_name)
    ]


def _includes(types: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The _include and _revinclude values each type supports (searchInclude and
    searchRevInclude): `Source:parameter` for every reference parameter searched, and
    `*`; a parameter without declared targets may point anywhere."""
    includes = {type_: ["*"] for type_ in types}
    reverse = {type_: ["*"] for type_ in types}
    for source in types:
        for param in supported_parameters(source):
            if param.type != "reference":
                continue
            value = f"{source}:{param.code}"
            includes[source].append(value)
            for target in param.targets or types:
                if target in reverse:
                    reverse[target].append(value)
    return includes, reverse


# _list has no SearchParameter in R4 (search.html#list); stated for every type
_LIST_PARAM = {
    "name": "_list",
    "type": "special",
    "documentation": "Resources named in entry.item of the List with this id "
    "(functional lists such as $current-allergies are not supported)",
}


def _resource(
    engine: Engine, type_name: str, includes: list[str], revincludes: list[str]
) -> dict[str, Any]:
    settings = engine.settings
    return {
        "type": type_name,
        "profile": f"http://hl7.org/fhir/StructureDefinition/{type_name}",
        "interaction": [{"code": code} for code in _TYPE_INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": settings.allow_update_create,
        "conditionalCreate": True,
        "conditionalRead": "full-support",
        "conditionalUpdate": True,
        "conditionalDelete": "multiple",
        "searchInclude": includes,
        "searchRevInclude": revincludes,
        "searchParam": _search_params(type_name),
        "operation": _operations({"type", "instance"}),
    }


def _operations(levels: set[str]) -> list[dict[str, str]]:
    """The operations served at these levels, with their definitions' canonical URLs."""
    return [
        {"name": operation.name, "definition": operation.definition}
        for operation in registered()
        if operation.levels & levels
    ]


def capability_statement(engine: Engine, base_url: str, mode: str) -> dict[str, Any]:
    if mode == "terminology":
        return _terminology_capabilities(engine)
    types = sorted(engine.model.resource_types)
    includes, revincludes = _includes(types)
    if mode == "normative":
        types = [t for t in types if _is_normative(engine, t)]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publisher": "Ember",
        "kind": "instance",
        "software": {"name": "Ember", "version": ember.__version__},
        "implementation": {"description": "Ember FHIR server", "url": base_url},
        "fhirVersion": engine.model.fhir_version,
        "format": [name for f in FORMATS for name in (f.mime, f.name)],
        "rest": [
            {
                "mode": "server",
                "resource": [_resource(engine, t, includes[t], revincludes[t]) for t in types],
                "interaction": [{"code": "history-system"}, {"code": "search-system"}],
                # parameters for searches across types: those every type has
                "searchParam": [*_search_params("Resource"), _LIST_PARAM],
                "compartment": [
                    f"http://hl7.org/fhir/CompartmentDefinition/{code[0].lower()}{code[1:]}"
                    for code in compartment_codes(engine.model.version)
                ],
                **({"operation": system} if (system := _operations({"system"})) else {}),
            }
        ],
    }


def _terminology_capabilities(engine: Engine) -> dict[str, Any]:
    """The code systems the server ships (used for validating required bindings)."""
    code_systems = definitions.load(engine.model.version, "CodeSystem")
    return {
        "resourceType": "TerminologyCapabilities",
        "status": "active",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kind": "instance",
        "software": {"name": "Ember", "version": ember.__version__},
        "codeSystem": [
            {
                "uri": cs["url"],
                **({"version": [{"code": cs["version"]}]} if "version" in cs else {}),
            }
            for cs in code_systems
            if "url" in cs
        ],
    }
