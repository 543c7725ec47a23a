"""Python versions of the most frequent base invariants, for speed.

Profiling the write path showed FHIRPath evaluation of a handful of constraints
(`ele-1` on every element, `dom-*` on every resource, `ref-1`, `qty-3`, `ext-1` ...)
costing about half of a write. Each check here is registered with the exact expression
it stands for: a definition with another expression keeps FHIRPath. A check sees the
instance's JSON (`value`, a primitive's `_name` sibling `ext`) on structurally valid
content, and answers True (the expression yields true or nothing), False (it yields
false), or None: "decide with FHIRPath" for the cases it does not shortcut (a `#`
reference, a Period with both ends). tests/fhir/validation/test_native_invariants.py
proves each identical to the FHIRPath evaluation over the spec examples, a Synthea-like
record and crafted edge cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# value, ext -> verdict (None: evaluate the expression instead)
Check = Callable[[Any, "dict[str, Any] | None"], "bool | None"]


@dataclass(frozen=True, slots=True)
class NativeCheck:
    expression: str  # the FHIRPath the check stands for, as the definitions say it
    check: Check


def _exists(obj: dict[str, Any], name: str) -> bool:
    """`name.exists()` for a single element: its value or its `_name` sibling is there."""
    return name in obj or "_" + name in obj


def _has_value_choice(obj: dict[str, Any]) -> bool:
    """`value.exists()` where `value[x]` is the only element whose name starts so."""
    return any(key.startswith(("value", "_value")) for key in obj)


def _contained_meta(resource: dict[str, Any], names: tuple[str, ...]) -> bool:
    """Whether a contained resource's meta holds any of `names`."""
    for contained in resource.get("contained", ()):
        meta = contained.get("meta")
        if meta and any(_exists(meta, name) for name in names):
            return True
    return False


def _ele_1(value: Any, ext: dict[str, Any] | None) -> bool:
    """hasValue() or (children().count() > id.count()): a primitive with a value, or
    anything with a child other than its id."""
    if isinstance(value, dict):
        return any(key != "id" for key in value)
    if value is not None:
        return True
    return ext is not None and any(key != "id" for key in ext)


def _ext_1(value: dict[str, Any], ext: dict[str, Any] | None) -> bool:
    return ("extension" in value) != _has_value_choice(value)


def _obs_6(value: dict[str, Any], ext: dict[str, Any] | None) -> bool:
    return not _exists(value, "dataAbsentReason") or not _has_value_choice(value)


def _obs_7(value: dict[str, Any], ext: dict[str, Any] | None) -> bool | None:
    """Decided without FHIRPath when there is no value or no component."""
    return None if _has_value_choice(value) and "component" in value else True


def _per_1(value: dict[str, Any], ext: dict[str, Any] | None) -> bool | None:
    both = isinstance(value.get("start"), str) and isinstance(value.get("end"), str)
    return None if both else True


def _ref_1(value: dict[str, Any], ext: dict[str, Any] | None) -> bool | None:
    reference = value.get("reference")
    if reference is None:
        return None if "_reference" in value else True
    return None if reference.startswith("#") else True


def _bdl_8(value: dict[str, Any], ext: dict[str, Any] | None) -> bool | None:
    full_url = value.get("fullUrl")
    if full_url is None:
        return None if "_fullUrl" in value else True
    return "/_history/" not in full_url


def _needs(when: str, then: str) -> Check:
    """`<when>.empty() or <then>.exists()`"""
    return lambda value, ext: not _exists(value, when) or _exists(value, then)


NATIVE: dict[str, NativeCheck] = {
    "ele-1": NativeCheck("hasValue() or (children().count() > id.count())", _ele_1),
    "ext-1": NativeCheck("extension.exists() != value.exists()", _ext_1),
    "dom-2": NativeCheck(
        "contained.contained.empty()",
        lambda value, ext: not any("contained" in c for c in value.get("contained", ())),
    ),
    "dom-4": NativeCheck(
        "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
        lambda value, ext: not _contained_meta(value, ("versionId", "lastUpdated")),
    ),
    "dom-5": NativeCheck(
        "contained.meta.security.empty()",
        lambda value, ext: not _contained_meta(value, ("security",)),
    ),
    "dom-6": NativeCheck(
        "text.`div`.exists()",
        lambda value, ext: "text" in value and _exists(value["text"], "div"),
    ),
    "obs-6": NativeCheck("dataAbsentReason.empty() or value.empty()", _obs_6),
    "obs-7": NativeCheck(
        "value.empty() or component.code.where(coding.intersect(%resource.code.coding)"
        ".exists()).empty()",
        _obs_7,
    ),
    "per-1": NativeCheck(
        "start.hasValue().not() or end.hasValue().not() or (start <= end)", _per_1
    ),
    "qty-3": NativeCheck("code.empty() or system.exists()", _needs("code", "system")),
    "cpt-2": NativeCheck("value.empty() or system.exists()", _needs("value", "system")),
    "att-1": NativeCheck("data.empty() or contentType.exists()", _needs("data", "contentType")),
    "ref-1": NativeCheck(
        "reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
        "%rootResource.contained.id.trace('ids'))",
        _ref_1,
    ),
    "bdl-5": NativeCheck(
        "resource.exists() or request.exists() or response.exists()",
        lambda value, ext: any(name in value for name in ("resource", "request", "response")),
    ),
    "bdl-8": NativeCheck("fullUrl.contains('/_history/').not()", _bdl_8),
}


def native_check(key: str, expression: str) -> Check | None:
    """The Python check standing for constraint `key`, if it has this exact expression."""
    found = NATIVE.get(key)
    return found.check if found is not None and found.expression == expression else None
