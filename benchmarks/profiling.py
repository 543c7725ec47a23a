"""Where the time goes: a profile of the read path or of `ember load`.

    .venv/bin/python benchmarks/profiling.py read [--backend B] [--requests N] [--py-spy]
    .venv/bin/python benchmarks/profiling.py load [--backend B]
    .venv/bin/python benchmarks/profiling.py asgi [--backend B] [--requests N] [--concurrency C]

`--database URL` (read, asgi) profiles a database loaded before instead of a fresh one.

Data: the synthea and carebundle sets of data.py (small by default). `read` loads them
with `ember load`, then runs the read scenario against `ember serve` (one worker) under
pyinstrument (the event loop's thread only), or under py-spy (every thread, native code
included: collapsed stacks for a flame graph, and the functions with the most samples
of their own printed); `load` profiles `ember load` in one process with pyinstrument;
`asgi` calls the ASGI app directly for the reads, `--concurrency` at a time (no HTTP
server, no load generator, so the CPU time per read is the app's own, whatever else the
machine is doing): timed without a profiler first (best of 5 rounds), then profiled.
The profile is written under benchmarks/results/ and its path printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from data import dataset
from harness import ROOT, database, print_row, server
from scenarios import Corpus, read

from ember.api.app import create_app
from ember.config import Settings
from ember.engine.interactions import Engine
from ember.load import load_paths
from ember.store import HistoryQuery, open_store


def _output(what: str, backend: str) -> Path:
    folder = ROOT / "benchmarks" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"profile-{what}-{backend}-{time.strftime('%Y%m%d-%H%M%S')}.txt"


def _own_time(collapsed: Path, top: int = 25) -> str:
    """The functions whose own samples (innermost frame) are most numerous."""
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        own[stack.rpartition(";")[2]] += int(samples)
        total += int(samples)
    return "\n".join(f"{100 * n / total:5.1f} %  {frame}" for frame, n in own.most_common(top))


def _ids(url: str) -> dict[str, list[str]]:
    store = open_store(url)
    try:
        engine = Engine(store, Settings(database_url=url))
        versions = engine.history(HistoryQuery(count=5000))
    finally:
        store.close()
    ids: dict[str, list[str]] = {}
    for version in versions:
        ids.setdefault(version.type, []).append(version.id)
    return ids


# Timed rounds of the asgi mode: the best one is the least disturbed by other processes.
_ROUNDS = 5


async def _run_reads(read: Callable[[int], Awaitable[None]], total: int, concurrency: int) -> None:
    """`total` reads, `concurrency` of them under way at a time."""
    counter = iter(range(total))

    async def reader() -> None:
        for n in counter:
            await read(n)

    await asyncio.gather(*(reader() for _ in range(concurrency)))


async def _asgi_reads(
    settings: Settings, ids: dict[str, list[str]], requests: int, concurrency: int, out: Path
) -> None:
    """Reads by id straight into the ASGI app: timed without a profiler (CPU time, best
    of several rounds), then once under pyinstrument."""
    from pyinstrument import Profiler

    app = create_app(settings)
    startup: asyncio.Queue[dict] = asyncio.Queue()
    started = asyncio.Event()

    async def lifespan_send(message: dict) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    await startup.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan"}, startup.get, lifespan_send))
    await started.wait()
    everything = [(t, i) for t, some in ids.items() for i in some]

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"read answered {message['status']}")

    async def read(n: int) -> None:
        type_, id_ = everything[n % len(everything)]
        path = f"/fhir/{type_}/{id_}"
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "scheme": "http",
            "server": ("127.0.0.1", 8080),
            "headers": [(b"host", b"127.0.0.1:8080"), (b"accept", b"application/fhir+json")],
        }
        await app(scope, receive, send)

    await _run_reads(read, min(1000, requests), concurrency)  # warm-up
    rounds = []
    for _ in range(_ROUNDS):
        cpu, wall = time.process_time(), time.perf_counter()
        await _run_reads(read, requests, concurrency)
        rounds.append((time.process_time() - cpu, time.perf_counter() - wall))
    cpu, wall = min(rounds)
    print(
        f"{requests} reads, {concurrency} at a time, best of {_ROUNDS}: "
        f"{1e6 * cpu / requests:.1f} µs CPU each (this process, all threads), "
        f"{requests / wall:.0f} reads/s"
    )
    with Profiler(async_mode="disabled") as profiler:
        await _run_reads(read, requests, concurrency)
    out.write_text(profiler.output_text(color=False))
    await startup.put({"type": "lifespan.shutdown"})
    await lifespan


@contextmanager
def _database(args: argparse.Namespace, folder: str) -> Iterator[tuple[str, bool]]:
    """(URL, already loaded): the one --database names, else a fresh one."""
    if args.database and args.what != "load":
        yield args.database, True
        return
    with database(args.backend, folder) as url:
        yield url, False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("read", "load", "asgi"))
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--synthea-patients", type=int, default=3)
    parser.add_argument("--carebundle-patients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--py-spy", action="store_true", help="py-spy instead of pyinstrument")
    parser.add_argument(
        "--database", help="read/asgi: a database already loaded (its URL), kept as it is"
    )
    args = parser.parse_args()
    folders = [
        str(dataset("synthea", args.synthea_patients, 42).folder),
        str(dataset("carebundle", args.carebundle_patients, 42).folder),
    ]
    out = _output(args.what + ("-py-spy" if args.py_spy else ""), args.backend)
    with tempfile.TemporaryDirectory() as folder, _database(args, folder) as (url, loaded):
        settings = Settings(database_url=url)
        if args.what != "load" and not loaded:
            load_paths(folders, settings, workers=2, progress=False)
        if args.what == "load":
            from pyinstrument import Profiler

            with Profiler() as profiler:
                summary = load_paths(folders, settings, workers=1, progress=False)
            out.write_text(profiler.output_text(color=False))
            print(f"{summary.loaded} resources at {summary.per_second:.0f} res/s")
        elif args.what == "asgi":
            asyncio.run(_asgi_reads(settings, _ids(url), args.requests, args.concurrency, out))
        else:
            corpus = Corpus([], 0, args.concurrency, ids=_ids(url))
            tools = ROOT / ".venv" / "bin"
            wrapper = (
                [
                    *(str(tools / "py-spy"), "record", "--threads", "-r", "100"),
                    *("-f", "raw", "-o", str(out), "--"),
                ]
                if args.py_spy
                else [str(tools / "pyinstrument"), "-r", "text", "-o", str(out)]
            )
            with server(url, 1, wrapper) as port:
                result = asyncio.run(read(port, corpus, args.requests))
            print_row(args.backend, result.summary())
            if args.py_spy:
                print(_own_time(out))
    print(f"profile written to {out}")


if __name__ == "__main__":
    main()
