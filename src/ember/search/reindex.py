"""Index rebuilds as jobs whose state lives in the database (table `search_jobs`).

A job walks the live resources (of its types, if it names some) in pk order, a batch
per write transaction, and records how far it got, so it resumes after a restart. Each
batch re-reads the job's position under a lock, so several workers sharing the job
never redo or undo each other's batches. Until a job is finished, searches it concerns
carry a warning instead of silently partial results.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson

from ember.fhir.issues import Issue
from ember.search import fulltext
from ember.search.criteria import Chain, Criteria, Listed, Reverse, Target, all_types
from ember.search.index import index_rows
from ember.search.parameters import FULLTEXT
from ember.store.base import Reader, Store, Writer

log = logging.getLogger(__name__)

BATCH = 200
# Brings the parameters in force up to date within a session: a rebuild must index with
# the parameters that started it, whichever worker runs it.
Refresh = Callable[[Reader], None]
# Held by changes of the stored SearchParameters and by each batch's write
REGISTRY_LOCK = "SearchParameter"
_COLUMNS = "pk, params, types, next_pk, done, total, finished"


@dataclass(frozen=True, slots=True)
class Job:
    pk: int
    params: tuple[str, ...] | None  # codes being reindexed; None: every parameter
    types: tuple[str, ...] | None  # resource types walked; None: every type
    next_pk: int
    done: int
    total: int
    finished: bool = False

    def concerns(self, used: set[tuple[str, str]]) -> bool:
        """Whether searching with these (type, code) pairs depends on this job."""
        return any(
            (self.types is None or type_ in self.types)
            and (self.params is None or code in self.params)
            for type_, code in used
        )


def _names(raw: str | None) -> tuple[str, ...] | None:
    return tuple(json.loads(raw)) if raw else None


def _job(row: tuple) -> Job:
    pk, params, types, next_pk, done, total, finished = row
    return Job(pk, _names(params), _names(types), next_pk, done, total, bool(finished))


def pending(reader: Reader) -> list[Job]:
    rows = reader.query(
        f"SELECT {_COLUMNS} FROM search_jobs WHERE finished = ? ORDER BY pk", [False]
    )
    return [_job(row) for row in rows]


def recent(reader: Reader, finished: int = 20) -> list[Job]:
    """Unfinished jobs and the last `finished` ones, oldest first (for $reindex)."""
    rows = reader.query(
        f"SELECT {_COLUMNS} FROM search_jobs WHERE finished = ? OR pk IN "
        "(SELECT pk FROM search_jobs WHERE finished = ? ORDER BY pk DESC LIMIT ?) ORDER BY pk",
        [False, True, finished],
    )
    return [_job(row) for row in rows]


def used_parameters(criteria: Criteria) -> set[tuple[str, str]]:
    """(resource type, code) of every parameter a search compares with, chains, _list
    and the compartment's links included."""
    used: set[tuple[str, str]] = set()
    types = criteria.types or all_types()

    def walk(type_: str, target: Target) -> None:
        if isinstance(target, Listed):
            used.add(("List", "item"))
            return
        used.add((type_, target.param.code))
        if isinstance(target, Chain):
            for other in target.targets:
                walk(other, target.then)
        elif isinstance(target, Reverse):
            used.add((target.source_type, target.param.code))
            walk(target.source_type, target.then)

    for criterion in criteria.criteria:
        for type_ in types:
            walk(type_, criterion.target)
    if criteria.compartment is not None:
        used.update(
            (type_, code)
            for type_, codes in criteria.compartment.members
            if type_ in types
            for code in codes
        )
    return used


def search_state(reader: Reader) -> tuple[int, list[Job]]:
    """The registry generation and the unfinished jobs: what every search needs to know
    first, in one round trip."""
    rows = reader.query(
        f"SELECT g.generation, {', '.join('j.' + c for c in _COLUMNS.split(', '))} "
        "FROM (SELECT COALESCE(MAX(generation), 0) AS generation FROM search_registry) g "
        "LEFT JOIN search_jobs j ON j.finished = ? ORDER BY j.pk",
        [False],
    )
    return int(rows[0][0]), [_job(row[1:]) for row in rows if row[1] is not None]


def warnings(jobs: Iterable[Job], criteria: Criteria) -> list[Issue]:
    """A warning per unfinished job that concerns any of the parameters searched with."""
    used = used_parameters(criteria)
    return [
        Issue(
            "warning",
            "incomplete",
            f"The search index is being rebuilt ({job.done} of {job.total} resources done"
            f"{_for(job)}); results may be incomplete until it finishes",
            None,
        )
        for job in jobs
        if job.concerns(used)
    ]


def _for(job: Job) -> str:
    what = []
    if job.params is not None:
        what.append("parameters " + ", ".join(job.params))
    if job.types is not None:
        what.append("of " + ", ".join(job.types))
    return " for " + " ".join(what) if what else ""


def start(
    writer: Writer, params: Iterable[str] | None = None, types: Iterable[str] | None = None
) -> None:
    """Record a new job in the caller's transaction; `run` carries it out."""
    codes = sorted(params) if params is not None else None
    kinds = sorted(types) if types is not None else None
    of_types, arguments = "", [False]
    if kinds is not None:
        of_types = f" AND type IN ({', '.join('?' for _ in kinds)})"
        arguments.extend(kinds)
    total = writer.query(
        f"SELECT COUNT(*) FROM resources WHERE deleted = ? AND container IS NULL{of_types}",
        arguments,
    )
    writer.execute(
        "INSERT INTO search_jobs (params, types, next_pk, done, total, finished) "
        "VALUES (?, ?, 0, 0, ?, ?)",
        [
            json.dumps(codes) if codes is not None else None,
            json.dumps(kinds) if kinds is not None else None,
            total[0][0],
            False,
        ],
    )


def follow_fulltext_setting(store: Store, on: bool) -> None:
    """Record whether full-text rows are written; turning them on starts their rebuild
    (rows of resources written meanwhile are missing or stale)."""
    fulltext.enable(on)
    with store.reading() as reader:
        rows = reader.query("SELECT fulltext FROM search_registry")
    if (bool(rows[0][0]) if rows else True) == on:
        return
    with store.writing() as writer:
        writer.lock_key("search_registry/fulltext")  # one rebuild when workers start
        rows = writer.query("SELECT fulltext FROM search_registry")
        if (bool(rows[0][0]) if rows else True) == on:
            return
        if rows:
            writer.execute("UPDATE search_registry SET fulltext = ?", [on])
        else:
            writer.execute("INSERT INTO search_registry (generation, fulltext) VALUES (0, ?)", [on])
        if on:
            start(writer, sorted(FULLTEXT))


def _step(
    store: Store, pk: int, refresh: Refresh | None = None, local_base: str | None = None
) -> bool:
    """Reindex one batch of job `pk`; whether the job is finished (`local_base` as for
    `index_rows`).

    The rows are computed outside the write transaction (which is then short: on SQLite
    it holds the one write lock) and written only for resources still at the version
    read; a resource written meanwhile got its rows from that write."""
    with store.reading() as reader:
        generation = reader.registry_generation()
        if refresh is not None:
            refresh(reader)
        rows = reader.query(f"SELECT {_COLUMNS} FROM search_jobs WHERE pk = ?", [pk])
        if not rows or bool(rows[0][6]):
            return True
        job = _job(rows[0])
        batch = reader.current_after(job.next_pk, BATCH, job.types)
    # only the rows of the job's parameters: the others are what they were
    indexed = {
        pk_: (version, index_rows(orjson.loads(content), local_base, job.params))
        for pk_, version, content in batch
    }
    with store.writing() as writer:
        writer.lock_key(f"search_jobs/{pk}")
        rows = writer.query("SELECT next_pk, finished FROM search_jobs WHERE pk = ?", [pk])
        if not rows or bool(rows[0][1]):
            return True
        if rows[0][0] != job.next_pk:
            return False  # another worker did this batch meanwhile
        writer.lock_key(REGISTRY_LOCK)
        if writer.registry_generation() != generation:
            # a SearchParameter changed since the rows were computed: rows of one gone
            # out of force would stay behind; compute the batch again
            return False
        if indexed:
            marks = ", ".join("?" for _ in indexed)
            current = writer.query(
                f"SELECT pk, version FROM resources WHERE pk IN ({marks}) AND deleted = ?",
                [*indexed, False],
            )
            for pk_, version in current:
                if indexed[pk_][0] == version:
                    writer.replace_index(pk_, indexed[pk_][1], job.params)
        finished = len(batch) < BATCH
        done = job.done + len(batch)
        # resources created meanwhile are walked too: the total grows to what was done
        total = max(job.total, done)
        writer.execute(
            "UPDATE search_jobs SET next_pk = ?, done = ?, total = ?, finished = ? WHERE pk = ?",
            [batch[-1][0] if batch else job.next_pk, done, total, finished, pk],
        )
    return finished


def run(store: Store, refresh: Refresh | None = None, local_base: str | None = None) -> None:
    """Carry out every unfinished job; `local_base` as for `index_rows`."""
    with store.reading() as reader:
        jobs = pending(reader)
    if not jobs:
        return
    with store.writing() as writer:
        # writes that began before a parameter changed may still write rows computed
        # without it: they end before the walk starts, so it covers what they wrote
        writer.wait_for_writers()
    for job in jobs:
        while not _step(store, job.pk, refresh, local_base):
            pass
        log.info("search index rebuild %s finished (%s resources)", job.pk, job.total)


class Runner:
    """One background thread per store that carries out the unfinished jobs; `kick`
    starts it, or has it look again once done."""

    def __init__(
        self,
        store: Store,
        refresh: Refresh,
        enabled: bool = True,
        local_base: str | None = None,
    ) -> None:
        self.store = store
        self.refresh = refresh
        self.local_base = local_base
        self.enabled = enabled  # False: kicks do nothing, someone else calls `run`
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def kick(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._work, name="ember-reindex", daemon=True)
            self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the work kicked so far (tests, `ember load`)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            try:
                run(self.store, self.refresh, self.local_base)
            except Exception:  # the store closed or failed: the job resumes on the next start
                log.exception("search index rebuild interrupted")
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False
