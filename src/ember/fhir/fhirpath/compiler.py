"""Compiles the syntax tree into nested Python closures `(focus, env) -> collection`.

`focus` is the collection an expression is evaluated against: the input at the top, the
single item being visited inside where()/select()/..., which is also `$this`. Function
arguments are evaluated against the enclosing focus, not against the function's input
(`name.given.combine(name.family)` takes `name.family` from the resource).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.fhir.fhirpath import operations as ops
from ember.fhir.fhirpath import types
from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions import FUNCTIONS
from ember.fhir.fhirpath.functions.registry import SORT_KEY, TYPE, VALUE, Compiled
from ember.fhir.fhirpath.limits import charge_chars
from ember.fhir.fhirpath.nodes import Node, StepFunction, step, system_value
from ember.fhir.fhirpath.syntax import (
    Binary,
    Call,
    Expr,
    Indexer,
    Literal,
    Member,
    Special,
    TypeOperation,
    TypeSpecifier,
    Unary,
    Variable,
)
from ember.fhir.model import Model

_CONSTANTS = {
    "ucum": "http://unitsofmeasure.org",
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
}
_PREFIXED_CONSTANTS = {
    "vs-": "http://hl7.org/fhir/ValueSet/",
    "ext-": "http://hl7.org/fhir/StructureDefinition/",
}


def _focus(focus: list[Any], env: Any) -> list[Any]:
    return focus


class Compiler:
    def __init__(self, model: Model) -> None:
        self.model = model
        # whether any closure reads the evaluation state (functions, variables, $index);
        # plain paths do not, and then evaluation need not create it
        self.uses_env = False

    def compile(self, expr: Expr) -> Compiled:
        method = getattr(self, "_" + type(expr).__name__.lower())
        return method(expr)

    # -- terms -----------------------------------------------------------------------

    def _literal(self, expr: Literal) -> Compiled:
        constant = [] if expr.value is None else [expr.value]
        return lambda focus, env: constant

    def _member(self, expr: Member) -> Compiled:
        # a chain of member steps becomes one loop over prepared steps
        names: list[str] = []
        node: Expr | None = expr
        while isinstance(node, Member):
            names.append(node.name)
            node = node.target
        names.reverse()
        start = self.compile(node) if node is not None else None
        steps = [step(name, self.model) for name in names]
        if start is None and self._names_type(names[0]):
            steps[:2] = [self._type_filter(names[0], steps[1] if len(steps) > 1 else None)]

        if start is None and len(steps) == 1:
            only = steps[0]
            return lambda focus, env: only(focus)
        if start is None and len(steps) == 2:  # the most common shape: `Type.element`
            first, second = steps
            return lambda focus, env: second(items) if (items := first(focus)) else items

        def path(focus: list[Any], env: Any) -> list[Any]:
            items = start(focus, env) if start is not None else focus
            for navigate in steps:
                if not items:
                    return items
                items = navigate(items)
            return items

        return path

    def _names_type(self, name: str) -> bool:
        return name[:1].isupper() and self.model.find_type(name) is not None

    def _type_filter(self, type_name: str, then: StepFunction | None) -> StepFunction:
        """A leading type name (`Patient.name`) keeps the focus items of that type, and
        takes the next step on them (one call less on the hot path)."""
        model = self.model
        matches: dict[str | None, bool] = {None: True}  # untyped JSON is given the benefit

        def keep(items: list[Any]) -> list[Any]:
            if len(items) == 1 and items[0].__class__ is Node and items[0].type_name == type_name:
                # the usual case: the resource the expression is written for
                return then(items) if then is not None else items
            out = []
            for item in items:
                if item.__class__ is Node:
                    match = matches.get(item.type_name)
                    if match is None:
                        match = model.is_subtype(item.type_name, type_name)
                        matches[item.type_name] = match
                    if match:
                        out.append(item)
            return then(out) if then is not None and out else out

        return keep

    def _special(self, expr: Special) -> Compiled:
        self.uses_env = True
        target = self.compile(expr.target) if expr.target is not None else None
        if expr.name == "$this":
            return target or _focus
        if expr.name == "$index":
            return lambda focus, env: [] if env.index is None else [env.index]
        return lambda focus, env: env.total

    def _variable(self, expr: Variable) -> Compiled:
        self.uses_env = True
        name = expr.name
        if name in ("resource", "context", "rootResource"):
            # Ember evaluates whole resources: the root resource is the resource
            attribute = "context" if name == "context" else "resource"
            return lambda focus, env: (
                env.variables[name] if name in env.variables else getattr(env, attribute)
            )
        constant = _CONSTANTS.get(name)
        for prefix, base in _PREFIXED_CONSTANTS.items():
            if name.startswith(prefix):
                constant = base + name[len(prefix) :]
        fallback = None if constant is None else [constant]

        def variable(focus: list[Any], env: Any) -> list[Any]:
            value = env.variables.get(name)
            if value is not None:
                return value
            if fallback is None:
                raise FHIRPathError(
                    f"undefined environment variable %{name}", position=expr.position
                )
            return fallback

        return variable

    # -- invocations -----------------------------------------------------------------

    def _call(self, expr: Call) -> Compiled:
        self.uses_env = True
        definition = FUNCTIONS.get(expr.name)
        if definition is None:
            raise FHIRPathError(f"unknown function {expr.name}()", position=expr.position)
        params, args = definition.params, expr.args
        variadic = bool(params) and params[-1] == SORT_KEY
        if len(args) < definition.required or (len(args) > len(params) and not variadic):
            raise FHIRPathError(
                f"{expr.name}() takes {_arity(definition.required, len(params))} "
                f"argument(s), got {len(args)}",
                position=expr.position,
            )
        kinds = [params[min(i, len(params) - 1)] for i in range(len(args))]
        prepared = [self._argument(kind, arg) for kind, arg in zip(kinds, args, strict=True)]
        target = self.compile(expr.target) if expr.target is not None else _focus
        impl = definition.impl
        values = [i for i, kind in enumerate(kinds) if kind == VALUE]

        if not prepared:

            def call(focus: list[Any], env: Any) -> list[Any]:
                return impl(env, target(focus, env))

        elif not values:

            def call(focus: list[Any], env: Any) -> list[Any]:
                return impl(env, target(focus, env), *prepared)

        elif len(values) == len(prepared):

            def call(focus: list[Any], env: Any) -> list[Any]:
                return impl(env, target(focus, env), *[arg(focus, env) for arg in prepared])

        else:

            def call(focus: list[Any], env: Any) -> list[Any]:
                arguments = [
                    argument(focus, env) if i in values else argument
                    for i, argument in enumerate(prepared)
                ]
                return impl(env, target(focus, env), *arguments)

        return call

    def _argument(self, kind: str, arg: Expr) -> Any:
        if kind == TYPE:
            return types.resolve(_type_specifier(arg), self.model)
        if kind == SORT_KEY:
            if isinstance(arg, Unary) and arg.operator == "-":
                return self.compile(arg.operand), True
            return self.compile(arg), False
        return self.compile(arg)  # VALUE and LAMBDA are both compiled expressions

    def _indexer(self, expr: Indexer) -> Compiled:
        target, index = self.compile(expr.target), self.compile(expr.index)

        def indexer(focus: list[Any], env: Any) -> list[Any]:
            items = target(focus, env)
            position = ops.singleton(index(focus, env), "an indexer")
            if position is None:
                return []
            position = system_value(position)
            if position.__class__ is not int:
                raise FHIRPathError("an index must be an integer", position=expr.position)
            return [items[position]] if 0 <= position < len(items) else []

        return indexer

    def _typeoperation(self, expr: TypeOperation) -> Compiled:
        operand = self.compile(expr.operand)
        test = types.resolve(expr.type, self.model)
        what = f"'{expr.operator}'"
        if expr.operator == "is":

            def is_(focus: list[Any], env: Any) -> list[Any]:
                items = operand(focus, env)
                if len(items) == 1:
                    return [test.is_(items[0])]
                return items if not items else [ops.singleton(items, what)]

            return is_

        def as_(focus: list[Any], env: Any) -> list[Any]:
            items = operand(focus, env)
            if len(items) != 1:
                return items if not items else [ops.singleton(items, what)]
            result = test.as_(items[0])
            return [] if result is None else [result]

        return as_

    # -- operators -------------------------------------------------------------------

    def _unary(self, expr: Unary) -> Compiled:
        operand = self.compile(expr.operand)
        operator = expr.operator

        def unary(focus: list[Any], env: Any) -> list[Any]:
            item = ops.singleton(operand(focus, env), f"unary {operator!r}")
            if item is None:
                return []
            value = system_value(item)
            negated = ops.negate(value)  # also checks that the operand is numeric
            return [negated if operator == "-" else value]

        return unary

    def _binary(self, expr: Binary) -> Compiled:
        left, right = self.compile(expr.left), self.compile(expr.right)
        builder = _BINARY.get(expr.operator)
        if builder is None:
            raise FHIRPathError(f"unknown operator {expr.operator!r}", position=expr.position)
        return builder(left, right, expr.operator)


def _arity(required: int, maximum: int) -> str:
    return str(required) if required == maximum else f"{required} to {maximum}"


def _type_specifier(arg: Expr) -> TypeSpecifier:
    """The argument of is()/as()/ofType() read as a type name (`FHIR.Patient`)."""
    if isinstance(arg, Member) and arg.target is None:
        return TypeSpecifier(None, arg.name, arg.position)
    if isinstance(arg, Member) and isinstance(arg.target, Member) and arg.target.target is None:
        return TypeSpecifier(arg.target.name, arg.name, arg.position)
    raise FHIRPathError("expected a type specifier", position=getattr(arg, "position", None))


# -- binary operators ----------------------------------------------------------------

OperatorBuilder = Callable[[Compiled, Compiled, str], Compiled]


def _collections(operation: Callable[[list[Any], list[Any]], list[Any]]) -> OperatorBuilder:
    def build(left: Compiled, right: Compiled, operator: str) -> Compiled:
        return lambda focus, env: operation(left(focus, env), right(focus, env))

    return build


def _arithmetic(operation: Callable[[Any, Any], Any]) -> OperatorBuilder:
    def build(left: Compiled, right: Compiled, operator: str) -> Compiled:
        def arithmetic(focus: list[Any], env: Any) -> list[Any]:
            a = ops.singleton(left(focus, env), repr(operator))
            b = ops.singleton(right(focus, env), repr(operator))
            if a is None or b is None:
                return []
            result = operation(system_value(a), system_value(b))
            return [] if result is None else [result]

        return arithmetic

    return build


def _concatenate(left: Compiled, right: Compiled, operator: str) -> Compiled:
    def concatenate(focus: list[Any], env: Any) -> list[Any]:
        parts = []
        for side in (left, right):
            item = ops.singleton(side(focus, env), "'&'")
            value = "" if item is None else system_value(item)
            if value.__class__ is not str:
                raise FHIRPathError(f"'&' expects strings, got {ops.describe(value)}")
            parts.append(value)
        charge_chars(len(parts[0]) + len(parts[1]))
        return [parts[0] + parts[1]]

    return concatenate


def _membership(left: Compiled, right: Compiled, operator: str) -> Compiled:
    element_side, collection_side = (left, right) if operator == "in" else (right, left)

    def membership(focus: list[Any], env: Any) -> list[Any]:
        item = ops.singleton(element_side(focus, env), repr(operator))
        if item is None:
            return []
        return [ops.contains_item(collection_side(focus, env), item)]

    return membership


def _and(left: Compiled, right: Compiled, operator: str) -> Compiled:
    def and_(focus: list[Any], env: Any) -> list[Any]:
        a = ops.to_boolean(left(focus, env), "'and'")
        if a is False:
            return [False]
        b = ops.to_boolean(right(focus, env), "'and'")
        if b is False:
            return [False]
        return [True] if a and b else []

    return and_


def _or(left: Compiled, right: Compiled, operator: str) -> Compiled:
    def or_(focus: list[Any], env: Any) -> list[Any]:
        a = ops.to_boolean(left(focus, env), "'or'")
        if a is True:
            return [True]
        b = ops.to_boolean(right(focus, env), "'or'")
        if b is True:
            return [True]
        return [False] if a is False and b is False else []

    return or_


def _xor(left: Compiled, right: Compiled, operator: str) -> Compiled:
    def xor(focus: list[Any], env: Any) -> list[Any]:
        a = ops.to_boolean(left(focus, env), "'xor'")
        b = ops.to_boolean(right(focus, env), "'xor'")
        return [] if a is None or b is None else [a != b]

    return xor


def _implies(left: Compiled, right: Compiled, operator: str) -> Compiled:
    def implies(focus: list[Any], env: Any) -> list[Any]:
        a = ops.to_boolean(left(focus, env), "'implies'")
        if a is False:
            return [True]
        b = ops.to_boolean(right(focus, env), "'implies'")
        if b is True:
            return [True]
        return [False] if a is True and b is False else []

    return implies


def _comparison(left: Compiled, right: Compiled, operator: str) -> Compiled:
    return _collections(ops.comparison(operator))(left, right, operator)


_BINARY: dict[str, OperatorBuilder] = {
    "=": _collections(ops.equals),
    "!=": _collections(ops.not_equals),
    "~": _collections(ops.equivalent),
    "!~": _collections(ops.not_equivalent),
    "<": _comparison,
    "<=": _comparison,
    ">": _comparison,
    ">=": _comparison,
    "|": _collections(ops.union),
    "+": _arithmetic(ops.add),
    "-": _arithmetic(ops.subtract),
    "*": _arithmetic(ops.multiply),
    "/": _arithmetic(ops.divide),
    "div": _arithmetic(ops.integer_divide),
    "mod": _arithmetic(ops.modulo),
    "&": _concatenate,
    "in": _membership,
    "contains": _membership,
    "and": _and,
    "or": _or,
    "xor": _xor,
    "implies": _implies,
}
