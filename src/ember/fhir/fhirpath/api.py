"""The public entry points: compile() once, evaluate() many times."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ember.fhir.fhirpath.analysis import Checker
from ember.fhir.fhirpath.compiler import Compiler
from ember.fhir.fhirpath.context import (
    NO_SERVICES,
    Env,
    ProfileCheck,
    Resolver,
    Services,
    Terminology,
    Tracer,
)
from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.nodes import Node, to_python, wrap
from ember.fhir.fhirpath.parser import parse
from ember.fhir.model import Model, get_model


class Expression:
    """A compiled FHIRPath expression; evaluate() is safe to call from many threads."""

    __slots__ = ("_compiled", "_uses_env", "model", "text")

    def __init__(
        self,
        text: str,
        *,
        version: str = "r4",
        base_type: str | None = None,
        check_ordered_functions: bool = False,
    ) -> None:
        self.text = text
        self.model: Model = get_model(version)
        try:
            tree = parse(text)
            if base_type is not None:
                checker = Checker(self.model, check_ordered_functions=check_ordered_functions)
                checker.check(tree, base_type)
            compiler = Compiler(self.model)
            self._compiled = compiler.compile(tree)
        except RecursionError as exc:  # the parser and compiler recurse per nesting level
            raise FHIRPathError("the expression nests too deeply") from exc
        self._uses_env = compiler.uses_env

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def evaluate(
        self,
        resource: Any,
        *,
        variables: Mapping[str, Any] | None = None,
        context: Any = None,
        context_type: str | None = None,
        resolver: Resolver | None = None,
        terminology: Terminology | None = None,
        conforms_to: ProfileCheck | None = None,
        tracer: Tracer | None = None,
    ) -> list[Any]:
        """Evaluate against a resource (a JSON dict), returning plain Python values.

        `context`/`context_type` evaluate against an element inside the resource instead
        (as invariants do; `%resource` stays the resource). `variables` supply `%name`
        values. The callbacks serve resolve() beyond contained resources and the Bundle,
        memberOf(), conformsTo() for profiles, and trace().
        """
        if resource.__class__ is dict:
            root = [Node(resource, resource.get("resourceType"))]
        else:
            root = _node(resource, None)
        focus = root if context is None else _node(context, context_type)
        env = None
        if self._uses_env:
            services = (
                NO_SERVICES
                if resolver is None
                and terminology is None
                and conforms_to is None
                and tracer is None
                else Services(resolver, terminology, conforms_to, tracer)
            )
            env = Env(self.model, focus, root, _variables(variables) if variables else {}, services)
        try:
            result = self._compiled(focus, env)
        except FHIRPathError:
            raise
        except (
            RecursionError,
            ArithmeticError,
            ValueError,
            TypeError,
            LookupError,
            AttributeError,
        ) as exc:
            # a defect or unforeseen input must still surface as a FHIRPath error
            raise FHIRPathError(f"evaluation failed: {exc!r}") from exc
        out = []
        for item in result:
            if item.__class__ is Node:
                data = item.data
                out.append(data if data.__class__ is dict else to_python(item))
            else:
                out.append(item)
        return out


def _node(value: Any, type_name: str | None) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [Node(value, type_name or value.get("resourceType"))]
    if isinstance(value, builtins.list):
        return [item for entry in value for item in _node(entry, type_name)]
    return [wrap(value)]


def _variables(variables: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {name: _node(value, None) for name, value in variables.items()}


@lru_cache(maxsize=2048)
def compile(
    expression: str,
    *,
    version: str = "r4",
    base_type: str | None = None,
    check_ordered_functions: bool = False,
) -> Expression:
    """Parse and compile an expression (cached); raises FHIRPathError on errors.

    With `base_type` (the type of the context, e.g. "Patient") the expression is also
    checked against the model: unknown element names and a mismatching leading type name
    are errors; `check_ordered_functions` also rejects first()/skip()/[n]... applied to
    the unordered results of children()/descendants().
    """
    return Expression(
        expression,
        version=version,
        base_type=base_type,
        check_ordered_functions=check_ordered_functions,
    )


def evaluate(
    resource: Any, expression: str, *, variables: Mapping[str, Any] | None = None, **options: Any
) -> list[Any]:
    """compile(expression).evaluate(resource, ...) in one call."""
    return compile(expression).evaluate(resource, variables=variables, **options)
