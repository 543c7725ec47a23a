"""`ember load` of FHIR packages (.tgz): their conformance resources are stored through
the engine and then used for validation."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from ember.config import Settings
from ember.engine.errors import FhirError
from ember.engine.interactions import Engine
from ember.load import load_paths
from ember.store import open_store
from tests.profiling import element, profile

PROFILE_URL = "http://example.org/ig/StructureDefinition/named-patient"
COLOURS = "http://example.org/ig/CodeSystem/colours"
PROFILE = profile(
    "named-patient",
    PROFILE_URL,
    "Patient",
    [
        element("Patient.name", min=1),
        element(
            "Patient.maritalStatus",
            binding={"strength": "required", "valueSet": "http://example.org/ig/ValueSet/colours"},
        ),
    ],
)
CODE_SYSTEM = {
    "resourceType": "CodeSystem",
    "id": "colours",
    "url": COLOURS,
    "status": "active",
    "content": "complete",
    "concept": [{"code": "red"}],
}
VALUE_SET = {
    "resourceType": "ValueSet",
    "id": "colours",
    "url": "http://example.org/ig/ValueSet/colours",
    "status": "active",
    "compose": {"include": [{"system": COLOURS}]},
}


def _package(path: Path, members: dict[str, Any]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            data = content if isinstance(content, bytes) else orjson.dumps(content)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_package_loads_its_resources_which_then_validate(
    tmp_path: Path, settings: Settings
) -> None:
    package = _package(
        tmp_path / "example.ig-1.0.0.tgz",
        {
            "package/package.json": {"name": "example.ig", "version": "1.0.0"},
            "package/.index.json": {"index-version": 1, "files": []},
            "package/StructureDefinition-named-patient.json": PROFILE,
            "package/CodeSystem-colours.json": CODE_SYSTEM,
            "package/ValueSet-colours.json": VALUE_SET,
            "package/example/Patient-example.json": {"resourceType": "Patient", "id": "ex"},
            "package/other/notes.md": b"not a resource",
        },
    )
    summary = load_paths([str(package)], settings, progress=False)
    assert summary.failures == []
    assert summary.by_type == {"StructureDefinition": 1, "CodeSystem": 1, "ValueSet": 1}
    store = open_store(settings.database_url)
    try:
        # profiles enforced on write, so their refusals show what the package brought
        engine = Engine(store, replace(settings, profile_validation="reject"))
        assert engine.read("ValueSet", "colours").version == 1
        claims = {"resourceType": "Patient", "meta": {"profile": [PROFILE_URL]}}
        with pytest.raises(FhirError) as refused:
            engine.create("Patient", claims)
        assert "Patient.name: minimum required = 1" in str(refused.value.issues[0].diagnostics)
        named = {**claims, "name": [{"family": "Ng"}]}
        assert engine.create("Patient", named).created

        def marital(code: str) -> dict[str, Any]:
            return {**named, "maritalStatus": {"coding": [{"system": COLOURS, "code": code}]}}

        assert engine.create("Patient", marital("red")).created
        with pytest.raises(FhirError) as refused:
            engine.create("Patient", marital("blue"))
        assert f"'{COLOURS}#blue' is not in the value set" in str(
            refused.value.issues[0].diagnostics
        )
        more = {**CODE_SYSTEM, "concept": [{"code": "red"}, {"code": "blue"}]}
        engine.update("CodeSystem", "colours", more)  # the terminology follows at once
        assert engine.create("Patient", marital("blue")).created
    finally:
        store.close()


def test_a_broken_package_is_a_failure_not_a_crash(tmp_path: Path, settings: Settings) -> None:
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not a tar file")
    bad_json = _package(tmp_path / "bad.tgz", {"package/Patient-x.json": b"{nope"})
    summary = load_paths([str(broken), str(bad_json)], settings, progress=False)
    assert summary.loaded == 0
    assert sorted((Path(f.path).name, f.where) for f in summary.failures) == [
        ("bad.tgz", "package/Patient-x.json"),
        ("broken.tgz", ""),
    ]


def test_a_member_larger_than_a_resource_may_be_is_not_read(
    tmp_path: Path, settings: Settings
) -> None:
    small = replace(settings, max_body_bytes=1000)
    package = _package(
        tmp_path / "big.tgz",
        {
            "package/Patient-big.json": {"resourceType": "Patient", "id": "big", "x": " " * 2000},
            "package/Patient-ok.json": {"resourceType": "Patient", "id": "ok"},
        },
    )
    summary = load_paths([str(package)], small, progress=False)
    assert summary.loaded == 1
    [failure] = summary.failures
    assert failure.where == "package/Patient-big.json"
    assert "larger than a resource may be (1000 bytes" in failure.message
