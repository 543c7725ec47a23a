"""Custom search parameters: kept in step with the database in every worker process,
and put in force (or out of it) by writes of SearchParameter resources.

Each change to the stored SearchParameters changes a generation number in the database
in the same transaction. Every write transaction and every search reads that number
(one small query) and reloads the custom parameters only when it changed, so a change
made by one worker process is in force in all of them before their next write or search.
"""

from __future__ import annotations

import threading
from typing import Any

from ember.engine.errors import FhirError
from ember.fhir.model import Model
from ember.search import custom, parameters, reindex
from ember.store.base import Reader, Writer


class Registry:
    def __init__(self) -> None:
        self.generation = -1  # of the database, as last loaded; -1: never loaded
        self._lock = threading.Lock()

    def refresh(self, session: Reader, generation: int) -> None:
        """Reload if the database's generation (read by the caller in `session`) is newer
        than the one loaded."""
        if generation <= self.generation:
            return
        with self._lock:
            if generation <= self.generation:
                return
            parameters.install(custom.table(custom.load(session).values()))
            self.generation = generation

    def sync(self, session: Reader) -> None:
        """Reload if the stored SearchParameters changed since the last load."""
        self.refresh(session, session.registry_generation())

    def record_change(
        self, writer: Writer, model: Model, id_: str, resource: dict[str, Any] | None
    ) -> bool:
        """In the transaction that writes SearchParameter `id_` (None: deletes it), before
        the version is written: change the generation, remove index rows of a parameter
        going out of force and start a rebuild for one coming in. Whether anything
        changed; 422 if the parameter clashes with one stored since the body was checked.

        The stored parameters are read here, not installed: only committed ones are ever
        in force (a rolled-back change must not be)."""
        writer.lock_key(reindex.REGISTRY_LOCK)  # changes one at a time, each seeing the last
        stored = custom.load(writer)
        if resource is not None:
            issues = custom.check(resource, model, stored)
            if issues:
                raise FhirError(422, issues)
        old = stored.get(id_)
        new = custom.definition(resource, id_) if resource is not None else None
        if old == new:
            return False
        writer.bump_registry()
        reindexed = new is not None and (old is None or old.indexing() != new.indexing())
        if old is not None and (new is None or reindexed):
            writer.delete_index_rows(old.types, old.param.code)
        if new is not None and reindexed:
            reindex.start(writer, [new.param.code], new.types)
        return True
