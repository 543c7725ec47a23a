"""The HTTP scenarios, run in this order against one server and one database, so that
every scenario after `ingest` works on the ingested patient records:

    ingest   transaction Bundles POSTed to the base                       (resources/s)
    read     GET [type]/[id] of ingested resources, drawn at random
    crud     Patients: 25 % create, 40 % read, 25 % update, 10 % delete
    history  70 % instance history, 20 % type history, 10 % system history
    search   a search mix (patient's observations by code, names, conditions, dates)
    count    [type]?_summary=count, with and without criteria

Each takes the server's port, the shared `Corpus` and a request budget and returns the
load generator's result: loadgen.py's, or wrk's for `read` where wrk is installed.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
import wrk
from loadgen import Request, Result, run

HOST = "127.0.0.1"


@dataclass
class Corpus:
    """What the scenarios draw on: the bundles to ingest, then the ids the server gave."""

    bundles: list[bytes]
    resources: int
    concurrency: int
    max_seconds: float = float("inf")  # per scenario after ingest, which always completes
    read_seconds: int = 10  # of the read scenario, when wrk drives it
    ids: dict[str, list[str]] = field(default_factory=dict)  # by resource type
    codes: list[str] = field(default_factory=list)  # Observation codes, system|code
    families: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def all_ids(self) -> list[tuple[str, str]]:
        return [(type_, id_) for type_, ids in self.ids.items() for id_ in ids]

    def learn_from_bundles(self) -> None:
        codes: set[str] = set()
        families: set[str] = set()
        for bundle in self.bundles:
            for entry in orjson.loads(bundle).get("entry", []):
                resource = entry["resource"]
                if resource["resourceType"] == "Observation":
                    for coding in resource.get("code", {}).get("coding", [])[:1]:
                        codes.add(f"{coding.get('system')}|{coding.get('code')}")
                elif resource["resourceType"] == "Patient":
                    families.update(n["family"] for n in resource.get("name", []) if "family" in n)
        self.codes, self.families = sorted(codes), sorted(families)


Scenario = Callable[[int, Corpus, int], Awaitable[Result | wrk.WrkResult]]


async def ingest(port: int, corpus: Corpus, requests: int) -> Result:
    def remember(status: int, payload: bytes) -> None:
        if status != 200:
            return
        for entry in orjson.loads(payload).get("entry", []):
            location = entry.get("response", {}).get("location", "")
            type_, _, rest = location.partition("/")
            corpus.ids.setdefault(type_, []).append(rest.partition("/")[0])

    corpus.learn_from_bundles()
    return await run(
        "ingest",
        HOST,
        port,
        lambda n: ("POST", "/fhir", corpus.bundles[n]),
        len(corpus.bundles),
        min(corpus.concurrency, 4),  # bundles are large: a few at a time, like real feeds
        remember,
        {"Prefer": "return=minimal"},
    )


async def read(port: int, corpus: Corpus, requests: int) -> Result | wrk.WrkResult:
    """Driven by wrk for `corpus.read_seconds` where it is installed (it leaves the
    server more of the CPU), else by loadgen.py for `requests`."""
    paths = [f"/fhir/{type_}/{id_}" for type_, id_ in corpus.all_ids()]

    def request(n: int) -> Request:
        return "GET", corpus.rng.choice(paths), b""

    await run("warm-up", HOST, port, request, min(1000, requests), corpus.concurrency)
    if wrk.available():
        return wrk.run("read", HOST, port, paths, corpus.concurrency, corpus.read_seconds)
    return await run(
        "read", HOST, port, request, requests, corpus.concurrency, max_seconds=corpus.max_seconds
    )


def _patient_body(family: str, id_: str | None = None) -> bytes:
    patient: dict = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:ember:bench", "value": family}],
        "name": [{"family": family, "given": ["Bench"]}],
        "gender": "female",
        "birthDate": "1970-01-01",
    }
    if id_ is not None:
        patient["id"] = id_
    return orjson.dumps(patient)


async def crud(port: int, corpus: Corpus, requests: int) -> Result:
    live = list(corpus.ids.get("Patient", []))
    rng = corpus.rng

    def request(n: int) -> Request:
        roll = rng.random()
        if roll < 0.25 or len(live) < 10:
            return "POST", "/fhir/Patient", _patient_body(f"Crud{n}")
        if roll < 0.65:
            return "GET", f"/fhir/Patient/{rng.choice(live)}", b""
        if roll < 0.90:
            id_ = rng.choice(live)
            return "PUT", f"/fhir/Patient/{id_}", _patient_body(f"Crud{n}", id_)
        # Deleted ids leave the pool at once, so no later request is sent to one.
        id_ = live.pop(rng.randrange(len(live)))
        return "DELETE", f"/fhir/Patient/{id_}", b""

    def remember(status: int, payload: bytes) -> None:
        if status == 201:
            live.append(orjson.loads(payload)["id"])

    result = await run(
        "crud",
        HOST,
        port,
        request,
        requests,
        corpus.concurrency,
        remember,
        max_seconds=corpus.max_seconds,
    )
    corpus.ids["Patient"] = live
    return result


async def history(port: int, corpus: Corpus, requests: int) -> Result:
    everything = corpus.all_ids()
    types = sorted(corpus.ids)

    def request(n: int) -> Request:
        roll = corpus.rng.random()
        if roll < 0.7:
            type_, id_ = corpus.rng.choice(everything)
            return "GET", f"/fhir/{type_}/{id_}/_history", b""
        if roll < 0.9:
            return "GET", f"/fhir/{corpus.rng.choice(types)}/_history?_count=20", b""
        return "GET", "/fhir/_history?_count=20", b""

    return await run(
        "history", HOST, port, request, requests, corpus.concurrency, max_seconds=corpus.max_seconds
    )


async def search(port: int, corpus: Corpus, requests: int) -> Result:
    patients = corpus.ids.get("Patient", []) or ["none"]
    rng = corpus.rng

    def request(n: int) -> Request:
        patient = rng.choice(patients)
        queries = [
            f"Observation?subject=Patient/{patient}&code={rng.choice(corpus.codes or ['x'])}",
            f"Observation?patient={patient}&_count=20",
            f"Patient?family={rng.choice(corpus.families or ['x'])}",
            f"Condition?patient={patient}",
            f"Encounter?patient={patient}&date=ge2020-01-01",
            f"Patient?_id={patient}",
        ]
        return "GET", "/fhir/" + rng.choice(queries), b""

    return await run(
        "search", HOST, port, request, requests, corpus.concurrency, max_seconds=corpus.max_seconds
    )


async def count(port: int, corpus: Corpus, requests: int) -> Result:
    rng = corpus.rng

    def request(n: int) -> Request:
        queries = [
            f"{rng.choice(sorted(corpus.ids))}?_summary=count",
            f"Observation?code={rng.choice(corpus.codes or ['x'])}&_summary=count",
            f"Patient?family={rng.choice(corpus.families or ['x'])}&_summary=count",
        ]
        return "GET", "/fhir/" + rng.choice(queries), b""

    return await run(
        "count", HOST, port, request, requests, corpus.concurrency, max_seconds=corpus.max_seconds
    )


SCENARIOS: dict[str, Scenario] = {
    "ingest": ingest,
    "read": read,
    "crud": crud,
    "history": history,
    "search": search,
    "count": count,
}
