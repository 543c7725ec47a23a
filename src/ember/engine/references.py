"""Rewriting references inside a resource, guided by the model (http.html#trules):
Reference.reference, and elements of type uri, url, oid and uuid, plus `href`/`src`
in the narrative; canonicals are left alone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ember.fhir.model import Model

# old reference text -> new reference text, or None to leave it
Mapper = Callable[[str], str | None]

_REWRITTEN_PRIMITIVES = frozenset({"uri", "url", "oid", "uuid"})
_EXTENSION_URL = ("Extension", "url")  # names the extension's definition, not a link
_NARRATIVE_LINK = re.compile(r'(\s(?:href|src)=")([^"]*)(")')


def rewrite_references(model: Model, resource: dict[str, Any], mapper: Mapper) -> None:
    """Rewrite, in place, every reference in `resource` that `mapper` maps."""
    _walk(model, resource, resource["resourceType"], mapper)


def _rewrite_value(model: Model, value: Any, type_name: str, mapper: Mapper) -> Any:
    if type_name in _REWRITTEN_PRIMITIVES and isinstance(value, str):
        return mapper(value) or value
    if type_name == "xhtml" and isinstance(value, str):
        return _NARRATIVE_LINK.sub(
            lambda m: m.group(1) + (mapper(m.group(2)) or m.group(2)) + m.group(3), value
        )
    if isinstance(value, dict):
        if type_name == "Resource":
            nested = value.get("resourceType")
            if isinstance(nested, str):
                _walk(model, value, nested, mapper)
        else:
            if type_name == "Reference" and isinstance(value.get("reference"), str):
                value["reference"] = mapper(value["reference"]) or value["reference"]
            _walk(model, value, type_name, mapper)
    return value


def _walk(model: Model, node: dict[str, Any], type_name: str, mapper: Mapper) -> None:
    type_def = model.find_type(type_name)
    if type_def is None:
        return
    for key, value in node.items():
        if key.startswith("_") or key == "resourceType" or (type_name, key) == _EXTENSION_URL:
            continue
        found = type_def.element(key)
        if found is None:
            continue
        child_type = found[1]
        if isinstance(value, list):
            node[key] = [_rewrite_value(model, item, child_type, mapper) for item in value]
        else:
            node[key] = _rewrite_value(model, value, child_type, mapper)
