"""Code sets that token modifiers search for (search.html#token): `:in` / `:not-in` a
ValueSet's expansion, `:below` / `:above` a code in a CodeSystem's hierarchy; shipped
ones or those the server stores, as the Terminology given knows them."""

from __future__ import annotations

from ember.fhir.validation.terminology import Terminology

Codes = frozenset[tuple[str, str]]  # (system, code)

# More codes than this in one search would make an unreasonably long statement.
MAX_CODES = 5000


class UnknownCodes(LookupError):
    """The server cannot work out the codes asked for; the message says why."""


def value_set_codes(url: str, terminology: Terminology) -> Codes:
    """The expansion of a ValueSet; raises UnknownCodes."""
    if not terminology.knows_value_set(url):
        raise UnknownCodes(f"the value set {url} is not known to this server")
    codes = terminology.expansion(url)
    if codes is None:
        raise UnknownCodes(
            f"the value set {url} cannot be expanded here (it uses filters or code systems "
            "this server cannot expand)"
        )
    return _bounded(codes, url)


def subsumption_codes(system: str, code: str, below: bool, terminology: Terminology) -> Codes:
    """`code` with every code it subsumes (below) or that subsumes it (above), in the
    code system `system`; raises UnknownCodes."""
    hierarchy = terminology.hierarchy(system)
    if hierarchy is None:
        raise UnknownCodes(f"the code system {system} is not known to this server")
    if code not in hierarchy.codes:
        raise UnknownCodes(f"{code!r} is not a code of {system}")
    found = hierarchy.related(code, below)
    return _bounded(frozenset((system, c) for c in found), f"{system}|{code}")


def _bounded(codes: Codes, what: str) -> Codes:
    if len(codes) > MAX_CODES:
        raise UnknownCodes(f"{what} stands for {len(codes)} codes, more than {MAX_CODES}")
    return codes
