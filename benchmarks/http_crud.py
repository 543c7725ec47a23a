"""Create and read throughput over HTTP, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/http_crud.py [--creates N] [--reads N] [--concurrency C]
        [--workers W] [--backends sqlite,postgresql]

For each backend: a fresh database and `ember serve`; POSTs realistic Patients, then
reads them back by id at random. Prints requests/s and p50/p95/p99 and writes a JSON
result file under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from harness import SHARED, database, machine, print_row, server, write_result
from loadgen import Result, run

EXAMPLE = SHARED / "examples" / "r4" / "Patient-example.json"


def _patient_template() -> dict:
    patient = orjson.loads(EXAMPLE.read_bytes())
    patient.pop("id", None)
    return patient


async def _scenarios(port: int, creates: int, reads: int, concurrency: int) -> list[Result]:
    template = _patient_template()
    ids: list[str] = []

    def create(n: int) -> tuple[str, str, bytes]:
        body = dict(template, identifier=[{"system": "urn:bench", "value": str(n)}])
        return "POST", "/fhir/Patient", orjson.dumps(body)

    def remember(status: int, payload: bytes) -> None:
        if status == 201:
            ids.append(orjson.loads(payload)["id"])

    created = await run("create", "127.0.0.1", port, create, creates, concurrency, remember)
    rng = random.Random(7)

    def read(n: int) -> tuple[str, str, bytes]:
        return "GET", f"/fhir/Patient/{rng.choice(ids)}", b""

    await run("warm-up", "127.0.0.1", port, read, min(1000, reads), concurrency)
    read_result = await run("read", "127.0.0.1", port, read, reads, concurrency)
    return [created, read_result]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--creates", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    report: dict = {"machine": machine(), "args": vars(args), "results": {}}
    print(f"machine: {report['machine']}; workers={args.workers} concurrency={args.concurrency}")
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            with database(backend, folder) as url, server(url, args.workers) as port:
                results = asyncio.run(_scenarios(port, args.creates, args.reads, args.concurrency))
            report["results"][backend] = [r.summary() for r in results]
            for result in results:
                print_row(backend, result.summary())
    print(f"written {write_result('http_crud', report)}")


if __name__ == "__main__":
    main()
