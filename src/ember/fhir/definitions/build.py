"""Build the shipped definitions from an official FHIR core package.

Usage: python -m ember.fhir.definitions.build PACKAGE.tgz r4

Writes one gzipped JSON array per resource type that the server needs
(StructureDefinition, SearchParameter, ...) into the version folder beside this file.
The content is copied as published (CC0); only grouping and compression change.
"""

from __future__ import annotations

import gzip
import sys
import tarfile
from collections import defaultdict
from pathlib import Path

import orjson

SHIPPED_TYPES = (
    "StructureDefinition",
    "SearchParameter",
    "CompartmentDefinition",
    "OperationDefinition",
    "ValueSet",
    "CodeSystem",
)


def build(package: Path, version: str) -> dict[str, int]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    with tarfile.open(package) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            try:
                resource = orjson.loads(handle.read())
            except orjson.JSONDecodeError:
                continue
            if isinstance(resource, dict) and resource.get("resourceType") in SHIPPED_TYPES:
                grouped[resource["resourceType"]].append(resource)
    target = Path(__file__).parent / version
    target.mkdir(exist_ok=True)
    for resource_type, resources in grouped.items():
        data = orjson.dumps(resources)
        # mtime=0 keeps the output byte-identical between builds.
        path = target / f"{resource_type}.json.gz"
        with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as out:
            out.write(data)
    return {k: len(v) for k, v in grouped.items()}


if __name__ == "__main__":
    counts = build(Path(sys.argv[1]), sys.argv[2])
    for name, count in sorted(counts.items()):
        print(f"{name}: {count}")
