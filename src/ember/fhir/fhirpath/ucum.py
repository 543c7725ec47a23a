"""A compact UCUM unit parser: enough of UCUM to compare and convert common units.

Units are reduced to a factor and a dimension over the UCUM base units (m, g, s, rad, K,
C, cd); arbitrary units such as `[iU]` become dimensions of their own, so they convert
only between prefixed forms of themselves. Units with an offset (Cel, [degF]) are
treated the same way: comparable to themselves only.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

Dimension = tuple[tuple[str, int], ...]  # sorted (base, exponent) pairs, no zeros

_PREFIXES = {
    "Y": "1e24",
    "Z": "1e21",
    "E": "1e18",
    "P": "1e15",
    "T": "1e12",
    "G": "1e9",
    "M": "1e6",
    "k": "1e3",
    "h": "1e2",
    "da": "1e1",
    "d": "1e-1",
    "c": "1e-2",
    "m": "1e-3",
    "u": "1e-6",
    "n": "1e-9",
    "p": "1e-12",
    "f": "1e-15",
    "a": "1e-18",
    "z": "1e-21",
    "y": "1e-24",
}

# atom -> (metric?, factor, definition in other units or None for a base/own dimension)
_ATOMS: dict[str, tuple[bool, str, str | None]] = {
    # base units
    "m": (True, "1", None),
    "g": (True, "1", None),
    "s": (True, "1", None),
    "rad": (True, "1", None),
    "K": (True, "1", None),
    "C": (True, "1", None),
    "cd": (True, "1", None),
    # dimensionless
    "10*": (False, "10", "1"),
    "10^": (False, "10", "1"),
    "%": (False, "0.01", "1"),
    "[ppth]": (False, "1e-3", "1"),
    "[ppm]": (False, "1e-6", "1"),
    "[ppb]": (False, "1e-9", "1"),
    "mol": (True, "6.0221367e23", "1"),
    "eq": (True, "6.0221367e23", "1"),
    "osm": (True, "6.0221367e23", "1"),
    "sr": (True, "1", "rad2"),
    "deg": (False, "0.017453292519943295", "rad"),
    # time
    "min": (False, "60", "s"),
    "h": (False, "3600", "s"),
    "d": (False, "86400", "s"),
    "wk": (False, "604800", "s"),
    "mo": (False, "2629800", "s"),
    "a": (False, "31557600", "s"),
    "a_j": (False, "31557600", "s"),
    "a_t": (False, "31556925.216", "s"),
    "mo_j": (False, "2629800", "s"),
    "Hz": (True, "1", "s-1"),
    # length, area, volume
    "[in_i]": (False, "0.0254", "m"),
    "[ft_i]": (False, "0.3048", "m"),
    "[yd_i]": (False, "0.9144", "m"),
    "[mi_i]": (False, "1609.344", "m"),
    "Ao": (False, "1e-10", "m"),
    "ar": (True, "100", "m2"),
    "L": (True, "1e-3", "m3"),
    "l": (True, "1e-3", "m3"),
    "[gal_us]": (False, "3.785411784e-3", "m3"),
    "[qt_us]": (False, "9.46352946e-4", "m3"),
    "[pt_us]": (False, "4.73176473e-4", "m3"),
    "[foz_us]": (False, "2.95735295625e-5", "m3"),
    "[cup_us]": (False, "2.365882365e-4", "m3"),
    "[tbs_us]": (False, "1.478676478125e-5", "m3"),
    "[tsp_us]": (False, "4.92892159375e-6", "m3"),
    "[drp]": (False, "5e-8", "m3"),
    # mass
    "t": (True, "1e6", "g"),
    "u": (True, "1.6605402e-24", "g"),
    "[lb_av]": (False, "453.59237", "g"),
    "[oz_av]": (False, "28.349523125", "g"),
    "[gr]": (False, "0.06479891", "g"),
    "[stone_av]": (False, "6350.29318", "g"),
    # mechanics and electricity
    "N": (True, "1000", "g.m.s-2"),
    "Pa": (True, "1000", "g.m-1.s-2"),
    "J": (True, "1000", "g.m2.s-2"),
    "W": (True, "1000", "g.m2.s-3"),
    "bar": (True, "1e8", "g.m-1.s-2"),
    "atm": (False, "101325000", "g.m-1.s-2"),
    "m[Hg]": (True, "133322387.415", "g.m-1.s-2"),
    "m[H2O]": (True, "9806650", "g.m-1.s-2"),
    "cal": (True, "4184", "g.m2.s-2"),
    "[Cal]": (False, "4184000", "g.m2.s-2"),
    "A": (True, "1", "C.s-1"),
    "V": (True, "1000", "g.m2.s-2.C-1"),
    "Ohm": (True, "1000", "g.m2.s-1.C-2"),
    "kat": (True, "6.0221367e23", "s-1"),
    "U": (True, "1.00369783e17", "s-1"),
    # units with an offset or arbitrary units: dimensions of their own
    "Cel": (True, "1", None),
    "[degF]": (False, "1", None),
    "[iU]": (True, "1", None),
    "[IU]": (True, "1", "[iU]"),
    "[arb'U]": (False, "1", None),
    "[pH]": (False, "1", None),
    "[hp'_X]": (False, "1", None),
}
_BASES = frozenset(name for name, (_, _, definition) in _ATOMS.items() if definition is None)
_ATOMS_LONGEST_FIRST = sorted(_ATOMS, key=len, reverse=True)
_EXPONENT = re.compile(r"(.*?)([+-]?\d+)$")
_COMPONENT_END = re.compile(r"[./()]")


class UnitError(ValueError):
    """Not a unit this module understands."""


@cache
def canonical(unit: str) -> tuple[Decimal, Dimension] | None:
    """(factor, dimension) such that 1 `unit` = factor x the base units; None if unknown."""
    try:
        factor, dims = _Parser(unit).parse()
    except UnitError:
        return None
    return factor, tuple(sorted((b, e) for b, e in dims.items() if e))


def _multiply(into: dict[str, int], dims: dict[str, int], power: int) -> None:
    for base, exponent in dims.items():
        into[base] = into.get(base, 0) + exponent * power


@cache
def _atom(symbol: str) -> tuple[Decimal, dict[str, int]]:
    if symbol in _ATOMS:
        return _atom_value(symbol)
    for size in (2, 1):
        prefix, rest = symbol[:size], symbol[size:]
        if prefix in _PREFIXES and rest in _ATOMS and _ATOMS[rest][0]:
            factor, dims = _atom_value(rest)
            return factor * Decimal(_PREFIXES[prefix]), dims
    raise UnitError(symbol)


def _atom_value(symbol: str) -> tuple[Decimal, dict[str, int]]:
    _, factor, definition = _ATOMS[symbol]
    if definition is None:
        return Decimal(factor), {symbol: 1}
    base_factor, dims = _Parser(definition).parse()
    return Decimal(factor) * base_factor, dims


class _Parser:
    """UCUM's term grammar: components joined by '.' and '/', with parentheses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple[Decimal, dict[str, int]]:
        if not self.text:
            raise UnitError("empty unit")
        result = self.term()
        if self.pos != len(self.text):
            raise UnitError(self.text)
        return result

    def term(self) -> tuple[Decimal, dict[str, int]]:
        factor, dims = Decimal(1), {}
        power = 1
        if self.peek() == "/":
            self.pos += 1
            power = -1
        while True:
            f, d = self.component()
            factor = factor * f if power > 0 else factor / f
            _multiply(dims, d, power)
            operator = self.peek()
            if operator not in (".", "/"):
                return factor, dims
            self.pos += 1
            power = 1 if operator == "." else -1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def component(self) -> tuple[Decimal, dict[str, int]]:
        if self.peek() == "(":
            self.pos += 1
            factor, dims = self.term()
            if self.peek() != ")":
                raise UnitError(self.text)
            self.pos += 1
            return factor, dims
        start = self.pos
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
            elif depth == 0 and _COMPONENT_END.match(char):
                break
            self.pos += 1
        return _simple(self.text[start : self.pos])


def _simple(text: str) -> tuple[Decimal, dict[str, int]]:
    # annotations ({beats}) carry no meaning for conversion
    text = re.sub(r"\{[^}]*\}", "", text)
    if text == "" or text.isdigit():
        return Decimal(text or 1), {}
    symbol, exponent = text, 1
    match = _EXPONENT.fullmatch(text)
    if match and match.group(1) and not match.group(1).endswith(("[", "_")):
        symbol, exponent = match.group(1), int(match.group(2))
    factor, dims = _atom(symbol)
    return factor**exponent, {b: e * exponent for b, e in dims.items()}
