"""Compile-time checks against the FHIR model, for an expression with a known base type.

Only what can be known for certain is reported (spec 11 leaves the rest to run time):
- a leading type name that is not the base type or one of its ancestors
  (`Encounter.name` on a Patient);
- a name that none of the possible input types has (`name.given1`, and the JSON name of
  a choice element: `Observation.valueQuantity` instead of `Observation.value`);
- optionally, order-dependent functions applied to unordered collections
  (`children().skip(1)`).
Types are tracked through paths and the functions that keep or name their input's type;
anything else makes the type unknown, and unknown types are never reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from ember.fhir.fhirpath.errors import FHIRPathError
from ember.fhir.fhirpath.functions import FUNCTIONS
from ember.fhir.fhirpath.functions.registry import LAMBDA, SORT_KEY
from ember.fhir.fhirpath.syntax import (
    Binary,
    Call,
    Expr,
    Indexer,
    Member,
    Special,
    TypeOperation,
    Unary,
)
from ember.fhir.model import Model


@dataclass(frozen=True, slots=True)
class Info:
    types: frozenset[str] | None  # None: unknown
    ordered: bool = True
    context: bool = False  # the focus is the evaluation context (not a lambda's item)


UNKNOWN = Info(None)
_SAME_TYPE = frozenset(
    {
        "where",
        "first",
        "last",
        "tail",
        "skip",
        "take",
        "single",
        "distinct",
        "trace",
        "intersect",
        "exclude",
        "sort",
    }
)
_ORDER_DEPENDENT = frozenset({"first", "last", "tail", "skip", "take"})
_UNORDERED = frozenset({"children", "descendants"})


class Checker:
    def __init__(self, model: Model, *, check_ordered_functions: bool = False) -> None:
        self.model = model
        self.check_ordered = check_ordered_functions

    def check(self, expr: Expr, base_type: str) -> None:
        self.infer(expr, Info(frozenset({base_type}), context=True))

    def infer(self, expr: Expr, focus: Info) -> Info:
        if isinstance(expr, Member):
            return self._member(expr, focus)
        if isinstance(expr, Call):
            return self._call(expr, focus)
        if isinstance(expr, Special):
            return (
                self.infer(expr.target, focus)
                if expr.target
                else (focus if expr.name == "$this" else UNKNOWN)
            )
        if isinstance(expr, Indexer):
            target = self.infer(expr.target, focus)
            self.infer(expr.index, focus)
            self._require_order(target, "an indexer", expr.position)
            return target
        if isinstance(expr, TypeOperation):
            self.infer(expr.operand, focus)
            return self._named(expr.type.name) if expr.operator == "as" else UNKNOWN
        if isinstance(expr, Binary):
            self.infer(expr.left, focus)
            self.infer(expr.right, focus)
        elif isinstance(expr, Unary):
            self.infer(expr.operand, focus)
        return UNKNOWN

    def _member(self, expr: Member, focus: Info) -> Info:
        at_root = expr.target is None
        source = focus if at_root else self.infer(expr.target, focus)  # type: ignore[arg-type]
        if at_root and expr.name[:1].isupper() and self.model.find_type(expr.name):
            if (
                focus.context
                and self._known(source)
                and not any(
                    self.model.is_subtype(t, expr.name)
                    for t in source.types  # type: ignore[union-attr]
                )
            ):
                raise FHIRPathError(
                    f"{expr.name} does not match the context type "
                    f"{', '.join(sorted(source.types))}",  # type: ignore[arg-type]
                    position=expr.position,
                )
            return source if source.types is not None else self._named(expr.name)
        if not self._known(source):
            return Info(None, source.ordered)
        found: set[str] = set()
        for type_name in source.types:  # type: ignore[union-attr]
            element = self.model.type(type_name).elements.get(expr.name)
            if element is not None:
                found.update(element.types)
        if not found:
            raise FHIRPathError(
                f"{', '.join(sorted(source.types))} has no element {expr.name!r}",  # type: ignore[arg-type]
                position=expr.position,
            )
        return Info(frozenset(found), source.ordered)

    def _known(self, info: Info) -> bool:
        """Whether all types are concrete model types (abstract ones hide subtypes)."""
        if not info.types:
            return False
        for name in info.types:
            typedef = self.model.find_type(name)
            if typedef is None or typedef.abstract:
                return False
        return True

    def _named(self, name: str) -> Info:
        return Info(frozenset({name}) if self.model.find_type(name) else None)

    def _call(self, expr: Call, focus: Info) -> Info:
        source = self.infer(expr.target, focus) if expr.target is not None else focus
        definition = FUNCTIONS.get(expr.name)
        params = definition.params if definition else ()
        for index, arg in enumerate(expr.args):
            kind = params[min(index, len(params) - 1)] if params else None
            if kind in (LAMBDA, SORT_KEY):
                item = Info(source.types)
                self.infer(arg.operand if isinstance(arg, Unary) else arg, item)
            elif expr.name not in ("is", "as", "ofType"):
                self.infer(arg, focus)
        name = expr.name
        if name in _ORDER_DEPENDENT:
            self._require_order(source, f"{name}()", expr.position)
        if name in _SAME_TYPE:
            return source
        if name in _UNORDERED:
            return Info(None, ordered=False)
        if name in ("ofType", "as") and expr.args and isinstance(expr.args[0], Member):
            return self._named(expr.args[0].name)
        if name == "select" and expr.args:
            return self.infer(expr.args[0], Info(source.types))
        if name == "extension":
            return Info(frozenset({"Extension"}))
        return UNKNOWN

    def _require_order(self, info: Info, what: str, position: int) -> None:
        if self.check_ordered and not info.ordered:
            raise FHIRPathError(f"{what} needs an ordered collection", position=position)
