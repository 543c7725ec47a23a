"""A precedence-climbing parser from tokens to the syntax tree (fhirpath.g4, spec 6.8)."""

from __future__ import annotations

from decimal import Decimal

from ember.fhir.fhirpath import temporal
from ember.fhir.fhirpath.errors import FHIRPathSyntaxError
from ember.fhir.fhirpath.lexer import Kind, Token, tokenize
from ember.fhir.fhirpath.quantity import CALENDAR_UNITS, Quantity
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

# Binary operators by precedence level, lowest first (spec 6.8); `is`/`as` sit between
# `|` and the additive operators and take a type specifier instead of an expression.
_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"implies"}),
    frozenset({"or", "xor"}),
    frozenset({"and"}),
    frozenset({"in", "contains"}),
    frozenset({"=", "~", "!=", "!~"}),
    frozenset({"<", "<=", ">", ">="}),
    frozenset({"|"}),
    frozenset({"is", "as"}),
    frozenset({"+", "-", "&"}),
    frozenset({"*", "/", "div", "mod"}),
)
_PRECEDENCE = {op: level for level, ops in enumerate(_LEVELS) for op in ops}
_TYPE_LEVEL = _PRECEDENCE["is"]
_WORD_OPERATORS = frozenset(op for op in _PRECEDENCE if op.isalpha())
# keywords that the grammar still accepts as identifiers (`identifier` rule)
_IDENTIFIER_KEYWORDS = frozenset({"as", "contains", "in", "is"})
_RESERVED = frozenset({"and", "or", "xor", "implies", "div", "mod", "true", "false"})


def parse(text: str) -> Expr:
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers -------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_symbol(self, symbol: str) -> bool:
        token = self.current
        return token.kind is Kind.SYMBOL and token.text == symbol

    def expect_symbol(self, symbol: str) -> Token:
        if not self.at_symbol(symbol):
            raise self.error(f"expected {symbol!r}")
        return self.advance()

    def error(self, message: str, token: Token | None = None) -> FHIRPathSyntaxError:
        token = token or self.current
        found = token.text or token.kind.value
        return FHIRPathSyntaxError(f"{message}, found {found!r}", position=token.position)

    # -- grammar -------------------------------------------------------------------

    def parse(self) -> Expr:
        if self.current.kind is Kind.END:
            raise self.error("empty expression")
        expr = self.expression(0)
        if self.current.kind is not Kind.END:
            raise self.error("unexpected token")
        return expr

    def binary_operator(self) -> str | None:
        token = self.current
        if token.kind is Kind.SYMBOL and token.text in _PRECEDENCE:
            return token.text
        if token.kind is Kind.IDENTIFIER and token.text in _WORD_OPERATORS:
            return token.text
        return None

    def expression(self, min_level: int) -> Expr:
        left = self.unary()
        while (operator := self.binary_operator()) is not None:
            level = _PRECEDENCE[operator]
            if level < min_level:
                break
            token = self.advance()
            if level == _TYPE_LEVEL:
                left = TypeOperation(operator, left, self.type_specifier(), token.position)
            else:
                # all binary operators are left-associative
                right = self.expression(level + 1)
                left = Binary(operator, left, right, token.position)
        return left

    def unary(self) -> Expr:
        token = self.current
        if token.kind is Kind.SYMBOL and token.text in "+-":
            self.advance()
            return Unary(token.text, self.unary(), token.position)
        return self.postfix(self.term())

    def postfix(self, expr: Expr) -> Expr:
        while True:
            if self.at_symbol("."):
                self.advance()
                expr = self.invocation(expr, after_dot=True)
            elif self.at_symbol("["):
                token = self.advance()
                index = self.expression(0)
                self.expect_symbol("]")
                expr = Indexer(expr, index, token.position)
            else:
                return expr

    def invocation(self, target: Expr | None, *, after_dot: bool = False) -> Expr:
        token = self.current
        if token.kind is Kind.SPECIAL:
            self.advance()
            return Special(target, token.text, token.position)
        if after_dot and token.kind is Kind.IDENTIFIER:
            # after a dot a keyword can only be a name: accept `text.div` as FHIR does
            name = self.advance().text
        else:
            name = self.identifier()
        if self.at_symbol("("):
            return Call(target, name, self.arguments(), token.position)
        return Member(target, name, token.position)

    def arguments(self) -> tuple[Expr, ...]:
        self.expect_symbol("(")
        args: list[Expr] = []
        if not self.at_symbol(")"):
            args.append(self.expression(0))
            while self.at_symbol(","):
                self.advance()
                args.append(self.expression(0))
        self.expect_symbol(")")
        return tuple(args)

    def identifier(self) -> str:
        token = self.current
        if token.kind is Kind.DELIMITED or (
            token.kind is Kind.IDENTIFIER and token.text not in _RESERVED
        ):
            self.advance()
            return token.text
        raise self.error("expected an identifier")

    def type_specifier(self) -> TypeSpecifier:
        token = self.current
        names = [self.identifier()]
        while self.at_symbol(".") and self.tokens[self.index + 1].kind in (
            Kind.IDENTIFIER,
            Kind.DELIMITED,
        ):
            self.advance()
            names.append(self.identifier())
        if len(names) > 2:
            raise self.error("a type specifier is Name or Namespace.Name", token)
        namespace = names[0] if len(names) == 2 else None
        return TypeSpecifier(namespace, names[-1], token.position)

    def term(self) -> Expr:
        token = self.current
        kind = token.kind
        if kind is Kind.SYMBOL:
            if token.text == "(":
                self.advance()
                expr = self.expression(0)
                self.expect_symbol(")")
                return expr
            if token.text == "{":
                self.advance()
                self.expect_symbol("}")
                return Literal(None, token.position)
            if token.text == "%":
                self.advance()
                name_token = self.current
                if name_token.kind in (Kind.IDENTIFIER, Kind.DELIMITED, Kind.STRING):
                    self.advance()
                    return Variable(name_token.text, token.position)
                raise self.error("expected a variable name after '%'")
            raise self.error("unexpected symbol")
        if kind is Kind.STRING:
            self.advance()
            return Literal(token.text, token.position)
        if kind is Kind.NUMBER:
            return self.number()
        if kind in (Kind.DATE, Kind.DATETIME, Kind.TIME):
            self.advance()
            return Literal(_temporal_literal(token), token.position)
        if kind is Kind.IDENTIFIER and token.text in ("true", "false"):
            self.advance()
            return Literal(token.text == "true", token.position)
        if kind is Kind.END:
            raise self.error("unexpected end of expression")
        if kind is Kind.IDENTIFIER and token.text in _RESERVED - _IDENTIFIER_KEYWORDS:
            raise self.error("unexpected keyword")
        return self.invocation(None)

    def number(self) -> Literal:
        token = self.advance()
        text = token.text
        unit_token = self.current
        if unit_token.kind is Kind.STRING or (
            unit_token.kind is Kind.IDENTIFIER and unit_token.text in CALENDAR_UNITS
        ):
            self.advance()
            return Literal(Quantity(Decimal(text), unit_token.text), token.position)
        if "." in text:
            return Literal(Decimal(text), token.position)
        return Literal(int(text), token.position)


def _temporal_literal(token: Token) -> temporal.Temporal:
    parsers = {
        Kind.DATE: temporal.Date.parse,
        Kind.DATETIME: temporal.DateTime.parse,
        Kind.TIME: temporal.Time.parse,
    }
    text = token.text[1:] if token.kind is Kind.TIME else token.text
    value = parsers[token.kind](text.removesuffix("T") if token.kind is Kind.DATETIME else text)
    if value is None:
        raise FHIRPathSyntaxError(
            f"invalid date/time literal @{token.text}", position=token.position
        )
    return value
