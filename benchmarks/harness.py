"""What every benchmark needs: a fresh database per backend, an `ember serve` process
on a free port, the machine's description and a JSON result file."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "testdata"
POSTGRES = os.environ.get("EMBER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")


def machine() -> dict[str, Any]:
    pages = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(pages / 2**30),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(backend: str, folder: str) -> Iterator[str]:
    """A fresh, empty database URL for a backend, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder}/bench-{uuid.uuid4().hex[:8]}.db"
        return
    name = f"ember_bench_{uuid.uuid4().hex[:8]}"
    admin = POSTGRES.rstrip("/") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES.rstrip("/") + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(database_url: str, workers: int, wrapper: Sequence[str] = ()) -> Iterator[int]:
    """`ember serve` on a free port (run by `wrapper`, a profiler say); yields the port
    once /metadata answers."""
    port = _free_port()
    env = {**os.environ, "EMBER_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [
            *wrapper,
            str(ROOT / ".venv" / "bin" / "ember"),
            "serve",
            "--port",
            str(port),
            "--database",
            database_url,
            "--workers",
            str(workers),
        ],
        env=env,
        start_new_session=True,  # its own process group: the workers can be stopped with it
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        # SIGINT: uvicorn shuts down cleanly and the process ends normally, so a profiler
        # reports (after SIGTERM, uvicorn re-raises the signal and the process just dies).
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # stuck in a request: stop it and its workers
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def write_result(name: str, report: dict[str, Any]) -> Path:
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    return path


def print_row(
    backend: str,
    summary: dict[str, Any],
    unit: str = "req/s",
    rate: Callable[[dict[str, Any]], float] | None = None,
) -> None:
    value = rate(summary) if rate else summary["per_second"]
    print(
        f"{backend:10} {summary['scenario']:10} {value:9.1f} {unit}  "
        f"p50 {summary['p50_ms']:7.2f} ms  p95 {summary['p95_ms']:7.2f} ms  "
        f"p99 {summary['p99_ms']:7.2f} ms  statuses {summary['statuses']}"
    )
