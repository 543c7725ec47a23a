"""A small, efficient HTTP/1.1 load generator over keep-alive connections (asyncio
streams), so the client takes little of the CPU the server under test needs."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

Request = tuple[str, str, bytes]  # method, path, body


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]
    concurrency: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

    def summary(self) -> dict[str, object]:
        return {
            "scenario": self.name,
            "load_generator": "loadgen.py",
            "concurrency": self.concurrency,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.percentile(0.50), 2),
            "p95_ms": round(self.percentile(0.95), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2),
            "statuses": self.statuses,
        }


async def _one(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    request: Request,
    extra_headers: str,
) -> tuple[int, bytes]:
    method, path, body = request
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/fhir+json\r\n"
        f"Content-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n"
        f"{extra_headers}\r\n"
    )
    writer.write(head.encode() + body)
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    payload = await reader.readexactly(length) if length else b""
    return status, payload


async def run(
    name: str,
    host: str,
    port: int,
    requests: Callable[[int], Request],
    total: int,
    concurrency: int,
    on_response: Callable[[int, bytes], None] | None = None,
    headers: dict[str, str] | None = None,
    max_seconds: float = float("inf"),
) -> Result:
    """Send `total` requests (the n-th is requests(n)) over `concurrency` connections,
    each with the extra `headers`; after `max_seconds` no new request starts, so a slow
    scenario reports what it managed instead of holding up the run."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in counter:
                if time.perf_counter() > stop_at:
                    break
                request = requests(n)
                started = time.perf_counter()
                status, payload = await _one(reader, writer, f"{host}:{port}", request, extra)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                if on_response is not None:
                    on_response(status, payload)
        finally:
            writer.close()

    started = time.perf_counter()
    stop_at = started + max_seconds
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return Result(name, len(latencies), seconds, latencies, statuses, concurrency)
