"""Whether an optimisation of the write path changed what a write produces.

    .venv/bin/python benchmarks/write_check.py save FILE   # before the change
    .venv/bin/python benchmarks/write_check.py compare FILE  # after it

For every resource of the spec examples (shared/testdata) and of the synthea and
carebundle data sets of write_bench.py, records the search index rows, the structure
issues, the base rules' issues and the claimed profiles' issues, and the stored JSON;
`compare` lists the resources whose results differ from the saved ones.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from data import dataset
from harness import SHARED

from ember.config import Settings
from ember.engine.interactions import Engine
from ember.engine.profiles import StoredDefinitions
from ember.fhir.formats.json import JSONFormatError, dumps, parse
from ember.fhir.model import get_model
from ember.fhir.validation import check_rules, validate_resource
from ember.fhir.validation.rules import check_claimed_profiles
from ember.search.index import index_rows
from ember.store import open_store


def resources() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((SHARED / "examples" / "r4").glob("*.json")):
        try:
            yield path.name, parse(path.read_bytes())
        except JSONFormatError:
            continue
    for data in (dataset("synthea", 4, 42), dataset("carebundle", 300, 42)):
        for path in data.files:
            for number, entry in enumerate(parse(path.read_bytes()).get("entry", [])):
                yield f"{path.name}#{number}", entry["resource"]


def results(definitions: StoredDefinitions) -> dict[str, tuple[Any, ...]]:
    model = get_model("r4")
    resolver = definitions.resolver()
    found: dict[str, tuple[Any, ...]] = {}
    for name, resource in resources():
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        found[name] = (
            index_rows(resource, "http://example.org/fhir"),
            validate_resource(resource, model),
            check_rules(resource, model, profiles=False),
            check_claimed_profiles(resource, model, resolver, resolver.terminology),
            orjson.loads(dumps(resource)),
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("save", "compare"))
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/check.db"
        store = open_store(url)
        try:
            now = results(Engine(store, Settings(database_url=url)).definitions)
        finally:
            store.close()
    if args.what == "save":
        args.file.write_bytes(pickle.dumps(now))
        print(f"{len(now)} resources recorded in {args.file}")
        return
    before: dict[str, tuple[Any, ...]] = pickle.loads(args.file.read_bytes())
    parts = ("index rows", "structure", "rules", "profiles", "stored JSON")
    differ = 0
    for name in sorted(before.keys() | now.keys()):
        old, new = before.get(name), now.get(name)
        if old == new:
            continue
        differ += 1
        if old is None or new is None:
            print(f"{name}: only {'after' if old is None else 'before'}")
            continue
        changed = [part for part, a, b in zip(parts, old, new, strict=True) if a != b]
        print(f"{name}: {', '.join(changed)} differ")
    print(f"{len(now)} resources, {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
