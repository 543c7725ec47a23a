"""The CPU cost of a write, per resource and by phase, as `ember load` pays it.

    .venv/bin/python benchmarks/write_bench.py [--backend sqlite|postgresql|both]
        [--synthea-patients N] [--carebundle-patients N] [--profile]

Loads the synthea and carebundle data sets of data.py (transaction Bundles) through
the loader of `ember load` in this process (one worker, a fresh database per data set)
and prints the CPU time (`time.process_time`, this process only: a PostgreSQL server's
own work is not counted) per resource written, split by phase. Each phase is the time
spent in its functions less the phases nested in them:

    parse       the duplicate-safe JSON parse of the file
    structure   validate_resource: elements, datatypes, cardinality, extensions
    rules       the base invariants and bindings
    profiles    the profiles claimed in meta.profile
    index       the search index rows (without full text)
    fulltext    the words of _text/_content
    serialise   the stored JSON
    store       the store's writes of versions and index rows (ember's side of the SQL)
    other       the rest: bundle handling, reference rewriting, reads, commits

The machine is shared: CPU time is steadier than wall time, yet compare several runs.
With --profile the whole run is profiled by pyinstrument too (the phase figures then
include its overhead), the profile written under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from data import dataset
from harness import ROOT, database

from ember.config import Settings
from ember.engine import batch, interactions
from ember.engine.interactions import Engine
from ember.fhir.formats import json as fhir_json
from ember.load.sources import BundleFile
from ember.load.writer import Loader
from ember.search import fulltext
from ember.store import open_store
from ember.store.sql import SQLSession

PHASES = (
    "parse", "structure", "rules", "profiles", "index", "fulltext", "serialise", "store",
)  # fmt: skip


class Phases:
    """Exclusive CPU time per phase: a phase's time excludes the phases called inside it."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self._stack: list[list[float]] = []  # [start, time of nested phases]

    def timed(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            frame = [time.process_time(), 0.0]
            self._stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                self._stack.pop()
                spent = time.process_time() - frame[0]
                self.seconds[phase] += spent - frame[1]
                if self._stack:
                    self._stack[-1][1] += spent

        return run


# (owner, attribute, phase): where the write path looks its phases up
_PATCHES: list[tuple[Any, str, str]] = [
    (fhir_json, "parse", "parse"),
    (interactions, "validate_resource", "structure"),
    (interactions, "check_rules", "rules"),
    (interactions, "check_claimed_profiles", "profiles"),
    (interactions, "index_rows", "index"),
    (batch, "index_rows", "index"),
    (fulltext, "document", "fulltext"),
    (fhir_json, "dumps", "serialise"),
    (SQLSession, "write_version", "store"),
    (SQLSession, "flush", "store"),
]


@contextmanager
def timing(phases: Phases) -> Iterator[None]:
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in _PATCHES]
    for (owner, name, phase), (_, _, original) in zip(_PATCHES, originals, strict=True):
        setattr(owner, name, phases.timed(phase, original))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def load(files: list[Path], url: str) -> tuple[int, float, Phases]:
    """Load the files: (resources written, CPU seconds in all, the phases)."""
    store = open_store(url)
    try:
        loader = Loader(Engine(store, Settings(database_url=url), background_jobs=False))
        # warm-up outside the timing: definitions, compiled expressions, plans
        warm = loader.load(BundleFile(str(files[0]), files[0].stat().st_size))
        if warm.failures:
            raise RuntimeError(f"load failed: {warm.failures[:3]}")
        phases, loaded = Phases(), 0
        with timing(phases):
            started = time.process_time()
            for path in files[1:]:
                result = loader.load(BundleFile(str(path), path.stat().st_size))
                if result.failures:
                    raise RuntimeError(f"load failed: {result.failures[:3]}")
                loaded += result.loaded
            spent = time.process_time() - started
    finally:
        store.close()
    return loaded, spent, phases


def report(label: str, loaded: int, spent: float, phases: Phases) -> None:
    per = {phase: 1e6 * seconds / loaded for phase, seconds in phases.seconds.items()}
    per["other"] = 1e6 * spent / loaded - sum(per.values())
    cells = " ".join(f"{per[p]:>9.0f}" for p in (*PHASES, "other"))
    print(f"{label:22} {loaded:>7} {1e6 * spent / loaded:>7.0f} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--synthea-patients", type=int, default=4)
    parser.add_argument("--carebundle-patients", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="profile with pyinstrument")
    args = parser.parse_args()
    sets = [
        dataset("synthea", args.synthea_patients, 42),
        dataset("carebundle", args.carebundle_patients, 42),
    ]
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    heading = " ".join(f"{p:>9}" for p in (*PHASES, "other"))
    print(f"{'µs CPU per resource':22} {'res':>7} {'total':>7} {heading}")
    for backend in backends:
        for data in sets:
            files = [p for p in data.files if p.suffix == ".json"]
            with tempfile.TemporaryDirectory() as folder, database(backend, folder) as url:
                if args.profile:
                    from pyinstrument import Profiler

                    with Profiler() as profiler:
                        loaded, spent, phases = load(files, url)
                    out = ROOT / "benchmarks" / "results"
                    out.mkdir(parents=True, exist_ok=True)
                    path = out / f"profile-write-{data.source}-{backend}.txt"
                    path.write_text(profiler.output_text(color=False))
                    print(f"profile: {path}")
                else:
                    loaded, spent, phases = load(files, url)
            report(f"{backend} {data.source}", loaded, spent, phases)


if __name__ == "__main__":
    main()
