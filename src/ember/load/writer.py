"""Loading one unit (a file or a chunk of NDJSON lines) through the engine.

Transaction and batch Bundles go through the same code as `POST /fhir`. Every other
resource (collection entries, NDJSON lines, single-resource files) is an update when it
has an id (PUT semantics) and a create otherwise. Such resources are validated one by
one, then written in groups, each group in one database transaction: a bad resource is
reported and skipped, the rest of its group is still stored.
"""

from __future__ import annotations

import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ember.engine.batch import process_bundle
from ember.engine.errors import FhirError, bad_request
from ember.engine.interactions import Engine, Prepared, WriteResult
from ember.fhir.formats import json as fhir_json
from ember.load.sources import (
    BundleFile,
    NdjsonChunk,
    Oversized,
    PackageFile,
    Unit,
    package_resources,
    read_bytes,
)
from ember.store.base import Writer

# Resources per write transaction: commits are what writes cost most.
WRITE_GROUP = 200
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    where: str  # "Bundle.entry[3]...", "line 7", or "" for the whole file
    message: str

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.where}: {self.message}"
            if self.where
            else (f"{self.path}: {self.message}")
        )


@dataclass(slots=True)
class UnitResult:
    path: str
    size: int
    loaded: int = 0
    failures: list[Failure] = field(default_factory=list)
    by_type: Counter[str] = field(default_factory=Counter)  # resources loaded


@dataclass(frozen=True, slots=True)
class _Pending:
    where: str
    type: str
    id: str | None
    prepared: Prepared


class Loader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        settings = engine.settings
        # Bundles may use absolute URLs of this server; any other server's are refused.
        self.base_url = settings.base_url or f"http://{settings.host}:{settings.port}/fhir"

    def load(self, unit: Unit) -> UnitResult:
        result = UnitResult(unit.path, unit.size)
        try:
            if isinstance(unit, NdjsonChunk):
                self._write(result, self._ndjson_resources(result, unit))
            elif isinstance(unit, PackageFile):
                self._write(result, self._package_resources(result, unit))
            else:
                self._file(result, unit)
        except Exception as exc:  # a bug or a lost database: report it, load the other files
            result.failures.append(Failure(unit.path, "", f"{type(exc).__name__}: {exc}"))
        return result

    # -- reading -------------------------------------------------------------------------

    def _file(self, result: UnitResult, unit: BundleFile) -> None:
        try:
            content = fhir_json.parse(read_bytes(unit.path))
        except (OSError, EOFError, ValueError) as exc:
            result.failures.append(Failure(unit.path, "", f"unreadable: {exc}"))
            return
        if not isinstance(content, dict) or not isinstance(content.get("resourceType"), str):
            result.failures.append(Failure(unit.path, "", "not a FHIR resource (no resourceType)"))
            return
        kind = content.get("type") if content["resourceType"] == "Bundle" else None
        if kind in ("transaction", "batch"):
            self._transaction_or_batch(result, content)
        elif kind == "collection":
            self._write(result, self._collection_resources(result, content))
        else:
            # A lone resource; documents and messages are stored as Bundle resources.
            self._write(result, iter([("", content)]))

    def _ndjson_resources(
        self, result: UnitResult, chunk: NdjsonChunk
    ) -> Iterator[tuple[str, Any]]:
        for number, line in enumerate(chunk.lines, start=chunk.first_line):
            if not line.strip():
                continue
            try:
                yield f"line {number}", fhir_json.parse(line)
            except ValueError as exc:
                result.failures.append(Failure(chunk.path, f"line {number}", str(exc)))

    def _package_resources(
        self, result: UnitResult, unit: PackageFile
    ) -> Iterator[tuple[str, Any]]:
        try:
            limit = self.engine.settings.max_body_bytes
            for name, content in package_resources(unit.path, limit):
                if isinstance(content, Oversized):
                    message = (
                        f"{content.size} bytes: larger than a resource may be "
                        f"({limit} bytes, EMBER_MAX_BODY_BYTES)"
                    )
                    result.failures.append(Failure(unit.path, name, message))
                    continue
                try:
                    yield name, fhir_json.parse(content)
                except ValueError as exc:
                    result.failures.append(Failure(unit.path, name, str(exc)))
        except (OSError, EOFError, tarfile.TarError) as exc:
            result.failures.append(Failure(unit.path, "", f"unreadable package: {exc}"))

    def _collection_resources(
        self, result: UnitResult, bundle: dict[str, Any]
    ) -> Iterator[tuple[str, Any]]:
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            result.failures.append(Failure(result.path, "Bundle.entry", "must be an array"))
            return
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            yield f"Bundle.entry[{index}]", resource

    # -- writing -------------------------------------------------------------------------

    def _transaction_or_batch(self, result: UnitResult, bundle: dict[str, Any]) -> None:
        try:
            response = process_bundle(self.engine, bundle, self.base_url, "minimal")
        except FhirError as error:
            self._fail(result, "Bundle", error)
            return
        requests, answers = bundle.get("entry", []), response.get("entry", [])
        for index, (request, answer) in enumerate(zip(requests, answers, strict=True)):
            outcome = answer.get("response", {})
            if outcome.get("status", "").startswith("2"):
                if request["request"]["method"] in _WRITES:
                    result.loaded += 1
                    result.by_type[str(request["request"]["url"]).split("/")[0].split("?")[0]] += 1
            else:
                issues = outcome.get("outcome", {}).get("issue", [])
                for issue in issues or [{"diagnostics": outcome.get("status", "failed")}]:
                    where = (issue.get("expression") or [f"Bundle.entry[{index}]"])[0]
                    result.failures.append(
                        Failure(result.path, where, issue.get("diagnostics", issue.get("code")))
                    )

    def _write(self, result: UnitResult, resources: Iterator[tuple[str, Any]]) -> None:
        more = True
        while more:
            # a group is checked before any of it is written: as one validation
            with self.engine.one_validation():
                group, more = self._prepare_group(result, resources)
            if group:
                self._write_group(result, group)

    def _prepare_group(
        self, result: UnitResult, resources: Iterator[tuple[str, Any]]
    ) -> tuple[list[_Pending], bool]:
        """Up to WRITE_GROUP resources checked, and whether any may be left."""
        group: list[_Pending] = []
        for where, resource in resources:
            try:
                group.append(self._prepare(resource, where))
            except FhirError as error:
                self._fail(result, where, error)
                continue
            if len(group) == WRITE_GROUP:
                return group, True
        return group, False

    def _prepare(self, resource: Any, where: str) -> _Pending:
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise bad_request("not a FHIR resource (no resourceType)")
        type_ = resource["resourceType"]
        id_ = resource.get("id")
        if id_ is not None:
            if not isinstance(id_, str):
                raise bad_request("the id must be a string", f"{type_}.id")
            self.engine.check_id(id_)
        return _Pending(where, type_, id_, self.engine.prepare(type_, resource))

    def _write_group(self, result: UnitResult, group: list[_Pending]) -> None:
        try:
            self.engine.in_transaction(lambda writer: [self._write_one(writer, p) for p in group])
            result.loaded += len(group)
            result.by_type.update(pending.type for pending in group)
            return
        except FhirError:
            pass  # some resource cannot be written: find it by writing them one by one
        for pending in group:
            try:
                self.engine.in_transaction(lambda writer, p=pending: self._write_one(writer, p))
                result.loaded += 1
                result.by_type[pending.type] += 1
            except FhirError as error:
                self._fail(result, pending.where, error)

    def _write_one(self, writer: Writer, pending: _Pending) -> WriteResult:
        if pending.id is None:
            return self.engine.create_in(writer, pending.type, pending.prepared)
        return self.engine.update_in(writer, pending.type, pending.id, pending.prepared)

    @staticmethod
    def _fail(result: UnitResult, where: str, error: FhirError) -> None:
        for issue in error.issues:
            if issue.severity in ("error", "fatal"):
                location = issue.expression or where
                if where and location != where and not location.startswith("Bundle"):
                    location = f"{where} ({location})"
                result.failures.append(Failure(result.path, location, issue.diagnostics))
