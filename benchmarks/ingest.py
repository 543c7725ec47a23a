"""Ingest of transaction Bundles over HTTP (resources/s), on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/ingest.py [--patients N] [--seed S] [--concurrency C]
        [--workers W] [--backends sqlite,postgresql]

Bundles come from `carebundle` (deterministic R4 transaction Bundles, installed by
`pip install -e '.[bench]'`), generated once and cached under benchmarks/.cache/.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from harness import ROOT, database, machine, print_row, server, write_result
from loadgen import run

CACHE = ROOT / "benchmarks" / ".cache"


def carebundle_bundles(patients: int, seed: int) -> list[bytes]:
    folder = CACHE / f"carebundle-mixed-{patients}-{seed}"
    if not folder.exists():
        tool = ROOT / ".venv" / "bin" / "carebundle"
        subprocess.run(
            [
                str(tool),
                "generate",
                "--profile",
                "mixed",
                "--count",
                str(patients),
                "--seed",
                str(seed),
                "--out",
                str(folder),
            ],
            check=True,
        )
    return [path.read_bytes() for path in sorted(folder.glob("*.json"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    bundles = carebundle_bundles(args.patients, args.seed)
    resources = sum(len(orjson.loads(b)["entry"]) for b in bundles)
    report: dict = {
        "machine": machine(),
        "args": vars(args),
        "bundles": len(bundles),
        "resources": resources,
        "results": {},
    }
    print(f"machine: {report['machine']}; {len(bundles)} bundles, {resources} resources")
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            with database(backend, folder) as url, server(url, args.workers) as port:
                result = asyncio.run(
                    run(
                        "ingest",
                        "127.0.0.1",
                        port,
                        lambda n: ("POST", "/fhir", bundles[n]),
                        len(bundles),
                        args.concurrency,
                    )
                )
            summary = result.summary()
            summary["resources_per_second"] = round(resources / result.seconds, 1)
            report["results"][backend] = summary
            print_row(backend, summary, "res/s", lambda s: s["resources_per_second"])
    print(f"written {write_result('ingest', report)}")


if __name__ == "__main__":
    main()
