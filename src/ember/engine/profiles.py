"""The StructureDefinitions validation resolves by canonical URL (`url` or `url|version`):
the ones shipped with the definitions first, then the ones stored through the API or
loaded from an IG package (profiles and extension definitions).

Each process caches what it found, misses included. Several worker processes share one
database, so the cache is checked against a stamp of the stored StructureDefinitions
(their count and latest lastUpdated, one indexed query) once per validation that needs
a definition the server does not ship; any write of one, in any process, changes it.
A definition found without a snapshot gets one generated from its base.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember.fhir.formats import json as fhir_json
from ember.fhir.validation.snapshots import with_snapshot

if TYPE_CHECKING:
    from ember.engine.interactions import Engine

Lookup = Callable[[str], dict[str, Any] | None]
_TYPE = "StructureDefinition"
_CANDIDATES = 50  # stored versions of one canonical URL considered


class StoredProfiles:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shipped = engine.model.structure_definitions
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._found: dict[str, dict[str, Any] | None] = {}

    def lookup(self) -> Lookup:
        """A resolver for one validation: the stamp is checked on its first stored look-up."""
        checked = False

        def find(canonical: str) -> dict[str, Any] | None:
            nonlocal checked
            if not checked and canonical.split("|", 1)[0] not in self.shipped:
                self._refresh()
                checked = True
            return self._find(canonical)

        return find

    def _refresh(self) -> None:
        with self.engine.store.reading() as reader:
            stamp = reader.type_stamp(_TYPE)
        with self._lock:
            if stamp != self._stamp:
                self._found = {}
                self._stamp = stamp

    def _find(self, canonical: str) -> dict[str, Any] | None:
        url = canonical.split("|", 1)[0]
        if url in self.shipped:
            return self.shipped[url]
        found = self._found
        if canonical not in found:
            found[canonical] = None  # a definition deriving from itself ends here
            found[canonical] = self._search(canonical)
        return found[canonical]

    def _search(self, canonical: str) -> dict[str, Any] | None:
        url, _, version = canonical.partition("|")
        stored, _ = self.engine.search(_TYPE, [("url", url)], False, _CANDIDATES)
        matching = [
            definition
            for definition in (fhir_json.parse(s.content) for s in stored if s.content)
            if definition.get("url") == url
            and (not version or definition.get("version") == version)
        ]
        if not matching:
            return None
        # without a version asked for, the latest one written
        return with_snapshot(max(matching, key=_last_updated), self._find)


def _last_updated(definition: dict[str, Any]) -> str:
    meta = definition.get("meta")
    return str(meta.get("lastUpdated", "")) if isinstance(meta, dict) else ""
