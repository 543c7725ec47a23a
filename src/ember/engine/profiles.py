"""The definitions validation resolves by canonical URL (`url` or `url|version`): the
StructureDefinitions (profiles, extensions) and the ValueSets and CodeSystems (their
bindings) shipped with Ember first, then the ones stored through the API or loaded from
an IG package.

Each process caches what it found, misses included. Several worker processes share one
database, so the caches are checked against a stamp of the stored resources of those
types (their count and latest lastUpdated, one indexed query per type), once per
validation that needs something Ember does not ship; any write of one, in any process,
changes the stamp. A StructureDefinition found without a snapshot gets one generated.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ember.fhir.formats import json as fhir_json
from ember.fhir.validation.snapshots import with_snapshot
from ember.fhir.validation.terminology import Terminology

if TYPE_CHECKING:
    from ember.engine.interactions import Engine

_PROFILES = ("StructureDefinition",)
_TERMINOLOGY = ("ValueSet", "CodeSystem")
_CANDIDATES = 50  # stored versions of one canonical URL considered
_MAX_CACHED = 1024  # definitions (and misses) kept per process
Stamp = tuple[tuple[int, int], ...]


class StoredDefinitions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shipped = engine.model.structure_definitions
        self._lock = threading.Lock()
        self._profiles_stamp: Stamp | None = None
        self._found: dict[str, dict[str, Any] | None] = {}
        self._terminology_stamp: Stamp | None = None
        self._terminology: Terminology | None = None

    def resolver(self) -> Resolver:
        """What one validation uses: each stamp is checked on first need only."""
        return Resolver(self)

    def _stamp(self, types: tuple[str, ...]) -> Stamp:
        with self.engine.store.reading() as reader:
            return tuple(reader.type_stamp(type_) for type_ in types)

    def refresh_profiles(self) -> None:
        stamp = self._stamp(_PROFILES)
        with self._lock:
            if stamp != self._profiles_stamp:
                self._found = {}
                self._profiles_stamp = stamp

    def bound_cache(self) -> None:
        """Clients choose the URLs they claim: keep the cache bounded (cleared between
        look-ups, never during one, so a definition deriving from itself stays caught)."""
        if len(self._found) >= _MAX_CACHED:
            self._found = {}

    def terminology(self) -> Terminology:
        stamp = self._stamp(_TERMINOLOGY)
        with self._lock:
            if self._terminology is None or stamp != self._terminology_stamp:
                self._terminology = Terminology(self.engine.model.version, self._latest)
                self._terminology_stamp = stamp
            return self._terminology

    def profile(self, canonical: str) -> dict[str, Any] | None:
        url = canonical.split("|", 1)[0]
        if url in self.shipped:
            return self.shipped[url]
        found = self._found
        if canonical not in found:
            found[canonical] = None  # a definition deriving from itself ends here
            definition = self._latest("StructureDefinition", canonical)
            found[canonical] = definition and with_snapshot(definition, self.profile)
        return found[canonical]

    def _latest(self, type_: str, canonical: str) -> dict[str, Any] | None:
        """The stored resource with this canonical URL (and version, if given); without
        a version, the one written last."""
        url, _, version = canonical.partition("|")
        stored, _ = self.engine.search(type_, [("url", url)], False, _CANDIDATES)
        matching = [
            resource
            for resource in (fhir_json.parse(s.content) for s in stored if s.content)
            if resource.get("url") == url and (not version or resource.get("version") == version)
        ]
        return max(matching, key=_last_updated) if matching else None


class Resolver:
    """The definitions of one validation."""

    def __init__(self, definitions: StoredDefinitions) -> None:
        self._definitions = definitions
        self._profiles_checked = False
        self._terminology: Terminology | None = None

    def __call__(self, canonical: str) -> dict[str, Any] | None:
        """A StructureDefinition by canonical URL."""
        definitions = self._definitions
        if not self._profiles_checked and canonical.split("|", 1)[0] not in definitions.shipped:
            definitions.refresh_profiles()
            self._profiles_checked = True
            definitions.bound_cache()
        return definitions.profile(canonical)

    def terminology(self) -> Terminology:
        if self._terminology is None:
            self._terminology = self._definitions.terminology()
        return self._terminology


def _last_updated(resource: dict[str, Any]) -> str:
    meta = resource.get("meta")
    return str(meta.get("lastUpdated", "")) if isinstance(meta, dict) else ""
