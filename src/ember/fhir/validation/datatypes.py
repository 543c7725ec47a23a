"""Rules of datatypes (datatypes.html) that no invariant expresses:

- `Coding.system` is an absolute URI naming a code system, not a value set;
- `Attachment.size` is the number of bytes of the content, so it matches `data`.

Run by `$validate` (full validation), not on write.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ember.fhir.issues import Issue
from ember.fhir.model import Model
from ember.fhir.validation.terminology import Terminology
from ember.fhir.validation.walk import instances

_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")


def check_datatypes(
    resource: dict[str, Any], model: Model, terminology: Terminology
) -> list[Issue]:
    issues: list[Issue] = []
    for instance in instances(resource, model):
        if instance.type_name == "Coding":
            _coding(instance.value, instance.path, terminology, issues)
        elif instance.type_name == "Attachment":
            _attachment(instance.value, instance.path, issues)
    return issues


def _coding(
    coding: dict[str, Any], path: str, terminology: Terminology, issues: list[Issue]
) -> None:
    system = coding.get("system")
    if not isinstance(system, str):
        return
    where = f"{path}.system"
    if _ABSOLUTE.fullmatch(system) is None:
        diagnostics = f"Coding.system must be an absolute URI, not {system!r}"
        issues.append(Issue("error", "value", diagnostics, where))
    elif terminology.is_value_set(system) and not terminology.is_code_system(system):
        diagnostics = f"The Coding's system '{system}' is a value set, not a code system"
        issues.append(Issue("error", "value", diagnostics, where))


def _attachment(attachment: dict[str, Any], path: str, issues: list[Issue]) -> None:
    data, size = attachment.get("data"), attachment.get("size")
    if not isinstance(data, str) or not isinstance(size, int):
        return
    try:
        actual = len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return  # the base64Binary format is the structure's concern
    if actual != size:
        diagnostics = f"Attachment.size is {size}, but the data has {actual} bytes"
        issues.append(Issue("error", "value", diagnostics, f"{path}.size"))
