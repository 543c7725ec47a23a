"""The abstract syntax tree the parser produces and the compiler consumes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any  # a system value, or None for the empty collection `{}`
    position: int


@dataclass(frozen=True, slots=True)
class Member:
    """Path navigation: `target.name`, or `name` on the focus when target is None."""

    target: Expr | None
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    """A function invocation: `target.name(args)`, or on the focus when target is None."""

    target: Expr | None
    name: str
    args: tuple[Expr, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Special:
    """`$this`, `$index` or `$total`, optionally invoked on a target (`x.$this`)."""

    target: Expr | None
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Variable:
    name: str  # without the %
    position: int


@dataclass(frozen=True, slots=True)
class Indexer:
    target: Expr
    index: Expr
    position: int


@dataclass(frozen=True, slots=True)
class Unary:
    operator: str  # "+" or "-"
    operand: Expr
    position: int


@dataclass(frozen=True, slots=True)
class Binary:
    operator: str
    left: Expr
    right: Expr
    position: int


@dataclass(frozen=True, slots=True)
class TypeSpecifier:
    namespace: str | None  # "FHIR", "System" or None when unqualified
    name: str
    position: int

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class TypeOperation:
    """`operand is Type` / `operand as Type`."""

    operator: str
    operand: Expr
    type: TypeSpecifier
    position: int


Expr = Literal | Member | Call | Special | Variable | Indexer | Unary | Binary | TypeOperation


def function_names(node: Any) -> Iterator[str]:
    """The names of the functions an expression calls, at any depth."""
    if isinstance(node, Call):
        yield node.name
    for field in fields(node):
        value = getattr(node, field.name)
        for child in value if isinstance(value, tuple) else (value,):
            if is_dataclass(child) and not isinstance(child, type):
                yield from function_names(child)
