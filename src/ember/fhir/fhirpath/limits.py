"""A bound on what one evaluation may produce, for expressions the server does not trust
(custom SearchParameters): characters of the strings it builds and items of the
collections it builds, each counted before it is built.

Without a bound a short expression can build values exponentially large, e.g. a chain
of `replace('a', 'aaaaaaaaaa')` (ten times longer at each step) or of
`select($this.combine($this))` (twice as many items at each step). The functions and
operators that can grow a value charge the budget in force, if any; an evaluation that
exceeds it fails with a FHIRPathError. Trusted expressions (the shipped definitions,
validation) run without one, at the cost of one context-variable read per growing step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from ember.fhir.fhirpath.errors import FHIRPathError


@dataclass(slots=True)
class Budget:
    chars: int  # characters of strings still allowed
    items: int  # collection items still allowed


_BUDGET: ContextVar[Budget | None] = ContextVar("fhirpath_budget", default=None)


@contextmanager
def bounded(chars: int, items: int) -> Iterator[Budget]:
    """Evaluations in this block may build at most `chars` characters and `items` items
    in all."""
    budget = Budget(chars, items)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def bounded_now() -> bool:
    """Whether a budget is in force (the expression is not trusted)."""
    return _BUDGET.get() is not None


def charge_chars(count: int) -> None:
    """Before building a string of `count` characters."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.chars -= count
        _check(budget.chars, "strings")


def charge_items(count: int) -> None:
    """Before building a collection of `count` items."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.items -= count
        _check(budget.items, "collections")


def _check(left: int, what: str) -> None:
    if left < 0:
        raise FHIRPathError(f"the expression builds {what} beyond the limit of this server")
