"""Search criteria: query parameters parsed into what each one asks (search.html).

A parameter name is a path: `name:exact`, `subject:Patient.name` (a chain),
`_has:Observation:patient:code` (a reverse chain), nested to any depth. Its value is a
list of alternatives (OR); repeated parameters all hold (AND). Conditional
create/update/delete use the same parser, so there is one in the server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Union
from urllib.parse import parse_qsl

from ember.fhir.issues import Issue
from ember.fhir.model import get_model
from ember.fhir.validation.terminology import Terminology
from ember.search import fulltext
from ember.search.compartments import Compartment
from ember.search.index import indexed
from ember.search.parameters import (
    FULLTEXT,
    RESOURCE_LEVEL,
    SearchParameter,
    parameter,
    parameters,
)

# Parameters that shape the answer rather than filter it (search.html#other) and that
# this engine applies; the others (_include, ...) are reported as not supported.
INCLUDE_NAMES = frozenset(
    f"{name}{modifier}"
    for name in ("_include", "_revinclude")
    for modifier in ("", ":iterate", ":recurse")
)
APPLIED_CONTROLS = INCLUDE_NAMES | {
    "_count",
    "_format",
    "_pretty",
    "_sort",
    "_total",
    "_page",
    "_summary",
    "_elements",
    "__explain",
    "_contained",
    "_containedType",
    "_type",  # read where the search is scoped (system and compartment searches)
}

# Modifiers each parameter type applies (search.html#modifiers); a `:Type` modifier on a
# reference is handled apart.
MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"missing", "exact", "contains"}),
    "token": frozenset({"missing", "text", "not", "of-type", "in", "not-in", "above", "below"}),
    "reference": frozenset({"missing", "identifier", "above", "below"}),
    "date": frozenset({"missing"}),
    "number": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "uri": frozenset({"missing", "above", "below"}),
    "composite": frozenset({"missing"}),
}
# Modifiers the specification defines that this server does not apply yet: a 400 saying so.
NOT_SUPPORTED_MODIFIERS = frozenset({"in", "not-in", "above", "below"})


class InvalidSearch(ValueError):
    """A search the server cannot run as asked; the issue says which parameter."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.diagnostics)
        self.issue = issue


class UnknownParameter(InvalidSearch):
    """A parameter the server does not know: ignored with a warning unless strict."""


def invalid(message: str, code: str, issue_code: str = "invalid") -> InvalidSearch:
    return InvalidSearch(Issue("error", issue_code, message, code))


@dataclass(frozen=True, slots=True)
class Leaf:
    """The parameter a value is compared with."""

    param: SearchParameter
    modifier: str | None

    @property
    def resource_level(self) -> bool:
        return self.param.code in RESOURCE_LEVEL


@dataclass(frozen=True, slots=True)
class Chain:
    """Follow a reference parameter to its targets, then test them."""

    param: SearchParameter
    targets: tuple[str, ...]
    then: Target


@dataclass(frozen=True, slots=True)
class Reverse:
    """_has: resources of `source_type` whose `param` points here pass `then`."""

    source_type: str
    param: SearchParameter
    then: Target


@dataclass(frozen=True, slots=True)
class Listed:
    """_list: resources a List names in its entry.item (search.html#list)."""


Target = Union[Leaf, Chain, Reverse, Listed]  # noqa: UP007 (a runtime alias in dataclasses)


@dataclass(frozen=True, slots=True)
class Criterion:
    code: str  # as written, with modifiers and chains
    target: Target
    values: tuple[str, ...]  # alternatives (comma-separated in the query): OR


@dataclass(frozen=True, slots=True)
class Criteria:
    types: tuple[str, ...]  # the resource types searched; () for every type
    criteria: tuple[Criterion, ...]  # all must hold: AND
    ignored: tuple[Issue, ...]  # warnings about parameters that were not applied
    compartment: Compartment | None = None  # only resources in this compartment
    local_base: str | None = None  # this server's base URL: absolute references under it
    contained: str = "false"  # _contained: whether contained resources are searched
    containers: bool = True  # _containedType=container: answer with their containers
    # the ValueSets and CodeSystems code sets come from (shipped and stored); None: the
    # shipped ones
    terminology: Callable[[], Terminology] | None = None

    @property
    def answers_containers(self) -> bool:
        """Whether the rows found are contained resources answered by their containers."""
        return self.contained != "false" and self.containers

    def as_query(self) -> list[tuple[str, str]]:
        # values keep their escapes, so joining them gives back the query as written
        return [(c.code, ",".join(c.values)) for c in self.criteria]


def split_values(raw: str, separator: str = ",") -> tuple[str, ...]:
    """Split on unescaped separators; `\\,` is a literal comma (search.html#escaping)."""
    values: list[str] = []
    current: list[str] = []
    chars = iter(raw)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == separator:
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return tuple(values)


def unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\|", "|").replace("\\$", "$").replace("\\\\", "\\")


def known_parameter(resource_type: str, code: str) -> SearchParameter | None:
    """A parameter this engine can search with on a type."""
    param = parameter(resource_type, code)
    if param is None or not (
        code in RESOURCE_LEVEL or (code in FULLTEXT and fulltext.enabled()) or indexed(param)
    ):
        return None
    return param


def common_parameter(types: tuple[str, ...], code: str) -> SearchParameter | None:
    """A parameter this engine can search with on every one of `types` (every resource
    type when empty), with the same meaning (parameter type) on all of them."""
    found = [known_parameter(t, code) for t in types or all_types()]
    first = found[0]
    if first is None or any(p is None or p.type != first.type for p in found):
        return None
    return first


def all_types() -> tuple[str, ...]:
    return tuple(sorted(get_model().resource_types))


def supported_parameters(resource_type: str) -> list[SearchParameter]:
    """The search parameters of a type this engine applies (for the CapabilityStatement)."""
    table = parameters()
    codes = {*RESOURCE_LEVEL, *FULLTEXT}  # known_parameter drops full text when off
    for scope in ("Resource", "DomainResource", resource_type):
        codes.update(table.get(scope, {}))
    found = (known_parameter(resource_type, code) for code in sorted(codes))
    return [p for p in found if p is not None]


def _unknown(resource_type: str, code: str) -> UnknownParameter:
    return UnknownParameter(
        Issue(
            "error",
            "not-supported",
            f"Search parameter {code!r} is not supported for {resource_type}",
            code,
        )
    )


def _target(resource_type: str, name: str, written: str) -> Target:
    """Parse a parameter name (after any chain prefix) on `resource_type`."""
    if name.startswith("_has:"):
        parts = name.split(":", 3)
        if len(parts) != 4 or not all(parts[1:]):
            raise invalid(f"{written!r}: _has needs _has:Type:parameter:parameter", written)
        _, source_type, code, rest = parts
        param = known_parameter(source_type, code)
        if param is None or param.type != "reference":
            raise _unknown(source_type, code)
        return Reverse(source_type, param, _target(source_type, rest, written))
    if name == "_list":
        return Listed()
    head, dot, rest = name.partition(".")
    code, _, modifier = head.partition(":")
    param = known_parameter(resource_type, code)
    if param is None:
        raise _unknown(resource_type, code)
    if dot:
        if param.type != "reference":
            raise invalid(f"{written!r}: only reference parameters can be chained", written)
        targets = (modifier,) if modifier else param.targets
        chained = tuple(t for t in targets if known_parameter(t, rest.split(".")[0].split(":")[0]))
        if not chained:
            raise _unknown("/".join(targets) or resource_type, rest)
        # one parse per target type would differ only in the parameter found; the first
        # target's stands for all, the SQL restricts by parameter code
        return Chain(param, chained, _target(chained[0], rest, written))
    if modifier:
        _check_modifier(param, modifier, written)
    return Leaf(param, modifier or None)


def _check_modifier(param: SearchParameter, modifier: str, written: str) -> None:
    if param.code in FULLTEXT:
        raise invalid(f"{param.code} takes no modifiers ({written!r})", written)
    if param.type == "reference" and modifier in param.targets:
        return
    if modifier in MODIFIERS.get(param.type, ()):
        return
    if modifier in NOT_SUPPORTED_MODIFIERS:
        raise invalid(
            f"The modifier :{modifier} of {written!r} is not supported yet",
            written,
            "not-supported",
        )
    raise invalid(f"Unknown modifier :{modifier} for {param.type} parameter {written!r}", written)


def _shape(target: Target) -> tuple[object, ...]:
    """What a parsed parameter does, apart from which definition it came from: the
    same code may be defined once per type (`identifier`) and still mean the same."""
    if isinstance(target, Leaf):
        return ("leaf", target.param.code, target.param.type, target.modifier)
    if isinstance(target, Chain):
        return ("chain", target.param.code, target.targets, _shape(target.then))
    if isinstance(target, Reverse):
        return ("has", target.source_type, target.param.code, _shape(target.then))
    return ("list",)


def _common_target(types: tuple[str, ...], code: str) -> Target:
    """Parse a parameter for several types (search.html#_type): it must mean the same
    on all of them; unknown on all is an unknown parameter, on some an error."""
    if len(types) == 1:
        return _target(types[0], code, code)
    found: list[Target] = []
    unknown: list[str] = []
    for type_ in types or all_types():
        try:
            found.append(_target(type_, code, code))
        except UnknownParameter:
            unknown.append(type_)
    scope = ", ".join(types) if types else "every resource type"
    if not found:
        raise _unknown(scope, code)
    if unknown:
        raise invalid(
            f"Search parameter {code!r} is not defined for {', '.join(unknown[:5])}"
            f"{' and others' if len(unknown) > 5 else ''}: a search on {scope} can only use "
            "parameters common to all of them",
            code,
        )
    if len({_shape(t) for t in found}) > 1:
        raise invalid(f"Search parameter {code!r} means different things on {scope}", code)
    return found[0]


def parse(
    types: str | Sequence[str],
    query: str | Sequence[tuple[str, str]],
    *,
    strict: bool,
    compartment: Compartment | None = None,
    local_base: str | None = None,
    contained: str = "false",
    containers: bool = True,
    terminology: Callable[[], Terminology] | None = None,
) -> Criteria:
    """Parse search parameters for one type, several, or every type (`()`); unknown
    ones are errors if strict, else ignored with a warning; `contained` and `containers`
    as _contained and _containedType say (see ember.search.contained); `terminology`
    gives the ValueSets and CodeSystems of code sets. Raises InvalidSearch."""
    scope = (types,) if isinstance(types, str) else tuple(types)
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query)
    criteria: list[Criterion] = []
    ignored: list[Issue] = []
    for code, raw in pairs:
        if code in APPLIED_CONTROLS or raw == "":  # empty: ignored (search.html#errors)
            continue
        try:
            target = _common_target(scope, code)
        except UnknownParameter as exc:
            if strict:
                raise
            message = f"{exc.issue.diagnostics}; it was ignored"
            ignored.append(Issue("warning", "not-supported", message, code))
            continue
        criteria.append(Criterion(code, target, split_values(raw)))
    return Criteria(
        scope,
        tuple(criteria),
        tuple(ignored),
        compartment,
        local_base,
        contained,
        containers,
        terminology,
    )
