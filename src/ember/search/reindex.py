"""Index rebuilds as jobs whose state lives in the database (table `search_jobs`).

A job walks the live resources in pk order, a batch per write transaction, and records
how far it got, so it resumes after a restart. Rebuilding a resource's rows is
idempotent, so two workers running the same job only duplicate work. Until a job is
finished, searches it concerns carry a warning instead of silently partial results.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from ember.fhir.issues import Issue
from ember.search.index import index_rows
from ember.store.base import Reader, Store

log = logging.getLogger(__name__)

BATCH = 200


@dataclass(frozen=True, slots=True)
class Job:
    pk: int
    params: tuple[str, ...] | None  # codes being reindexed; None: every parameter
    next_pk: int
    done: int
    total: int


def pending(reader: Reader) -> list[Job]:
    rows = reader.query(
        "SELECT pk, params, next_pk, done, total FROM search_jobs WHERE finished = ? ORDER BY pk",
        [False],
    )
    return [
        Job(row[0], tuple(json.loads(row[1])) if row[1] else None, row[2], row[3], row[4])
        for row in rows
    ]


def warnings(reader: Reader, codes: Iterable[str]) -> list[Issue]:
    """A warning per unfinished job that concerns any of the parameters searched with."""
    used = set(codes)
    return [
        Issue(
            "warning",
            "incomplete",
            f"The search index is being rebuilt ({job.done} of {job.total} resources done); "
            "results may be incomplete until it finishes",
            None,
        )
        for job in pending(reader)
        if job.params is None or used & set(job.params)
    ]


def start(store: Store, params: tuple[str, ...] | None = None) -> None:
    """Record a new job; `run` carries it out."""
    with store.writing() as writer:
        total = writer.query("SELECT COUNT(*) FROM resources WHERE deleted = ?", [False])
        writer.execute(
            "INSERT INTO search_jobs (params, next_pk, done, total, finished) "
            "VALUES (?, 0, 0, ?, ?)",
            [json.dumps(params) if params is not None else None, total[0][0], False],
        )


def _step(store: Store, job: Job, local_base: str | None = None) -> Job | None:
    """Reindex one batch; the job as it stands afterwards, None once finished."""
    with store.writing() as writer:
        batch = writer.current_after(job.next_pk, BATCH)
        for pk, content in batch:
            writer.replace_index(pk, index_rows(orjson.loads(content), local_base))
        finished = len(batch) < BATCH
        next_pk = batch[-1][0] if batch else job.next_pk
        done = job.done + len(batch)
        writer.execute(
            "UPDATE search_jobs SET next_pk = ?, done = ?, finished = ? WHERE pk = ?",
            [next_pk, done, finished, job.pk],
        )
    return None if finished else Job(job.pk, job.params, next_pk, done, job.total)


def run(store: Store, local_base: str | None = None) -> None:
    """Carry out every unfinished job; `local_base` as for `index_rows`."""
    with store.reading() as reader:
        jobs = pending(reader)
    for job in jobs:
        current: Job | None = job
        while current is not None:
            current = _step(store, current, local_base)
        log.info("search index rebuild %s finished (%s resources)", job.pk, job.total)


def run_in_background(store: Store, local_base: str | None = None) -> threading.Thread | None:
    """Start a thread for unfinished jobs, if there are any."""
    with store.reading() as reader:
        if not pending(reader):
            return None

    def work() -> None:
        try:
            run(store, local_base)
        except Exception:  # the store closed or failed: the job resumes on the next start
            log.exception("search index rebuild interrupted")

    thread = threading.Thread(target=work, name="ember-reindex", daemon=True)
    thread.start()
    return thread
