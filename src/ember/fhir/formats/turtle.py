"""FHIR RDF in Turtle (rdf.html, R4): resources written from the JSON structure.

Every property becomes a `fhir:` predicate named by the path that defines it
(`fhir:DomainResource.text`, `fhir:Observation.valueQuantity`); primitives are nodes
holding `fhir:value` (typed by xsd where rdf.html says so), so that their ids and
extensions have somewhere to go; repeating items carry `fhir:index`; the focal
resource is marked `fhir:nodeRole fhir:treeRoot`; inline resources are typed blank
nodes; references also get `fhir:link` to the resource they resolve to. Narrative is
an escaped string. Like `xml`, everything is driven by `layout`.
"""

from __future__ import annotations

import re
from typing import Any

from ember.fhir.formats import values
from ember.fhir.formats.layout import FHIR_NAMESPACE, Field, Layout, layout
from ember.fhir.model import get_model

_PREFIXES = (
    f"@prefix fhir: <{FHIR_NAMESPACE}/> .\n"
    "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n\n"
)
_FIXED_XSD_TYPES = {
    "boolean": "xsd:boolean",
    "integer": "xsd:integer",
    "positiveInt": "xsd:integer",
    "unsignedInt": "xsd:integer",
    "decimal": "xsd:decimal",
    "base64Binary": "xsd:base64Binary",
    "time": "xsd:time",
}
_DATE_TYPES = frozenset({"date", "dateTime", "instant"})
# Dates are typed by their precision (rdf.html): 1970, 1970-03, 1970-03-30, or a dateTime.
_DATE_XSD_BY_LENGTH = {4: "xsd:gYear", 7: "xsd:gYearMonth", 10: "xsd:date"}
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
# What an IRIREF may hold (Turtle grammar); references with anything else get no link.
_IRI = re.compile(r"[^\x00-\x20<>\"{}|^`\\]+")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class TurtleFormatError(ValueError):
    """The content cannot be written as FHIR Turtle; the message says why."""


def dumps(resource: dict[str, Any], *, pretty: bool = False, base: str | None = None) -> bytes:
    """Serialise a resource as Turtle. With `base` (the server's base URL) the resource
    is named by its URL and relative references are linked; otherwise the resource is
    the document itself (`<>`) and only absolute references are linked."""
    writer = _Writer(pretty, base.rstrip("/") if base else None)
    type_name = _resource_type(resource)
    subject = writer.iri(f"{type_name}/{resource['id']}") if "id" in resource else None
    statements = [
        f"a fhir:{type_name}",
        "fhir:nodeRole fhir:treeRoot",
        *writer.properties(resource, layout(type_name), "  ", is_resource=True),
    ]
    body = (" ;\n  " if pretty else " ; ").join(statements)
    return f"{_PREFIXES}{subject or '<>'} {body} .\n".encode()


class _Writer:
    def __init__(self, pretty: bool, base: str | None) -> None:
        self.pretty = pretty
        self.base = base

    def properties(
        self, obj: dict[str, Any], type_layout: Layout, pad: str, is_resource: bool = False
    ) -> list[str]:
        present: dict[str, Field] = {}
        for key in obj:
            if is_resource and key == "resourceType":
                continue
            field = type_layout.fields.get(key[1:] if key.startswith("_") else key)
            if field is None:
                raise TurtleFormatError(f"{type_layout.type.name} has no property {key!r}")
            present[field.name] = field
        statements: list[str] = []
        for field in sorted(present.values(), key=_by_order):
            statements.extend(self.field(obj, field, pad))
        if type_layout.type.name == "Reference":
            link = self.link(obj.get("reference"))
            if link:
                statements.insert(0, f"fhir:link {link}")
        return statements

    def field(self, obj: dict[str, Any], field: Field, pad: str) -> list[str]:
        predicate = f"fhir:{field.predicate}"
        value = obj.get(field.name)
        if field.kind == "xhtml":
            return [f"{predicate} {_string(value)}"]
        if field.kind == "primitive":
            extras = obj.get("_" + field.name)
            if not field.is_array:
                return [f"{predicate} {self.primitive(field.type, value, extras, None, pad)}"]
            items = value if value is not None else [None] * len(extras or ())
            all_extras = extras if extras is not None else [None] * len(items)
            if not isinstance(items, list) or len(items) != len(all_extras):
                raise TurtleFormatError(f"{field.name} and _{field.name} must align")
            return [
                f"{predicate} {self.primitive(field.type, v, x, i, pad)}"
                for i, (v, x) in enumerate(zip(items, all_extras, strict=True))
            ]
        items = value if field.is_array else [value]
        return [
            f"{predicate} {self.node(field, item, i if field.is_array else None, pad)}"
            for i, item in enumerate(items)
        ]

    def node(self, field: Field, item: Any, index: int | None, pad: str) -> str:
        if not isinstance(item, dict):
            raise TurtleFormatError(f"{field.name} must be an object")
        inner = pad + "  "
        statements = [] if index is None else [f"fhir:index {index}"]
        if field.kind == "resource":
            type_name = _resource_type(item)
            statements.insert(0, f"a fhir:{type_name}")
            statements.extend(self.properties(item, layout(type_name), inner, is_resource=True))
        else:
            statements.extend(self.properties(item, layout(field.type), inner))
        return self.blank_node(statements, pad)

    def primitive(
        self, type_name: str, value: Any, extras: Any, index: int | None, pad: str
    ) -> str:
        statements = [] if value is None else [f"fhir:value {_literal(type_name, value)}"]
        if index is not None:
            statements.append(f"fhir:index {index}")
        if extras:
            statements.extend(self.properties(extras, layout(type_name), pad + "  "))
        if not statements:
            raise TurtleFormatError("a primitive has neither a value nor an id or extension")
        return self.blank_node(statements, pad)

    def blank_node(self, statements: list[str], pad: str) -> str:
        if not self.pretty or (len(statements) == 1 and "\n" not in statements[0]):
            return f"[ {' ; '.join(statements)} ]"
        inner = pad + "  "
        return f"[\n{inner}" + f" ;\n{inner}".join(statements) + f"\n{pad}]"

    def iri(self, reference: str) -> str | None:
        """The IRI a reference or resource path resolves to, if it can be named."""
        if _ABSOLUTE.match(reference):
            target = reference
        elif self.base and not reference.startswith("#"):
            target = f"{self.base}/{reference}"
        else:
            return None
        return f"<{target}>" if _IRI.fullmatch(target) else None

    def link(self, reference: Any) -> str | None:
        return self.iri(reference) if isinstance(reference, str) and reference else None


def _by_order(field: Field) -> int:
    return field.order


def _resource_type(resource: Any) -> str:
    type_name = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(type_name, str) or not get_model().is_resource_type(type_name):
        raise TurtleFormatError(f"not a resource (resourceType {type_name!r})")
    return type_name


def _string(text: Any) -> str:
    if not isinstance(text, str):
        raise TurtleFormatError(f"a string was expected, not {type(text).__name__}")
    return f'"{text.translate(_STRING_ESCAPES)}"'


def _literal(type_name: str, value: Any) -> str:
    try:
        text = values.to_text(value)
    except ValueError as exc:
        raise TurtleFormatError(str(exc)) from None
    xsd = _FIXED_XSD_TYPES.get(type_name)
    if type_name in _DATE_TYPES:
        xsd = _DATE_XSD_BY_LENGTH.get(len(text), "xsd:dateTime")
    return f"{_string(text)}^^{xsd}" if xsd else _string(text)
