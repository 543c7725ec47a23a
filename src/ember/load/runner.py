"""Running a load: units of work spread over worker processes, with a progress bar.

Each worker has its own engine and database connection. Validation and indexing (the
CPU-heavy part) run in parallel; the database serialises the writes where it must
(SQLite has one writer at a time). Files are independent units, so parallel loading is
safe unless two files write the same resource id, whose final version is then either.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import util

from tqdm import tqdm

from ember.config import Settings
from ember.engine.interactions import Engine
from ember.engine.search_parameters import Registry
from ember.load.sources import Unit, find_files, units
from ember.load.writer import Failure, Loader, UnitResult
from ember.search import reindex
from ember.store import open_store


@dataclass(slots=True)
class Summary:
    files: int = 0
    loaded: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def per_second(self) -> float:
        return self.loaded / self.seconds if self.seconds else 0.0

    @property
    def failed_files(self) -> int:
        return len({f.path for f in self.failures})


def load_paths(
    paths: Sequence[str], settings: Settings, workers: int = 1, progress: bool | None = None
) -> Summary:
    """Load every Bundle and NDJSON file the paths name. `progress` None: a progress bar
    only on a terminal."""
    started = time.perf_counter()
    files, problems = find_files(paths)
    summary = Summary(files=len(files), failures=[Failure(p, "", m) for p, m in problems])
    total = sum(f.stat().st_size for f in files)
    # disable=None: a bar only when stderr is a terminal.
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc="loading",
        disable=None if progress is None else not progress,
    )

    def record(result: UnitResult) -> None:
        summary.loaded += result.loaded
        summary.by_type.update(result.by_type)
        summary.failures.extend(result.failures)
        bar.update(result.size)
        elapsed = time.perf_counter() - started
        bar.set_postfix(
            {
                "resources": summary.loaded,
                "res/s": round(summary.loaded / elapsed) if elapsed else 0,
                "failed": len(summary.failures),
            },
            refresh=False,
        )

    # Create or migrate the schema once, before several workers could race to do it.
    open_store(settings.database_url).close()
    if workers <= 1:
        _in_process(units(files), settings, record)
    else:
        _in_processes(units(files), settings, workers, record)
    bar.close()
    # rebuilds due to SearchParameters loaded: done before returning, so the data is
    # searchable as soon as the command ends; then the planner learns the new sizes
    store = open_store(settings.database_url)
    try:
        reindex.follow_fulltext_setting(store, settings.fulltext)
        reindex.run(store, Registry().sync, settings.base_url)
        if summary.loaded:
            store.refresh_statistics()
    finally:
        store.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _in_process(
    work: Iterable[Unit], settings: Settings, record: Callable[[UnitResult], None]
) -> None:
    store = open_store(settings.database_url)
    try:
        loader = Loader(Engine(store, settings, background_jobs=False))
        for unit in work:
            record(loader.load(unit))
    finally:
        store.close()


# -- worker processes ------------------------------------------------------------------

_loader: Loader | None = None


def _start_worker(settings: Settings) -> None:
    global _loader
    store = open_store(settings.database_url)
    util.Finalize(None, store.close, exitpriority=10)  # run as the worker exits
    _loader = Loader(Engine(store, settings, background_jobs=False))


def _load_in_worker(unit: Unit) -> UnitResult:
    assert _loader is not None
    return _loader.load(unit)


def _in_processes(
    work: Iterable[Unit], settings: Settings, workers: int, record: Callable[[UnitResult], None]
) -> None:
    # spawn: workers must not inherit the parent's connections or threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(settings,)
    ) as pool:
        for result in _bounded(pool, work, 2 * workers):
            record(result)


def _bounded(pool: ProcessPoolExecutor, work: Iterable[Unit], limit: int) -> Iterator[UnitResult]:
    """Results as they complete, with at most `limit` units in flight, so a large NDJSON
    file is never held in memory whole."""
    pending: set[Future[UnitResult]] = set()
    for unit in work:
        if len(pending) >= limit:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)
        pending.add(pool.submit(_load_in_worker, unit))
    for future in pending:
        yield future.result()
