"""The storage interface the engine talks to.

A resource is a row in `resources` (its current version number and state) and one
row per version in `resource_versions` (the stored bytes, NULL for a delete).
Versions are immutable; every write inserts one.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace


class StoreConflict(Exception):
    """A concurrent writer got there first; the caller may retry the whole interaction."""


class StoreBusy(Exception):
    """The database stayed locked by other writers for longer than a write waits; the
    client may try again later (nothing was written)."""


@dataclass(frozen=True, slots=True)
class StoredVersion:
    type: str
    id: str
    version: int
    last_updated: int  # microseconds since the Unix epoch, UTC
    method: str  # POST, PUT, PATCH or DELETE: how this version came to be
    content: bytes | None  # the resource as stored; None for a delete tombstone
    seq: int = 0  # position in the server-wide history

    @property
    def deleted(self) -> bool:
        return self.content is None


@dataclass(frozen=True, slots=True)
class CurrentState:
    """What `lock` finds: the resource row and its current version, without content."""

    pk: int
    version: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    type: str | None = None  # None: system history
    id: str | None = None  # instance history (with type)
    since: int | None = None  # versions created at or after (µs)
    at_start: int | None = None  # versions current at some point in [at_start, at_end)
    at_end: int | None = None
    before_seq: int | None = None  # paging cursor: only entries older than this
    count: int = 50


@dataclass(frozen=True, slots=True)
class IndexRows:
    """Search index rows of one resource version, written with it."""

    tokens: Sequence[tuple[str, str | None, str]] = ()  # (param, system, code)
    token_texts: Sequence[tuple[str, str]] = ()  # (param, normalised display or text)
    strings: Sequence[tuple[str, str, str]] = ()  # (param, normalised, exact)
    dates: Sequence[tuple[str, int, int]] = ()  # (param, low µs, high µs exclusive)
    # (param, target type, target id, target version, reference or canonical as written)
    references: Sequence[tuple[str, str | None, str | None, str | None, str]] = ()
    numbers: Sequence[tuple[str, float]] = ()  # (param, value)
    # (param, system, code, value, UCUM canonical unit, value in that unit)
    quantities: Sequence[tuple[str, str | None, str | None, float, str | None, float | None]] = ()
    uris: Sequence[tuple[str, str]] = ()  # (param, value)
    # composite parameters: one row per value of a component of an item (param, item
    # number, component number, then the columns of the component's type, see below)
    composites: Sequence[tuple[object, ...]] = ()
    # (narrative words, words of all text), each joined by spaces, for _text and
    # _content; None: not indexed
    fulltext: tuple[str, str] | None = None
    # the resources it contains: (type, local id, their own rows); see CONTAINED_PREFIX
    contained: Sequence[tuple[str, str, IndexRows]] = ()


# A contained resource is indexed as a row of `resources` of its own, so that every
# search criterion applies to it unchanged: its type is the prefix + its type (a search
# of a type never sees it), its id `Type/id#local` of its container (unique, and the
# fullUrl the spec gives it: search.html#contained), `container` the container's pk. It
# has no versions: it is rewritten with each version of its container. A reference to
# it (`#local`) is indexed with target (prefix + type, `#local`), which the store
# completes with the container's `Type/id` (the id is not known when rows are made).
CONTAINED_PREFIX = "#"


def contained_type(type_: str) -> str:
    """The `resources.type` of contained resources of a type."""
    return CONTAINED_PREFIX + type_


def in_container(index: IndexRows, name: str) -> IndexRows:
    """The rows with their references to contained resources completed: `name` is the
    container's `Type/id`."""
    if not any(row[2] and row[2].startswith(CONTAINED_PREFIX) for row in index.references):
        return index
    references = [
        (code, type_, f"{name}{id_}", version, url)
        if id_ is not None and id_.startswith(CONTAINED_PREFIX)
        else (code, type_, id_, version, url)
        for code, type_, id_, version, url in index.references
    ]
    return replace(index, references=references)


# Columns of the composite index each component type fills, in the order of its rows
COMPONENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "token": ("system", "code"),
    "quantity": ("system", "code", "value", "canonical_unit", "canonical_value"),
    "number": ("value",),
    "date": ("low", "high"),
    "string": ("normalized", "exact"),
    "reference": ("target_type", "target_id", "target_version", "url"),
}
COMPOSITE_COLUMNS = (
    "param",
    "item",
    "component",
    *dict.fromkeys(c for columns in COMPONENT_COLUMNS.values() for c in columns),
)


# Text index values are cut to this many characters when written (PostgreSQL's b-tree
# entries must stay under ~2.7 kB, and a lookup column with two such values must fit);
# searches cut their values alike (`indexable`), so only values sharing their first
# MAX_INDEXED_CHARS characters can be confused.
MAX_INDEXED_CHARS = 300
_CAPPED_COLUMNS = frozenset(
    {"system", "code", "normalized", "exact", "target_id", "target_version", "url"}
)


def is_capped(table: str, column: str) -> bool:
    """Whether an index column holds text cut to MAX_INDEXED_CHARS."""
    return column in _CAPPED_COLUMNS or (table == "uri_index" and column == "value")


def indexable(text: str) -> str:
    """A search value as the index holds it (see MAX_INDEXED_CHARS)."""
    return text[:MAX_INDEXED_CHARS]


# Where each kind of IndexRows goes: field -> (table, columns after res_pk)
INDEX_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tokens": ("token_index", ("param", "system", "code")),
    "token_texts": ("token_text_index", ("param", "normalized")),
    "strings": ("string_index", ("param", "normalized", "exact")),
    "dates": ("date_index", ("param", "low", "high")),
    "references": (
        "reference_index",
        ("param", "target_type", "target_id", "target_version", "url"),
    ),
    "numbers": ("number_index", ("param", "value")),
    "quantities": (
        "quantity_index",
        ("param", "system", "code", "value", "canonical_unit", "canonical_value"),
    ),
    "uris": ("uri_index", ("param", "value")),
    "composites": ("composite_index", COMPOSITE_COLUMNS),
}


class Reader(ABC):
    """Read access within one database transaction (or snapshot)."""

    dialect: str  # "sqlite" or "postgresql": the SQL search builds differs for full text

    @abstractmethod
    def registry_generation(self) -> int:
        """The number that changes with each change to the stored SearchParameters."""

    @abstractmethod
    def current(self, type_: str, id_: str) -> StoredVersion | None:
        """The current version (possibly a tombstone), or None if never stored."""

    @abstractmethod
    def current_many(self, type_: str, ids: Sequence[str]) -> list[StoredVersion]:
        """Current versions of several resources, in the order of `ids`."""

    @abstractmethod
    def version(self, type_: str, id_: str, version: int) -> StoredVersion | None: ...

    @abstractmethod
    def history(self, query: HistoryQuery) -> list[StoredVersion]:
        """Versions newest first (by server-wide sequence), at most query.count."""

    @abstractmethod
    def count_history(self, query: HistoryQuery) -> int: ...

    @abstractmethod
    def type_stamp(self, type_: str) -> tuple[int, int]:
        """(how many, latest lastUpdated) of the resources of a type, deleted ones
        included: it changes whenever one of them is written, in any process."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Run a read-only statement written with `?` placeholders (search builds these)."""

    @abstractmethod
    def current_after(
        self, after_pk: int, limit: int, types: Sequence[str] | None = None
    ) -> list[tuple[int, int, bytes]]:
        """(pk, version, content) of live resources (of `types`, if given) with
        pk > after_pk, in pk order (index rebuilds)."""


class Writer(Reader):
    """Read and write access within one database transaction."""

    @abstractmethod
    def lock(self, type_: str, id_: str) -> CurrentState | None:
        """Lock a resource's row for this transaction (None if it was never stored)."""

    @abstractmethod
    def lock_key(self, key: str) -> None:
        """Serialise writers that share a key (e.g. a conditional create's criteria)."""

    @abstractmethod
    def write_version(
        self,
        state: CurrentState | None,
        version: StoredVersion,
        index: IndexRows | None = None,
    ) -> StoredVersion:
        """Store a new version; `state` is what `lock` returned. Replaces the search
        index rows of the resource with `index` (none for a delete). Raises
        StoreConflict if a concurrent writer created the same resource first."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run a statement written with `?` placeholders (search jobs build these)."""

    @abstractmethod
    def share_registry(self) -> int:
        """The registry generation, for a write transaction: index rows it writes are
        computed with that generation's parameters, so `wait_for_writers` (run by a
        rebuild before it starts) waits for it to end."""

    @abstractmethod
    def wait_for_writers(self) -> None:
        """Wait until every write transaction that called `share_registry` ended."""

    @abstractmethod
    def bump_registry(self) -> None:
        """Change the registry generation (the stored SearchParameters changed)."""

    @abstractmethod
    def delete_index_rows(self, types: Sequence[str] | None, code: str) -> None:
        """Remove a parameter's index rows (and those of its modifiers, `code:...`) from
        resources of `types` (None: of every type)."""

    @abstractmethod
    def replace_index(self, pk: int, index: IndexRows, params: Sequence[str] | None = None) -> None:
        """Replace a resource's search index rows; with `params`, only the rows of those
        parameters (and the full-text row if `index` has one)."""


class Store(ABC):
    dialect: str
    # True where a read by id is a local, non-blocking lookup cheaper than handing it
    # to a worker thread (SQLite in WAL mode: readers never wait for writers).
    inline_point_reads: bool = False

    @abstractmethod
    def reading(self) -> AbstractContextManager[Reader]: ...

    async def current_async(self, type_: str, id_: str) -> StoredVersion | None:
        """Reader.current for the event loop, which it never blocks: inline where a read
        by id is a cheap local lookup, else in a worker thread (asyncio's: measured
        in-process with 32 concurrent reads on PostgreSQL, 2,800-3,200 reads/s against
        1,900-2,100 through psycopg's async pool)."""
        if self.inline_point_reads:
            return self._current(type_, id_)
        return await asyncio.to_thread(self._current, type_, id_)

    def _current(self, type_: str, id_: str) -> StoredVersion | None:
        with self.reading_one() as reader:
            return reader.current(type_, id_)

    def reading_one(self) -> AbstractContextManager[Reader]:
        """A reader for one statement, which needs no transaction to see one snapshot
        (a read by id); stores where a read transaction costs something skip it."""
        return self.reading()

    @abstractmethod
    def writing(self) -> AbstractContextManager[Writer]:
        """One write transaction: committed when the block ends, rolled back on error."""

    @abstractmethod
    def close(self) -> None: ...

    def refresh_statistics(self) -> None:
        """Let the query planner see the data as it is now (after a bulk load): without
        statistics it may scan a whole resource type instead of one selective index."""
        with self.writing() as writer:
            writer.execute("ANALYZE")
