"""What custom search parameters and full text cost on the hot paths, in-process.

    .venv/bin/python benchmarks/search_params_bench.py [--postgres URL] [--repeat 5]

Over the 734 R4 spec examples (../shared/testdata/examples/r4), prints:
- index extraction per resource, and the part of it full text (`_text`, `_content`) takes,
  over the examples and for a small Observation and Patient;
- writing a resource with its index rows, with and without the full-text row, per backend;
- the registry generation check every search (and, with the advisory lock on PostgreSQL,
  every write transaction) makes, next to a read by id for scale;
- the rate of a background rebuild (`search_jobs`) over everything written.
Each figure is the best of `--repeat` runs (the machine is shared: the minimum is the
least disturbed one).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ember.engine.search_parameters import Registry  # noqa: E402
from ember.search import fulltext, reindex  # noqa: E402
from ember.search.index import index_rows  # noqa: E402
from ember.store import Store, StoredVersion, open_store  # noqa: E402

EXAMPLES = ROOT.parent / "shared" / "testdata" / "examples" / "r4"


def best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def extraction(what: str, resources: list[dict], repeat: int) -> None:
    every = best(repeat, lambda: [index_rows(r) for r in resources])
    text = best(repeat, lambda: [fulltext.document(r) for r in resources])
    n = len(resources)
    print(
        f"extraction ({what}): {every / n * 1e6:.0f} µs per resource, of which full text "
        f"{text / n * 1e6:.0f} µs ({text / every:.0%})"
    )


def small(resources: list[dict], type_: str) -> dict:
    """The first example of a type under 2,000 bytes: a typical small resource."""
    return next(r for r in resources if r["resourceType"] == type_ and len(orjson.dumps(r)) < 2000)


def writes(url: str, resources: list[dict], repeat: int) -> None:
    rows = [index_rows(r) for r in resources]
    store = open_store(url)
    try:

        def write(with_text: bool, round_: list[int]) -> None:
            round_[0] += 1
            with store.writing() as writer:
                for n, (resource, index) in enumerate(zip(resources, rows, strict=True)):
                    content = orjson.dumps(resource)
                    version = StoredVersion(
                        resource["resourceType"], f"b{round_[0]}-{n}", 1, 0, "PUT", content
                    )
                    writer.write_version(
                        None, version, index if with_text else replace(index, fulltext=None)
                    )

        counter = [int(time.time())]  # ids unique across runs on one database
        plain = best(repeat, lambda: write(False, counter))
        text = best(repeat, lambda: write(True, counter))
        n = len(resources)
        print(
            f"{store.dialect}: write with index rows {plain / n * 1e6:.0f} µs per resource, "
            f"with the full-text row {text / n * 1e6:.0f} µs (+{text / plain - 1:.0%})"
        )
        generation_checks(store, repeat)
        rebuild(store, url)
    finally:
        store.close()


def rebuild(store: Store, url: str) -> None:
    """Rebuilds over every resource of the store (after the writes above), timed: of every
    parameter, and of one (as a new custom parameter's rebuild is)."""
    with store.reading() as reader:
        total = reader.query("SELECT COUNT(*) FROM resources WHERE deleted = ?", [False])[0][0]
    for params in (None, ["identifier"]):
        with store.writing() as writer:
            reindex.start(writer, params)
        started = time.perf_counter()
        reindex.run(store, Registry().sync)
        rate = total / (time.perf_counter() - started)
        what = "every parameter" if params is None else f"one parameter ({params[0]})"
        print(f"{store.dialect}: rebuild of {what} over {total} resources: {rate:.0f}/s")


def generation_checks(store: Store, repeat: int) -> None:
    calls = 2000
    with store.reading() as reader:
        check = best(repeat, lambda: [reader.registry_generation() for _ in range(calls)])
        read = best(repeat, lambda: [reader.current("Patient", "example") for _ in range(calls)])
    with store.writing() as writer:
        shared = best(repeat, lambda: [writer.share_registry() for _ in range(calls)])
    print(
        f"{store.dialect}: generation check {check / calls * 1e6:.1f} µs "
        f"(in a write transaction, with the lock: {shared / calls * 1e6:.1f} µs); "
        f"a read by id for scale: {read / calls * 1e6:.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/ember_bench")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    resources = [orjson.loads(p.read_bytes()) for p in sorted(EXAMPLES.glob("*.json"))]
    print(f"{len(resources)} resources from {EXAMPLES}")
    extraction("spec examples", resources, args.repeat)
    for type_ in ("Observation", "Patient"):
        extraction(f"a small {type_}", [small(resources, type_)] * 500, args.repeat)
    with tempfile.TemporaryDirectory() as folder:
        writes(f"sqlite:///{folder}/bench.db", resources, args.repeat)
    if args.postgres:
        writes(args.postgres, resources, args.repeat)


if __name__ == "__main__":
    main()
