"""Create and read throughput over HTTP, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/http_crud.py [--creates N] [--reads N] [--concurrency C]
        [--workers W] [--backends sqlite,postgresql]

Starts `ember serve` for each backend on a fresh database, POSTs realistic Patients,
then reads them back by id at random; prints requests/s and p50/p95/p99 latencies
and writes a JSON result file under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import Result, run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT.parent / "shared" / "testdata" / "examples" / "r4" / "Patient-example.json"
POSTGRES = os.environ.get("EMBER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _patient_template() -> dict:
    if EXAMPLE.exists():
        patient = orjson.loads(EXAMPLE.read_bytes())
        patient.pop("id", None)
        return patient
    return {
        "resourceType": "Patient",
        "name": [{"family": "Chalmers", "given": ["Peter"]}],
        "gender": "male",
        "birthDate": "1974-12-25",
    }


class Server:
    def __init__(self, database_url: str, workers: int) -> None:
        self.port = _free_port()
        env = {**os.environ, "EMBER_LOG_LEVEL": "warning"}
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "ember"),
                "serve",
                "--port",
                str(self.port),
                "--database",
                database_url,
                "--workers",
                str(workers),
            ],
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/fhir/metadata", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _database(backend: str, folder: str) -> tuple[str, callable]:  # type: ignore[valid-type]
    if backend == "sqlite":
        return f"sqlite:///{folder}/bench.db", lambda: None
    name = f"ember_bench_{uuid.uuid4().hex[:8]}"
    admin = POSTGRES.rstrip("/") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return POSTGRES.rstrip("/") + f"/{name}", drop


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
    machine = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
    }
    print(f"machine: {machine}; workers={args.workers} concurrency={args.concurrency}")
    report = {"machine": machine, "args": vars(args), "results": {}}
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            url, drop = _database(backend, folder)
            server = Server(url, args.workers)
            try:
                results = asyncio.run(
                    _scenarios(server.port, args.creates, args.reads, args.concurrency)
                )
            finally:
                server.stop()
                drop()
            report["results"][backend] = [r.summary() for r in results]
            for r in results:
                s = r.summary()
                print(
                    f"{backend:10} {s['scenario']:7} {s['per_second']:9.1f} req/s  "
                    f"p50 {s['p50_ms']:6.2f} ms  p95 {s['p95_ms']:6.2f} ms  "
                    f"p99 {s['p99_ms']:6.2f} ms  statuses {s['statuses']}"
                )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"http_crud-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
