"""Where the time goes: pyinstrument over the read path or over `ember load`.

    .venv/bin/python benchmarks/profiling.py read [--backend B] [--requests N]
    .venv/bin/python benchmarks/profiling.py load [--backend B]

Data: the synthea and carebundle sets of data.py (small by default). `read` loads them
with `ember load`, then runs the read scenario against `ember serve` (one worker) under
pyinstrument; `load` profiles `ember load` itself in one process. The text profile is
written under benchmarks/results/ and its path printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from data import dataset
from harness import ROOT, database, print_row, server
from scenarios import Corpus, read

from ember.config import Settings
from ember.engine.interactions import Engine
from ember.load import load_paths
from ember.store import HistoryQuery, open_store


def _output(what: str, backend: str) -> Path:
    folder = ROOT / "benchmarks" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"profile-{what}-{backend}-{time.strftime('%Y%m%d-%H%M%S')}.txt"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("read", "load"))
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--synthea-patients", type=int, default=3)
    parser.add_argument("--carebundle-patients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    folders = [
        str(dataset("synthea", args.synthea_patients, 42).folder),
        str(dataset("carebundle", args.carebundle_patients, 42).folder),
    ]
    out = _output(args.what, args.backend)
    with tempfile.TemporaryDirectory() as folder, database(args.backend, folder) as url:
        settings = Settings(database_url=url)
        if args.what == "load":
            from pyinstrument import Profiler

            with Profiler() as profiler:
                summary = load_paths(folders, settings, workers=1, progress=False)
            out.write_text(profiler.output_text(color=False))
            print(f"{summary.loaded} resources at {summary.per_second:.0f} res/s")
        else:
            load_paths(folders, settings, workers=2, progress=False)
            corpus = Corpus([], 0, args.concurrency, ids=_ids(url))
            wrapper = [str(ROOT / ".venv" / "bin" / "pyinstrument"), "-r", "text", "-o", str(out)]
            with server(url, 1, wrapper) as port:
                result = asyncio.run(read(port, corpus, args.requests))
            print_row(args.backend, result.summary())
    print(f"profile written to {out}")


if __name__ == "__main__":
    main()
