"""The part of a search parameter's expression that can match one resource type.

Parameters shared by many types are written as one union, `A.x | B.y | C.z ...`; a
branch led by another type's name (`B.y` on an A) always yields nothing, yet evaluating
the whole union walks every branch and de-duplicates at every `|`. Indexing an A needs
only the branches that can match an A: the same values, so the same index rows.
"""

from __future__ import annotations

from ember.fhir.fhirpath.errors import FHIRPathSyntaxError
from ember.fhir.fhirpath.parser import parse
from ember.fhir.fhirpath.syntax import (
    Binary,
    Call,
    Expr,
    Indexer,
    Member,
    TypeOperation,
)
from ember.fhir.model import Model


def for_type(expression: str, resource_type: str, model: Model) -> str | None:
    """The expression restricted to the top-level union branches that can match
    `resource_type`, as text; None when no branch can. Unparseable text is returned
    unchanged, so compiling it reports the error."""
    try:
        tree = parse(expression)
    except FHIRPathSyntaxError:
        return expression
    cuts: list[int] = []  # positions of the top-level `|` (a left-leaning chain)
    node: Expr = tree
    while isinstance(node, Binary) and node.operator == "|":
        cuts.append(node.position)
        node = node.left
    starts = [0, *(cut + 1 for cut in sorted(cuts))]
    ends = [*sorted(cuts), len(expression)]
    pieces = [expression[start:end].strip() for start, end in zip(starts, ends, strict=True)]
    kept = [p for p in pieces if _can_match(parse(p), resource_type, model)]
    if len(kept) == len(pieces):
        return expression
    return " | ".join(kept) or None


def starting_keys(expression: str, resource_type: str, model: Model) -> frozenset[str] | None:
    """The JSON properties of a `resource_type` resource that every branch of the
    expression starts from (`Observation.code.coding` starts from `code`): a resource
    with none of them gives nothing, so it need not be evaluated. None when some branch
    may give something from elsewhere."""
    try:
        tree = parse(expression)
    except FHIRPathSyntaxError:
        return None
    elements = model.type(resource_type).elements
    keys: set[str] = set()
    for branch in _branches(tree):
        name = _first_element(branch, resource_type, model)
        element = elements.get(name) if name is not None else None
        if element is None:
            return None
        for json_name in element.json_names():
            keys.update((json_name, "_" + json_name))  # `_name`: a primitive's extensions
    return frozenset(keys)


def _branches(node: Expr) -> list[Expr]:
    if isinstance(node, Binary) and node.operator == "|":
        return [*_branches(node.left), *_branches(node.right)]
    return [node]


def _can_match(branch: Expr, resource_type: str, model: Model) -> bool:
    """False only where the branch surely yields nothing on `resource_type`: it starts
    from a type name that type does not derive from (the compiled expression keeps only
    focus items of that type) and every later step yields nothing from nothing."""
    if isinstance(branch, Binary) and branch.operator == "|":
        return _can_match(branch.left, resource_type, model) or _can_match(
            branch.right, resource_type, model
        )
    root = _leading_name(branch)
    return root is None or not _names_type(root, model) or model.is_subtype(resource_type, root)


def _names_type(name: str, model: Model) -> bool:
    # the compiler's rule for a leading type name (fhirpath.compiler)
    return name[:1].isupper() and model.find_type(name) is not None


# Functions whose result is empty when their input is (unlike exists(), count(), ...).
_EMPTY_IN_EMPTY_OUT = frozenset(
    {"where", "select", "ofType", "as", "resolve", "extension", "first", "last", "tail"}
)


def _leading_name(node: Expr) -> str | None:
    """The identifier a path of empty-preserving steps starts from; None when the
    branch is anything else (a function of nothing, a variable, an operator...)."""
    path = _path(node)
    return path[0].name if path else None


def _first_element(node: Expr, resource_type: str, model: Model) -> str | None:
    """The element of the resource a path of empty-preserving steps starts from:
    `name` in `name.given` or in `Patient.name.given`; None if unknown."""
    path = _path(node)
    if not path:
        return None
    if not _names_type(path[0].name, model):
        return path[0].name
    if not model.is_subtype(resource_type, path[0].name) or len(path) < 2:
        return None
    step = path[1]
    if isinstance(step, Member) or (isinstance(step, Call) and step.name == "extension"):
        return step.name
    return None


def _path(node: Expr) -> list[Expr]:
    """The steps of a path made only of empty-preserving steps, first step first (an
    identifier on the focus); empty when the expression is anything else."""
    steps: list[Expr] = []
    while True:
        steps.append(node)
        if (isinstance(node, TypeOperation) and node.operator == "as") or (
            isinstance(node, Call) and node.name in _EMPTY_IN_EMPTY_OUT and node.target
        ):
            node = node.operand if isinstance(node, TypeOperation) else node.target
        elif isinstance(node, Indexer):
            node = node.target
        elif isinstance(node, Member):
            if node.target is None:
                return steps[::-1]
            node = node.target
        else:
            return []
