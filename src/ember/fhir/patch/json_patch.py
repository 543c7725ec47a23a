"""JSON Patch (RFC 6902) applied to a resource, one operation at a time so that an
error can say which operation failed and why."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from ember.fhir.issues import Issue
from ember.fhir.patch.errors import PatchError


def _invalid(message: str, status: int = 400, code: str = "invalid") -> PatchError:
    return PatchError(Issue("error", code, message), status)


def apply_json_patch(resource: dict[str, Any], patch: Any) -> dict[str, Any]:
    """The patched copy of `resource`; raises PatchError (400 malformed, 422 not applicable)."""
    if not isinstance(patch, list):
        raise _invalid("A JSON Patch document is an array of operations")
    result: Any = copy.deepcopy(resource)
    for index, operation in enumerate(patch):
        where = f"operation {index}"
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise _invalid(f"JSON Patch {where} needs 'op' and 'path'")
        op = operation["op"]
        try:
            result = jsonpatch.JsonPatch([operation]).apply(result, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            raise _invalid(
                f"JSON Patch {where}: the value at {operation['path']} is not the tested value",
                422,
                "business-rule",
            ) from None
        except jsonpointer.JsonPointerException:
            # the library's message quotes the document: name only the path
            raise _invalid(
                f"JSON Patch {where} ({op}): {operation.get('from', operation['path'])} "
                "does not exist in the resource",
                422,
                "processing",
            ) from None
        except jsonpatch.JsonPatchConflict as exc:
            raise _invalid(
                f"JSON Patch {where} ({op} {operation['path']}) cannot be applied: {exc}",
                422,
                "processing",
            ) from None
        except (jsonpatch.InvalidJsonPatch, TypeError, ValueError) as exc:
            raise _invalid(f"JSON Patch {where} ({op}) is invalid: {exc}") from None
    if not isinstance(result, dict):
        raise _invalid("The patch replaced the whole resource with something else", 422)
    return result
