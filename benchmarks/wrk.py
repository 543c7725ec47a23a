"""GET requests driven by wrk (Debian's `wrk` package), when it is installed: a C load
generator that takes far less of the CPU the server under test needs than loadgen.py
(it matters on a 2-core machine). The paths are drawn at random (fixed seed) from a list
a Lua script reads; latencies come from wrk's own histogram.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The Lua script: paths from the file named after `--`, one a line; one JSON line at the end.
_SCRIPT = """
local paths = {}
wrk.headers["Accept"] = "application/fhir+json"

init = function(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  math.randomseed(7)
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "EMBER-WRK {\\"requests\\": %d, \\"microseconds\\": %d, \\"non_2xx_3xx\\": %d, "
      .. "\\"socket_errors\\": %d, \\"p50\\": %d, \\"p95\\": %d, \\"p99\\": %d, "
      .. "\\"mean\\": %.1f}\\n",
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""
_MARK = "EMBER-WRK "


def available() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class WrkResult:
    name: str
    concurrency: int
    counts: dict[str, float]  # what the script's done() wrote; latencies in µs

    @property
    def per_second(self) -> float:
        return self.counts["requests"] / (self.counts["microseconds"] / 1e6)

    def summary(self) -> dict[str, object]:
        c = self.counts
        failed = int(c["non_2xx_3xx"])
        return {
            "scenario": self.name,
            "load_generator": "wrk",
            "concurrency": self.concurrency,
            "requests": int(c["requests"]),
            "seconds": round(c["microseconds"] / 1e6, 3),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(c["p50"] / 1000, 2),
            "p95_ms": round(c["p95"] / 1000, 2),
            "p99_ms": round(c["p99"] / 1000, 2),
            "mean_ms": round(c["mean"] / 1000, 2),
            # wrk counts responses by class only; socket errors are not responses
            "statuses": {"2xx-3xx": int(c["requests"]) - failed, "other": failed},
            "socket_errors": int(c["socket_errors"]),
        }


def run(
    name: str, host: str, port: int, paths: list[str], concurrency: int, seconds: int
) -> WrkResult:
    """GET random `paths` over `concurrency` keep-alive connections for `seconds`, from
    one wrk thread (enough for tens of thousands of requests a second)."""
    with tempfile.TemporaryDirectory() as folder:
        script, listed = Path(folder) / "paths.lua", Path(folder) / "paths.txt"
        script.write_text(_SCRIPT)
        listed.write_text("\n".join(paths) + "\n")
        command = [
            *("wrk", "--threads", "1", "--connections", str(concurrency)),
            *("--duration", f"{seconds}s", "--timeout", "10s", "--script", str(script)),
            *(f"http://{host}:{port}", "--", str(listed)),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if not lines:
        raise RuntimeError(f"wrk wrote no summary: {done.stdout}{done.stderr}")
    return WrkResult(name, concurrency, json.loads(lines[-1][len(_MARK) :]))
