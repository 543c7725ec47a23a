"""The function table: each FHIRPath function with the kinds of its parameters.

A function implementation is called as `impl(env, input, *arguments)`, where each
argument is, by parameter kind:
- VALUE: the collection the argument evaluates to (against the enclosing focus);
- LAMBDA: the compiled argument itself, to be evaluated per input item;
- TYPE: a resolved type specifier;
- SORT_KEY: (compiled expression, descending?).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

VALUE = "value"
LAMBDA = "lambda"
TYPE = "type"
SORT_KEY = "sort key"  # an expression, or `-expression` for descending order; repeatable

Compiled = Callable[[list[Any], Any], list[Any]]  # (focus, env) -> collection


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    impl: Callable[..., list[Any]]
    params: tuple[str, ...]
    required: int  # how many of the parameters must be given


FUNCTIONS: dict[str, Function] = {}


def function(
    name: str, *params: str, required: int | None = None
) -> Callable[[Callable[..., list[Any]]], Callable[..., list[Any]]]:
    def register(impl: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        FUNCTIONS[name] = Function(
            name, impl, params, len(params) if required is None else required
        )
        return impl

    return register
