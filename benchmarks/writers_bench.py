"""Writers from several processes at once, through the engine (no HTTP): how long a write
waits for the database's write lock, how long it holds it, and what each operation costs.

    .venv/bin/python benchmarks/writers_bench.py [--backends sqlite,postgresql]
        [--processes 2] [--threads 16] [--operations 2000] [--patients 200]

Like `ember serve --workers 2`: each process runs `--threads` threads (a server's thread
pool) doing the CRUD mix of scenarios.py on a shared set of Patients (25 % create, 40 %
read, 25 % update, 10 % delete), `--operations` in all per process. Every write
transaction is timed from asking for it to its first statement (the wait: the write
lock, or a pooled connection) and from there to its commit (the hold). The wait and hold
are measured where they happen, so the figures do not depend on the load generator or on
HTTP; CPU time is the processes' own (time.process_time).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from harness import database, machine

from ember.config import Settings
from ember.engine.errors import FhirError
from ember.engine.interactions import Engine
from ember.store import Store, open_store


def _patient(n: int, id_: str | None = None) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:ember:bench", "value": f"W{n}"}],
        "name": [{"family": f"Writer{n}", "given": ["Bench"]}],
        "gender": "female",
        "birthDate": "1970-01-01",
    }
    if id_ is not None:
        patient["id"] = id_
    return patient


def _timed(store: Store, waits: list[float], holds: list[float]) -> None:
    """Time each write transaction of the store: the wait until its body runs, the hold
    until it has committed (less a checkpoint run after the write lock is let go)."""
    writing = store.writing
    after = threading.local()  # this thread's last checkpoint, in seconds
    checkpoint = getattr(store, "_checkpoint", None)
    if checkpoint is not None:

        def timed_checkpoint(*args: Any) -> None:
            started = time.perf_counter()
            checkpoint(*args)
            after.seconds = time.perf_counter() - started

        store._checkpoint = timed_checkpoint  # type: ignore[attr-defined]

    @contextmanager
    def timed() -> Iterator[Any]:
        asked = got = time.perf_counter()
        try:
            with writing() as writer:
                got = time.perf_counter()
                waits.append(got - asked)
                after.seconds = 0.0
                yield writer
        finally:
            holds.append(time.perf_counter() - got - getattr(after, "seconds", 0.0))

    store.writing = timed  # type: ignore[method-assign]


def _worker(
    url: str, ids: list[str], args: argparse.Namespace, seed: int, start: Any, results: Any
) -> None:
    """One process: warmed up (validation compiles its rules on first use), then timed
    from the moment every process is ready."""
    store = open_store(url)
    engine = Engine(store, Settings(database_url=url))
    for n, id_ in enumerate(ids[:20]):
        engine.update("Patient", id_, _patient(n, id_))
    start.wait()
    waits: list[float] = []
    holds: list[float] = []
    latencies: list[float] = []
    errors: dict[int, int] = {}
    _timed(store, waits, holds)
    lock = threading.Lock()
    live = list(ids)
    left = [args.operations]

    def one(rng: random.Random, n: int) -> None:
        roll = rng.random()
        with lock:
            id_ = rng.choice(live)
        if roll < 0.25:
            engine.create("Patient", _patient(n))
        elif roll < 0.65:
            engine.read("Patient", id_)
        elif roll < 0.90:
            engine.update("Patient", id_, _patient(n, id_))
        else:
            engine.delete("Patient", id_)
            engine.update("Patient", id_, _patient(n, id_))  # back for the others

    def run(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
                n = left[0]
            started = time.perf_counter()
            try:
                one(rng, n)
            except FhirError as error:
                with lock:
                    errors[error.status] = errors.get(error.status, 0) + 1
            latencies.append(time.perf_counter() - started)

    cpu = time.process_time()
    started = time.perf_counter()
    pool = [threading.Thread(target=run, args=(i,)) for i in range(args.threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    store.close()
    results.put(
        {
            "waits": waits,
            "holds": holds,
            "latencies": latencies,
            "errors": errors,
            "seconds": seconds,
            "cpu": cpu,
        }
    )


def _ms(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


def _describe(name: str, values: list[float]) -> str:
    return (
        f"{name} p50 {_ms(values, 0.5):7.2f} p95 {_ms(values, 0.95):7.2f} "
        f"p99 {_ms(values, 0.99):7.2f} max {_ms(values, 1.0):7.1f} ms "
        f"(sum {sum(values):6.2f} s)"
    )


def bench(url: str, args: argparse.Namespace) -> dict[str, Any]:
    store = open_store(url)
    engine = Engine(store, Settings(database_url=url))
    ids = [engine.create("Patient", _patient(n)).stored.id for n in range(args.patients)]
    store.close()
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(args.processes), context.Queue()
    processes = [
        context.Process(target=_worker, args=(url, ids, args, seed, start, results))
        for seed in range(args.processes)
    ]
    for process in processes:
        process.start()
    parts = [results.get() for _ in processes]
    for process in processes:
        process.join()
    merged: dict[str, Any] = {k: [] for k in ("waits", "holds", "latencies")}
    errors: dict[int, int] = {}
    for part in parts:
        for key in merged:
            merged[key].extend(part[key])
        for status, n in part["errors"].items():
            errors[status] = errors.get(status, 0) + n
    seconds = max(part["seconds"] for part in parts)
    operations = args.processes * args.operations
    return {
        **merged,
        "errors": errors,
        "per_second": operations / seconds,
        "cpu_ms_per_operation": 1000 * sum(p["cpu"] for p in parts) / operations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--operations", type=int, default=2000, help="per process")
    parser.add_argument("--patients", type=int, default=200)
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info['cores']} cores; {args.processes} processes x {args.threads} threads")
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            with database(backend, folder) as url:
                result = bench(url, args)
            print(
                f"{backend:10} {result['per_second']:7.1f} op/s  "
                f"cpu {result['cpu_ms_per_operation']:.2f} ms/op  errors {result['errors']}"
            )
            print(f"{'':10} {_describe('wait', result['waits'])}")
            print(f"{'':10} {_describe('hold', result['holds'])}")
            print(f"{'':10} {_describe('op  ', result['latencies'])}")
            print(
                f"{'':10} writes {len(result['holds'])}, mean hold "
                f"{1000 * statistics.fmean(result['holds']):.2f} ms"
            )


if __name__ == "__main__":
    main()
