"""FHIR XML (xml.html), converted to and from the JSON structure without loss.

`parse` gives exactly what `ember.fhir.formats.json.parse` gives for the equivalent
JSON (booleans, ints, decimals as written, strings; primitive ids and extensions as
`_name` siblings, arrays padded with None), so the rest of Ember only ever sees one
structure. `dumps` writes elements in definition order, ids and Extension.url as
attributes, and the narrative div verbatim. Everything is driven by the type model
through `layout`; there is no per-resource code.

The parser rejects what XML can say and JSON cannot: unknown elements or attributes,
text between elements, values that are no JSON boolean or number, and any DOCTYPE
(see `safe_xml`). Problems that JSON can carry (a missing required element, a
non-repeating element given twice) are left to validation, as for JSON input.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from ember.fhir.formats import values
from ember.fhir.formats.layout import FHIR_NAMESPACE, Field, Layout, layout
from ember.fhir.formats.safe_xml import parse_element
from ember.fhir.formats.xhtml import XHTML_DIV, SourceSpans, div_for_xml, div_from_xml
from ember.fhir.model import get_model

_FHIR_PREFIX = f"{{{FHIR_NAMESPACE}}}"
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_SCHEMA_LOCATIONS = frozenset({_XSI + "schemaLocation", _XSI + "noNamespaceSchemaLocation"})


class XMLFormatError(ValueError):
    """The content is not acceptable FHIR XML (or cannot be written as XML); the
    message says why and where."""


# -- reading ---------------------------------------------------------------------------


def parse(data: bytes | str) -> dict[str, Any]:
    """Parse a FHIR XML resource into its JSON structure; raises XMLFormatError."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        root = parse_element(data)
    except ValueError as exc:
        raise XMLFormatError(str(exc)) from None
    return _Reader(SourceSpans(data, root)).resource(root, "")


class _Reader:
    def __init__(self, spans: SourceSpans) -> None:
        self.spans = spans

    def resource(self, element: etree._Element, parent_path: str) -> dict[str, Any]:
        name = _fhir_name(element)
        path = f"{parent_path}/f:{name}"
        if name is None or not get_model().is_resource_type(name):
            raise XMLFormatError(f"{_describe(element)} at {path} is not a FHIR resource")
        result: dict[str, Any] = {"resourceType": name}
        for schema_hint in _SCHEMA_LOCATIONS.intersection(element.attrib):
            # Not part of the resource (xml.html forbids it, but it carries no content).
            del element.attrib[schema_hint]
        self.attributes(element, layout(name), result, path, allow_value=False)
        self.children(element, layout(name), result, path)
        return result

    def attributes(
        self,
        element: etree._Element,
        type_layout: Layout,
        into: dict[str, Any],
        path: str,
        allow_value: bool,
    ) -> str | None:
        """Copy the attributes that are properties (id, url) into `into`; return the
        `value` attribute of a primitive."""
        value = None
        for name, text in element.attrib.items():
            if name == "value" and allow_value:
                value = text
            elif name in type_layout.attributes:
                into[name] = text
            else:
                raise XMLFormatError(f"Undefined attribute '@{_qname(name)}' at {path}")
        return value

    def children(
        self, element: etree._Element, type_layout: Layout, into: dict[str, Any], path: str
    ) -> None:
        _check_no_text(element.text, path)
        found: dict[str, list[tuple[Any, Any]]] = {}
        for child in element:
            _check_no_text(child.tail, path)
            field = _field_of(child, type_layout, path)
            child_path = f"{path}/f:{field.name}"
            found.setdefault(field.name, []).append(self.value(child, field, child_path))
        for name, items in found.items():
            _store(into, type_layout.fields[name], items)

    def value(self, element: etree._Element, field: Field, path: str) -> tuple[Any, Any]:
        """(value, primitive extras) of one element."""
        if field.kind == "complex":
            type_layout = layout(field.type)
            result: dict[str, Any] = {}
            self.attributes(element, type_layout, result, path, allow_value=False)
            self.children(element, type_layout, result, path)
            return result, None
        if field.kind == "primitive":
            return self.primitive(element, field, path)
        if field.kind == "resource":
            return self.contained(element, path), None
        return div_from_xml(element, self.spans), None

    def primitive(self, element: etree._Element, field: Field, path: str) -> tuple[Any, Any]:
        type_layout = layout(field.type)
        extras: dict[str, Any] = {}
        text = self.attributes(element, type_layout, extras, path, allow_value=True)
        self.children(element, type_layout, extras, path)
        if text is None and not extras:
            raise XMLFormatError(f"{path} has no value attribute, id or extension")
        try:
            value = None if text is None else values.from_text(field.type, text)
        except ValueError as exc:
            raise XMLFormatError(f"{path}/@value: {exc}") from None
        return value, extras or None

    def contained(self, element: etree._Element, path: str) -> dict[str, Any]:
        if element.attrib:
            raise XMLFormatError(f"{path} takes no attributes")
        _check_no_text(element.text, path)
        inner = list(element)
        if len(inner) != 1:
            raise XMLFormatError(f"{path} must hold exactly one resource, found {len(inner)}")
        _check_no_text(inner[0].tail, path)
        return self.resource(inner[0], path)


def _field_of(element: etree._Element, type_layout: Layout, path: str) -> Field:
    tag = element.tag
    if tag == XHTML_DIV:
        field = type_layout.fields.get("div")
        if field is not None and field.kind == "xhtml":
            return field
    name = _fhir_name(element)
    field = type_layout.fields.get(name) if name else None
    if field is None or field.is_attribute or field.kind == "xhtml":
        raise XMLFormatError(f"Undefined element '{_describe(element)}' at {path}")
    return field


def _store(into: dict[str, Any], field: Field, items: list[tuple[Any, Any]]) -> None:
    """Put one property's items into the JSON object: arrays for repeating elements,
    `_name` siblings (aligned with None) for primitive ids and extensions. A
    non-repeating element given more than once becomes an array too, as JSON would
    carry it, so that validation reports the cardinality error where it belongs."""
    if not field.is_array and len(items) == 1:
        value, extras = items[0]
        if value is not None:
            into[field.name] = value
        if extras is not None:
            into["_" + field.name] = extras
        return
    if any(value is not None for value, _ in items):
        into[field.name] = [value for value, _ in items]
    if any(extras is not None for _, extras in items):
        into["_" + field.name] = [extras for _, extras in items]


def _check_no_text(text: str | None, path: str) -> None:
    if text and text.strip(values.XML_WHITESPACE):
        raise XMLFormatError(f"Text should not be present ({text.strip()[:40]!r}) at {path}")


def _fhir_name(element: etree._Element) -> str | None:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_FHIR_PREFIX):
        return tag[len(_FHIR_PREFIX) :]
    return None


def _describe(element: etree._Element) -> str:
    return _fhir_name(element) or _qname(str(element.tag))


def _qname(name: str) -> str:
    # "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation" -> readable form
    namespace, _, local = name[1:].partition("}") if name.startswith("{") else ("", "", name)
    return f"{local} (namespace {namespace})" if namespace else local


# -- writing ---------------------------------------------------------------------------

_NEEDS_ESCAPE = re.compile('[&<>"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]')
# Line breaks and tabs as references, or attribute-value normalisation turns them into
# spaces (XML 1.0 section 3.3.3).
_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
# Characters XML 1.0 cannot carry at all, not even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def dumps(resource: dict[str, Any], *, pretty: bool = False) -> bytes:
    """Serialise a resource (JSON structure) as FHIR XML; XMLFormatError if it holds
    something XML cannot carry (an unknown property, a malformed narrative)."""
    writer = _Writer(pretty)
    writer.out.append('<?xml version="1.0" encoding="UTF-8"?>')
    writer.resource(resource, "\n" if pretty else "", root=True)
    if pretty:
        writer.out.append("\n")
    return "".join(writer.out).encode("utf-8")


class _Writer:
    def __init__(self, pretty: bool) -> None:
        self.out: list[str] = []
        self.step = "  " if pretty else ""

    def resource(self, resource: Any, pad: str, root: bool = False) -> None:
        type_name = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(type_name, str) or not get_model().is_resource_type(type_name):
            raise XMLFormatError(f"not a resource (resourceType {type_name!r})")
        namespace = f' xmlns="{FHIR_NAMESPACE}"' if root else ""
        self.out.append(f"{pad}<{type_name}{namespace}>")
        self.children(resource, layout(type_name), pad + self.step, is_resource=True)
        self.out.append(f"{pad}</{type_name}>")

    def children(
        self, obj: dict[str, Any], type_layout: Layout, pad: str, is_resource: bool = False
    ) -> None:
        fields = type_layout.fields
        present: dict[str, Field] = {}
        for key in obj:
            if is_resource and key == "resourceType":
                continue
            field = fields.get(key[1:] if key.startswith("_") else key)
            if field is None:
                raise XMLFormatError(f"{type_layout.type.name} has no property {key!r}")
            if not field.is_attribute:
                present[field.name] = field
        for field in sorted(present.values(), key=_by_order):
            self.field(obj, field, pad)

    def field(self, obj: dict[str, Any], field: Field, pad: str) -> None:
        name = field.name
        value = obj.get(name)
        if field.kind == "primitive":
            extras = obj.get("_" + name)
            if not field.is_array:
                self.primitive(name, field.type, value, extras, pad)
                return
            items = value if value is not None else [None] * len(extras or ())
            all_extras = extras if extras is not None else [None] * len(items)
            if not isinstance(items, list) or len(items) != len(all_extras):
                raise XMLFormatError(f"{name} and _{name} must be arrays of the same length")
            for item, item_extras in zip(items, all_extras, strict=True):
                self.primitive(name, field.type, item, item_extras, pad)
            return
        for item in value if field.is_array else (value,):
            if field.kind == "complex":
                self.complex(name, item, layout(field.type), pad)
            elif field.kind == "resource":
                self.out.append(f"{pad}<{name}>")
                self.resource(item, pad + self.step)
                self.out.append(f"{pad}</{name}>")
            else:
                try:
                    self.out.append(pad + div_for_xml(item))
                except ValueError as exc:
                    raise XMLFormatError(str(exc)) from None

    def complex(self, name: str, obj: Any, type_layout: Layout, pad: str) -> None:
        if not isinstance(obj, dict):
            raise XMLFormatError(f"{name} must be an object")
        start = f"{pad}<{name}{self.attributes(obj, type_layout)}"
        mark = len(self.out)
        self.out.append(start)
        self.children(obj, type_layout, pad + self.step)
        if len(self.out) == mark + 1:
            self.out[mark] = start + "/>"
        else:
            self.out[mark] = start + ">"
            self.out.append(f"{pad}</{name}>")

    def primitive(self, name: str, type_name: str, value: Any, extras: Any, pad: str) -> None:
        if value is None and extras is None:
            raise XMLFormatError(f"{name} has neither a value nor an id or extension")
        if value is None:
            attributes = ""
        elif type(value) is str:  # the common case, first
            attributes = f' value="{_attribute_text(value)}"'
        else:
            try:
                attributes = f' value="{_attribute_text(values.to_text(value))}"'
            except ValueError as exc:
                raise XMLFormatError(f"{name}: {exc}") from None
        if not extras:
            self.out.append(f"{pad}<{name}{attributes}/>")
            return
        type_layout = layout(type_name)
        attributes = self.attributes(extras, type_layout) + attributes
        if "extension" not in extras:
            self.out.append(f"{pad}<{name}{attributes}/>")
            return
        self.out.append(f"{pad}<{name}{attributes}>")
        self.children(extras, type_layout, pad + self.step)
        self.out.append(f"{pad}</{name}>")

    def attributes(self, obj: dict[str, Any], type_layout: Layout) -> str:
        return "".join(
            f' {name}="{_attribute_text(obj[name])}"'
            for name in type_layout.attributes
            if name in obj
        )


def _by_order(field: Field) -> int:
    return field.order


def _attribute_text(text: Any) -> str:
    if not isinstance(text, str):
        text = values.to_text(text)
    if not _NEEDS_ESCAPE.search(text):
        return text
    if _NOT_XML.search(text):
        raise XMLFormatError(f"{text[:40]!r} holds a character XML cannot represent")
    return text.translate(_ATTRIBUTE_ESCAPES)
