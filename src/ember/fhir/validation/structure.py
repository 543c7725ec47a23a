"""Structural validation of a parsed FHIR JSON resource (json.html), run on every write.

Checks the shape the StructureDefinitions prescribe: known properties, JSON types,
arrays exactly where elements repeat, cardinality, primitive formats and ranges,
`_name` siblings of primitives, and nested resources. Invariants, terminology and
references are checked elsewhere. All problems are reported, not just the first.

Issue locations are FHIRPath-like: `Patient.name[0].given[1]`; nested resources
continue their container's path (`Bundle.entry[2].resource.gender`), and the id or
extensions of a primitive are located at the primitive (`Patient.birthDate.extension[0]`).
"""

from __future__ import annotations

from typing import Any

from ember.fhir.issues import Issue
from ember.fhir.model import Model, get_model
from ember.fhir.validation.plans import Plans, Property, TypePlan, ValueKind, plans_for
from ember.fhir.validation.primitives import Problem, json_type_name


def validate_resource(
    resource: Any, model: Model | None = None, *, max_depth: int = 64
) -> list[Issue]:
    """Every structural problem of `resource` (parsed JSON), as error issues."""
    run = _Run(plans_for(model or get_model("r4")), max_depth)
    run.resource(resource, None, 0)
    return run.issues


def _cardinality(element_max: int | None) -> str:
    return "*" if element_max is None else str(element_max)


class _Run:
    """One validation: the issues found so far, and where the walk is."""

    __slots__ = ("depth_exceeded", "issues", "max_depth", "model", "plans")

    def __init__(self, plans: Plans, max_depth: int) -> None:
        self.plans = plans
        self.model = plans.model
        self.max_depth = max_depth
        self.issues: list[Issue] = []
        self.depth_exceeded = False

    def error(self, code: str, diagnostics: str, expression: str) -> None:
        self.issues.append(Issue("error", code, diagnostics, expression))

    # -- resources and objects ---------------------------------------------------------

    def resource(self, value: Any, path: str | None, depth: int) -> None:
        """A resource at the root (path None) or nested at `path`.

        Every element holding a resource in R4 is typed `Resource`, so any type will do.
        """
        shown = f"The resource at {path}" if path else "The resource"
        if not isinstance(value, dict):
            got = json_type_name(value)
            self.error("structure", f"{shown} must be a JSON object, got {got}", path or "Resource")
            return
        resource_type = value.get("resourceType")
        # Problems with the type are located at the property, as the engine does at the root.
        where = f"{path}.resourceType" if path else "resourceType"
        if resource_type is None:
            self.error("structure", f"{shown} has no 'resourceType'", where)
            return
        if not isinstance(resource_type, str):
            got = json_type_name(resource_type)
            self.error("structure", f"{shown} has a 'resourceType' that is a {got}", where)
            return
        if not self.model.is_resource_type(resource_type):
            diagnostics = f"{shown} has resourceType '{resource_type}', which is not a known "
            self.error("invalid", diagnostics + "concrete resource type", where)
            return
        self.object(value, self.plans[resource_type], path or resource_type, depth)

    def complex(
        self, value: Any, type_name: str, path: str, depth: int, shown: str | None = None
    ) -> None:
        """A datatype or backbone element value, which must be a non-empty object."""
        shown = shown or f"'{path}'"
        if not isinstance(value, dict):
            got = json_type_name(value)
            self.error("structure", f"Element {shown} must be an object, got {got}", path)
        elif not value:
            self.error("structure", f"Element {shown} must not be an empty object", path)
        else:
            self.object(value, self.plans[type_name], path, depth)

    def object(self, obj: dict[str, Any], plan: TypePlan, path: str, depth: int) -> None:
        if depth > self.max_depth:
            if not self.depth_exceeded:
                self.depth_exceeded = True
                diagnostics = f"Content is nested more than {self.max_depth} levels deep"
                self.error("structure", diagnostics, path)
            return
        choices: dict[str, str] | None = None  # choice element name -> first form's name
        for key, value in obj.items():
            prop = plan.properties.get(key)
            if prop is not None:
                check = prop.single_check
                if check is None:
                    self.element(value, prop, obj, path, depth)
                elif (problem := check(value)) is not None:
                    self.single_primitive_error(value, prop, problem, f"{path}.{key}")
            elif (prop := plan.primitive_siblings.get(key)) is not None:
                self.primitive_sibling(value, prop, obj.get(prop.json_name), path, depth)
            elif key != "resourceType" or not plan.is_resource:
                self.error("structure", f"Unknown element '{key}' in {path}", f"{path}.{key}")
            if prop is not None and prop.choice_stem is not None:
                choices = self.choice_form(prop, choices, path)
        for requirement in plan.requirements:
            for name in requirement.json_names:
                if name in obj:
                    break
            else:
                element = requirement.element
                shown = element.name + "[x]" if element.is_choice else element.name
                diagnostics = (
                    f"Element '{path}.{shown}' is required (min {element.min}) but missing"
                )
                self.error("required", diagnostics, f"{path}.{element.name}")

    def choice_form(
        self, prop: Property, choices: dict[str, str] | None, path: str
    ) -> dict[str, str]:
        """Note which form of a choice element is used; two different forms are an error."""
        stem = prop.choice_stem
        assert stem is not None
        if choices is None:
            choices = {}
        first = choices.setdefault(stem, prop.json_name)
        if first != prop.json_name:
            diagnostics = (
                f"Element '{path}.{stem}[x]' has more than one type: "
                f"'{first}' and '{prop.json_name}'"
            )
            self.error("structure", diagnostics, f"{path}.{stem}")
        return choices

    # -- elements ------------------------------------------------------------------------

    def element(
        self, value: Any, prop: Property, obj: dict[str, Any], path: str, depth: int
    ) -> None:
        # The common, valid shapes are recognised inline; `fits_shape` explains the rest.
        if prop.is_array:
            if not (isinstance(value, list) and 0 < len(value) <= prop.max_items):
                element_path = f"{path}.{prop.json_name}"
                if not self.fits_shape(value, prop, element_path, f"'{element_path}'"):
                    return
            self.items(value, prop, obj, path, depth)
        elif value is None or isinstance(value, list) or prop.max_items == 0:
            element_path = f"{path}.{prop.json_name}"
            self.fits_shape(value, prop, element_path, f"'{element_path}'")
        elif prop.kind is ValueKind.COMPLEX:
            self.complex(value, prop.type_name, f"{path}.{prop.json_name}", depth + 1)
        else:
            self.resource(value, f"{path}.{prop.json_name}", depth + 1)

    def items(
        self, values: list[Any], prop: Property, obj: dict[str, Any], path: str, depth: int
    ) -> None:
        """The items of a repeating element, already known to be a non-empty array."""
        element_path = f"{path}.{prop.json_name}"
        check = prop.check
        if check is not None:
            siblings = obj.get("_" + prop.json_name)
            for index, item in enumerate(values):
                if item is None:
                    if not _has_sibling_at(siblings, index):
                        item_path = f"{element_path}[{index}]"
                        diagnostics = (
                            f"Element '{item_path}' is null, which is only allowed when "
                            f"'_{prop.json_name}' has an id or extensions at that position"
                        )
                        self.error("structure", diagnostics, item_path)
                elif (problem := check(item)) is not None:
                    self.primitive_error(problem, f"{element_path}[{index}]")
        elif prop.kind is ValueKind.COMPLEX:
            for index, item in enumerate(values):
                self.complex(item, prop.type_name, f"{element_path}[{index}]", depth + 1)
        else:
            for index, item in enumerate(values):
                self.resource(item, f"{element_path}[{index}]", depth + 1)

    def single_primitive_error(
        self, value: Any, prop: Property, problem: Problem, path: str
    ) -> None:
        """Report a failed single-value check; null and arrays are shape errors."""
        if value is None or isinstance(value, list):
            self.fits_shape(value, prop, path, f"'{path}'")
        else:
            self.primitive_error(problem, path)

    def primitive_error(self, problem: Problem, path: str) -> None:
        code, text = problem
        self.error(code, f"Element '{path}' {text}", path)

    def fits_shape(self, value: Any, prop: Property, path: str, shown: str) -> bool:
        """Whether the value is not null, and an array exactly when the element repeats.

        Reports what is wrong; a too-long array is reported but its items still checked.
        """
        if value is None:
            self.error("structure", f"Element {shown} must not be null", path)
            return False
        if prop.max_items == 0:
            self.error("structure", f"Element {shown} is not allowed here (max 0)", path)
            return False
        if not prop.is_array:
            if isinstance(value, list):
                self.error("structure", f"Element {shown} has max 1 but is an array", path)
                return False
            return True
        element_max = prop.element.max
        if not isinstance(value, list):
            diagnostics = (
                f"Element {shown} repeats (max {_cardinality(element_max)}) so must be an "
                f"array, got {json_type_name(value)}"
            )
            self.error("structure", diagnostics, path)
            return False
        if not value:
            self.error("structure", f"Element {shown} must not be an empty array", path)
            return False
        if element_max is not None and len(value) > element_max:
            diagnostics = f"Element {shown} has max {element_max} but has {len(value)} items"
            self.error("structure", diagnostics, path)
        return True

    def primitive_sibling(
        self, siblings: Any, prop: Property, values: Any, path: str, depth: int
    ) -> None:
        """`_name`: the ids and extensions of primitive `name`, aligned with its values."""
        element_path = f"{path}.{prop.json_name}"
        shown = f"'_{prop.json_name}' of '{element_path}'"
        if not self.fits_shape(siblings, prop, element_path, shown):
            return
        if not prop.is_array:
            self.complex(siblings, prop.type_name, element_path, depth + 1, shown)
            return
        value_count = len(values) if isinstance(values, list) else 0
        if isinstance(values, list) and value_count != len(siblings):
            diagnostics = (
                f"Element {shown} has {len(siblings)} items but '{prop.json_name}' "
                f"has {value_count}; they must align"
            )
            self.error("structure", diagnostics, element_path)
        for index, sibling in enumerate(siblings):
            item_path = f"{element_path}[{index}]"
            if sibling is not None:
                item_shown = f"'_{prop.json_name}[{index}]' of '{element_path}'"
                self.complex(sibling, prop.type_name, item_path, depth + 1, item_shown)
            elif index >= value_count:
                diagnostics = f"Element '{item_path}' has neither a value nor extensions"
                self.error("structure", diagnostics, item_path)


def _has_sibling_at(siblings: Any, index: int) -> bool:
    return isinstance(siblings, list) and index < len(siblings) and siblings[index] is not None
