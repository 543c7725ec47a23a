"""batch and transaction Bundles (http.html#transaction, bundle.html).

A transaction is checked entry by entry outside the database, then applied in one
write transaction in the order the spec prescribes (DELETE, POST, PUT/PATCH, GET),
with placeholder ids (`urn:uuid:`, `urn:oid:`, full URLs) and conditional references
rewritten to the ids the server assigns. A batch runs every entry on its own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ember.engine import bundles
from ember.engine.errors import FhirError, bad_request, not_found, precondition_failed
from ember.engine.interactions import Engine, Patcher, Prepared, WriteResult, new_id
from ember.engine.references import Mapper, rewrite_references
from ember.engine.replication import as_transaction
from ember.engine.versioning import etag, instant, not_modified
from ember.fhir.formats import json as fhir_json
from ember.fhir.issues import Issue
from ember.fhir.patch.fhirpath_patch import apply_fhirpath_patch
from ember.fhir.patch.json_patch import apply_json_patch
from ember.fhir.validation import validate_resource
from ember.search.dates import parse_range
from ember.search.index import index_rows
from ember.search.query import find_ids
from ember.store.base import StoredVersion, Writer

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_JSON_PATCH = "application/json-patch+json"


@dataclass
class Entry:
    index: int
    method: str
    type: str | None
    id: str | None
    version: str | None
    query: str | None  # the search part of a conditional or search URL
    resource: Any
    full_url: str | None
    request: dict[str, Any]
    prepared: Prepared | None = None
    patcher: Patcher | None = None
    target_id: str | None = None  # the id this entry writes, once known
    matched: bool = False  # a conditional create that found its resource
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def _located(error: FhirError, entry: Entry) -> FhirError:
    """The same error, its locations moved inside the entry (Bundle.entry[3].resource...)."""
    issues = []
    for issue in error.issues:
        expression = issue.expression
        if expression and entry.type and expression.startswith(entry.type + "."):
            expression = f"{entry.where}.resource{expression[len(entry.type) :]}"
        elif expression and not expression.startswith("Bundle."):
            expression = f"{entry.where}.request ({expression})"
        else:
            expression = expression or entry.where
        issues.append(Issue(issue.severity, issue.code, issue.diagnostics, expression))
    return FhirError(error.status, issues, error.headers)


def _status(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"


class BundleProcessor:
    def __init__(self, engine: Engine, base_url: str, prefer_return: str) -> None:
        self.engine = engine
        self.base_url = base_url.rstrip("/")
        self.prefer_return = prefer_return

    # -- reading the request Bundle --------------------------------------------------

    def _entries(self, bundle: dict[str, Any]) -> list[Entry]:
        raw_entries = bundle.get("entry", [])
        if not isinstance(raw_entries, list):
            raise bad_request("Bundle.entry must be an array", "Bundle.entry")
        limit = self.engine.settings.max_bundle_entries
        if len(raw_entries) > limit:
            raise FhirError.of(
                413,
                "too-costly",
                f"The Bundle has {len(raw_entries)} entries; the limit is {limit}",
            )
        self._check_shell(bundle, raw_entries)
        return [self._entry(index, raw) for index, raw in enumerate(raw_entries)]

    def _check_shell(self, bundle: dict[str, Any], raw_entries: list[Any]) -> None:
        """The Bundle's own structure (request, fullUrl, ...), checked against the
        definitions; entry resources are left out here and checked one by one later."""
        shell = dict(bundle)
        shell["entry"] = [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
            for e in raw_entries
        ]
        if not shell["entry"]:
            del shell["entry"]
        engine = self.engine
        issues = validate_resource(shell, engine.model, max_depth=engine.settings.max_depth)
        errors = [i for i in issues if i.severity in ("error", "fatal")]
        if errors:
            raise FhirError(400, errors)

    def _entry(self, index: int, raw: Any) -> Entry:
        where = f"Bundle.entry[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
            raise bad_request(f"{where} has no request", f"{where}.request")
        request = raw["request"]
        method = request.get("method")
        url = request.get("url")
        if method not in _ORDER or not isinstance(url, str) or not url:
            raise bad_request(
                f"{where}.request needs a method (GET, HEAD, POST, PUT, PATCH, DELETE) and a url",
                f"{where}.request",
            )
        path, _, query = self._relative(url).partition("?")
        segments = [s for s in path.split("/") if s]
        type_ = segments[0] if segments else None
        id_ = segments[1] if len(segments) > 1 else None
        version = segments[3] if len(segments) == 4 and segments[2] == "_history" else None
        return Entry(
            index=index,
            method=method,
            type=type_,
            id=id_,
            version=version,
            query=query or None,
            resource=raw.get("resource"),
            full_url=raw.get("fullUrl"),
            request=request,
        )

    def _relative(self, url: str) -> str:
        if url.startswith(self.base_url + "/"):
            return url[len(self.base_url) + 1 :]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https"):
            raise bad_request(f"{url} is not a URL of this server ({self.base_url})")
        return url.lstrip("/")

    # -- checks outside the database --------------------------------------------------

    def _check(self, entry: Entry, index: bool) -> None:
        """Check an entry before anything is written; `index` as for Engine.prepare."""
        engine = self.engine
        if entry.method in ("GET", "HEAD"):
            return
        if entry.type is None:
            raise bad_request(f"{entry.request['url']} names no resource type")
        engine.check_type(entry.type)
        if entry.id is not None:
            engine.check_id(entry.id)
        if entry.method == "POST":
            if entry.id is not None:
                raise bad_request("POST entries create: their url is the type only")
            entry.prepared = engine.prepare(entry.type, entry.resource, index=index)
        elif entry.method == "PUT":
            entry.prepared = engine.prepare(entry.type, entry.resource, index=index)
            if entry.id is not None:
                engine.check_body_id(entry.type, entry.id, entry.resource)
        elif entry.method == "PATCH":
            entry.patcher = self._patcher(entry)
        if entry.id is None and entry.method != "POST" and entry.query is None:
            raise bad_request(f"{entry.method} needs an id or search criteria in its url")
        if entry.query is not None and entry.method != "POST" and entry.id is None:
            engine.criteria(entry.type, entry.query)

    def _patcher(self, entry: Entry) -> Patcher:
        resource = entry.resource
        if isinstance(resource, dict) and resource.get("resourceType") == "Binary":
            if resource.get("contentType") != _JSON_PATCH:
                raise bad_request(f"A Binary patch must have contentType {_JSON_PATCH}")
            try:
                document = fhir_json.parse(
                    base64.b64decode(resource.get("data", ""), validate=True)
                )
            except ValueError as exc:
                raise bad_request(
                    f"The Binary does not hold a JSON Patch document: {exc}"
                ) from None
            return lambda current: apply_json_patch(current, document)
        if isinstance(resource, dict) and resource.get("resourceType") == "Parameters":
            model = self.engine.model
            return lambda current: apply_fhirpath_patch(model, current, resource)
        raise FhirError.of(
            415,
            "not-supported",
            "PATCH entries carry a Parameters resource (FHIRPath Patch) or a Binary holding "
            "a JSON Patch document",
        )

    # -- applying ----------------------------------------------------------------------

    def _write_response(self, result: WriteResult | None, entry: Entry) -> dict[str, Any]:
        if result is None:  # a delete of nothing
            return {"status": _status(204)}
        stored = result.stored
        status = 204 if stored.deleted else (201 if result.created else 200)
        response: dict[str, Any] = {
            "status": _status(status),
            "etag": etag(stored.version),
            "lastModified": instant(stored.last_updated),
        }
        if not stored.deleted:
            response["location"] = f"{stored.type}/{stored.id}/_history/{stored.version}"
        return self._with_body(response, stored, entry, result.issues)

    def _with_body(
        self,
        response: dict[str, Any],
        stored: StoredVersion,
        entry: Entry,
        issues: tuple[Issue, ...] = (),
    ) -> dict[str, Any]:
        """The entry's body as Prefer: return= asks; an outcome also lists the
        validation issues that did not stop the write."""
        result: dict[str, Any] = {}
        if stored.content is not None and self.prefer_return == "representation":
            result["fullUrl"] = f"{self.base_url}/{stored.type}/{stored.id}"
            result["resource"] = fhir_json.parse(stored.content)
        if self.prefer_return == "OperationOutcome":
            message = f"{entry.method} {entry.request['url']}: {response['status']}"
            response["outcome"] = {
                "resourceType": "OperationOutcome",
                "issue": [
                    issue.to_json()
                    for issue in (Issue("information", "informational", message), *issues)
                ],
            }
        result["response"] = response
        return result

    def _read(self, entry: Entry, reader: Writer | None = None) -> dict[str, Any]:
        """GET/HEAD entries: read, vread, search and history."""
        engine = self.engine
        if entry.type is None or entry.type.startswith(("_", "$")):
            raise bad_request(f"GET {entry.request['url']} is not supported inside a Bundle")
        engine.check_type(entry.type)
        if entry.id is None:
            query = parse_qsl(entry.query or "", keep_blank_values=True)
            versions, found = engine.search(
                entry.type, query, False, engine.settings.default_count, reader
            )
            searchset = bundles.searchset_bundle(
                self.base_url,
                entry.type,
                found.as_query(),
                versions,
                None,
                list(found.ignored),
                fhir_json.parse,
            )
            return {"resource": searchset, "response": {"status": _status(200)}}
        if entry.version is not None:
            stored = engine.vread(entry.type, entry.id, entry.version, reader)
        else:
            stored = engine.read(entry.type, entry.id, reader)
        assert stored.content is not None
        response = {
            "status": _status(200),
            "etag": etag(stored.version),
            "lastModified": instant(stored.last_updated),
        }
        if self._not_modified(entry, stored):
            return {"response": {**response, "status": _status(304)}}
        return {
            "fullUrl": f"{self.base_url}/{stored.type}/{stored.id}",
            "resource": fhir_json.parse(stored.content),
            "response": response,
        }

    def _not_modified(self, entry: Entry, stored: StoredVersion) -> bool:
        since = entry.request.get("ifModifiedSince")
        try:
            since_micros = parse_range(since)[0] if isinstance(since, str) else None
        except ValueError:
            raise bad_request(
                f"ifModifiedSince {since!r} is not an instant",
                f"{entry.where}.request.ifModifiedSince",
            ) from None
        return not_modified(
            stored.version, stored.last_updated, entry.request.get("ifNoneMatch"), since_micros
        )

    # -- batch -------------------------------------------------------------------------

    def batch(self, bundle: dict[str, Any]) -> dict[str, Any]:
        entries = self._entries(bundle)
        for entry in sorted(entries, key=lambda e: _ORDER[e.method]):
            try:
                self._check(entry, index=True)
                entry.response = self._batch_entry(entry)
            except FhirError as error:
                located = _located(error, entry)
                entry.response = {
                    "response": {
                        "status": _status(error.status),
                        "outcome": located.outcome(),
                    }
                }
        return self._response_bundle("batch-response", entries)

    def _batch_entry(self, entry: Entry) -> dict[str, Any]:
        engine = self.engine
        headers = entry.request
        assert entry.type is not None or entry.method in ("GET", "HEAD")
        if entry.method in ("GET", "HEAD"):
            return self._read(entry)
        assert entry.type is not None
        result: WriteResult | None
        if entry.method == "POST":
            assert entry.prepared is not None
            condition = (
                engine.criteria(entry.type, headers["ifNoneExist"])
                if headers.get("ifNoneExist")
                else None
            )
            result = engine.in_transaction(
                lambda w: engine.create_in(w, entry.type, entry.prepared, condition)
            )
        elif entry.method == "PUT":
            assert entry.prepared is not None
            if entry.id is None:
                condition = engine.criteria(entry.type, entry.query or "")
                result = engine.in_transaction(
                    lambda w: engine.conditional_update_in(
                        w, entry.type, condition, entry.prepared, headers.get("ifMatch")
                    )
                )
            else:
                result = engine.in_transaction(
                    lambda w: engine.update_in(
                        w, entry.type, entry.id, entry.prepared, headers.get("ifMatch")
                    )
                )
        elif entry.method == "PATCH":
            assert entry.patcher is not None
            if entry.id is None:
                result = engine.conditional_patch(
                    entry.type, entry.query or "", entry.patcher, headers.get("ifMatch")
                )
            else:
                result = engine.patch(entry.type, entry.id, entry.patcher, headers.get("ifMatch"))
        elif entry.id is None:
            results = engine.conditional_delete(entry.type, entry.query or "")
            result = results[0] if len(results) == 1 else None
        else:
            result = engine.delete(entry.type, entry.id, headers.get("ifMatch"))
        return self._write_response(result, entry)

    # -- transaction -----------------------------------------------------------------

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        entries = self._entries(bundle)
        with self.engine.one_validation():  # nothing is written before all are checked
            for entry in entries:
                try:
                    # index rows come once the references are rewritten (in _apply)
                    self._check(entry, index=False)
                except FhirError as error:
                    raise _located(error, entry) from None
        # Server ids for creates are chosen up front, so retries keep them.
        for entry in entries:
            if entry.method == "POST":
                entry.target_id = new_id()
        if any(_found_by_search(entry) for entry in entries):
            self.engine.in_transaction(
                lambda writer: self._apply(
                    writer, entries, self._resolve_identities(writer, entries)
                )
            )
        else:
            # No target to look up: ids, rewritten references and index rows are worked
            # out before the write transaction, which then mostly writes (SQLite has one
            # writer at a time; PostgreSQL holds its row locks for less time).
            placeholders = self._resolve_identities(None, entries)
            conditional: list[str] = []

            def mapper(reference: str) -> str | None:
                mapped = placeholders.get(reference)
                if mapped is None and _is_conditional(reference):
                    conditional.append(reference)  # needs a search: inside the transaction
                return mapped

            self._rewrite(entries, mapper)
            if conditional:
                self.engine.in_transaction(lambda writer: self._apply(writer, entries, {}))
            else:
                self._index(entries)
                self.engine.in_transaction(lambda writer: self._write_entries(writer, entries))
        return self._response_bundle("transaction-response", entries)

    def _apply(self, writer: Writer, entries: list[Entry], placeholders: dict[str, str]) -> None:
        """Rewrite references (placeholders, then conditional ones), index and write."""

        def mapper(reference: str) -> str | None:
            mapped = placeholders.get(reference)
            if mapped is not None:
                return mapped
            if _is_conditional(reference):
                return self._conditional_reference(writer, reference)
            return None

        self._rewrite(entries, mapper)
        self._index(entries)
        self._write_entries(writer, entries)

    def _rewrite(self, entries: list[Entry], mapper: Mapper) -> None:
        for entry in entries:
            if entry.prepared is not None:
                rewrite_references(self.engine.model, entry.prepared.resource, mapper)

    def _index(self, entries: list[Entry]) -> None:
        for entry in entries:
            if entry.prepared is not None:
                resource = entry.prepared.resource
                entry.prepared = Prepared(
                    resource,
                    index_rows(resource, self.engine.settings.base_url),
                    issues=entry.prepared.issues,
                )

    def _write_entries(self, writer: Writer, entries: list[Entry]) -> None:
        for entry in sorted(entries, key=lambda e: _ORDER[e.method]):
            try:
                entry.response = self._transaction_entry(writer, entry)
            except FhirError as error:
                raise _located(error, entry) from None

    def _resolve_identities(self, writer: Writer | None, entries: list[Entry]) -> dict[str, str]:
        """fullUrl -> Type/id for every entry, with conditional targets found by search
        (the writer is needed only for those); two writes to one resource fail the
        transaction."""
        placeholders: dict[str, str] = {}
        touched: dict[str, int] = {}
        for entry in entries:
            if entry.method in ("GET", "HEAD"):
                continue
            assert entry.type is not None
            try:
                if _found_by_search(entry):
                    assert writer is not None  # callers pass one whenever it is needed
                    self._find_target(writer, entry)
                elif entry.id is not None:
                    entry.target_id = entry.id
            except FhirError as error:
                raise _located(error, entry) from None
            if entry.target_id is None:  # a conditional delete: checked when applied
                continue
            identity = f"{entry.type}/{entry.target_id}"
            if identity in touched:
                raise bad_request(
                    f"{identity} is the target of entries {touched[identity]} and {entry.index}; "
                    "a transaction may touch a resource only once",
                    entry.where,
                )
            touched[identity] = entry.index
            if entry.full_url:
                placeholders[entry.full_url] = identity
        return placeholders

    def _find_target(self, writer: Writer, entry: Entry) -> None:
        """The target of a conditional create, update or patch, by search."""
        engine = self.engine
        assert entry.type is not None
        if entry.method == "POST":
            condition = engine.criteria(entry.type, entry.request["ifNoneExist"])
            match = engine.resolve_condition(writer, entry.type, condition)
            if match is not None:
                entry.target_id = match
                entry.matched = True
            return
        condition = engine.criteria(entry.type, entry.query or "")
        match = engine.resolve_condition(writer, entry.type, condition)
        if match is None and entry.method == "PATCH":
            raise not_found(f"No {entry.type} matches the conditional patch")
        body_id = entry.resource.get("id") if entry.method == "PUT" else None
        if match is not None and body_id is not None and body_id != match:
            raise bad_request(
                f"The resource id {body_id!r} differs from the matching {entry.type}/{match}",
                f"{entry.type}.id",
            )
        entry.target_id = match or body_id or new_id()

    def _conditional_reference(self, writer: Writer, reference: str) -> str:
        type_, _, query = reference.partition("?")
        self.engine.check_type(type_)
        condition = self.engine.criteria(type_, query)
        matches = find_ids(writer, condition, 2)
        if len(matches) != 1:
            found = "no" if not matches else "more than one"
            raise precondition_failed(
                f"The conditional reference {reference} matches {found} resource"
            )
        return f"{type_}/{matches[0]}"

    def _transaction_entry(self, writer: Writer, entry: Entry) -> dict[str, Any]:
        engine = self.engine
        headers = entry.request
        if entry.method in ("GET", "HEAD"):
            return self._read(entry, writer)
        assert entry.type is not None
        result: WriteResult | None
        if entry.method == "POST":
            assert entry.prepared is not None and entry.target_id is not None
            if entry.matched:
                stored = writer.current(entry.type, entry.target_id)
                assert stored is not None
                result = WriteResult(stored, created=False, changed=False)
            else:
                result = engine.create_in(writer, entry.type, entry.prepared, id_=entry.target_id)
        elif entry.method == "PUT":
            assert entry.prepared is not None and entry.target_id is not None
            result = engine.update_in(
                writer, entry.type, entry.target_id, entry.prepared, headers.get("ifMatch")
            )
        elif entry.method == "PATCH":
            assert entry.patcher is not None and entry.target_id is not None
            result = engine.patch_in(
                writer, entry.type, entry.target_id, entry.patcher, headers.get("ifMatch")
            )
        elif entry.target_id is None:
            condition = engine.criteria(entry.type, entry.query or "")
            results = engine.conditional_delete_in(writer, entry.type, condition)
            result = results[0] if len(results) == 1 else None
        else:
            result = engine.delete_in(writer, entry.type, entry.target_id, headers.get("ifMatch"))
        return self._write_response(result, entry)

    # -- the answer ----------------------------------------------------------------------

    def _response_bundle(self, type_: str, entries: list[Entry]) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": new_id(),
            "type": type_,
            "link": [{"relation": "self", "url": self.base_url}],
        }
        if entries:  # JSON arrays are never empty (json.html)
            bundle["entry"] = [entry.response for entry in entries]
        return bundle


def _found_by_search(entry: Entry) -> bool:
    """Whether a transaction entry's target is found by search (conditional create,
    update or patch)."""
    if entry.method == "POST":
        return bool(entry.request.get("ifNoneExist"))
    return entry.method in ("PUT", "PATCH") and entry.id is None


def _is_conditional(reference: str) -> bool:
    """A conditional reference (`Patient?identifier=...`), resolved by search."""
    return "?" in reference and not reference.startswith(("http:", "https:", "urn:"))


def process_bundle(
    engine: Engine, bundle: Any, base_url: str, prefer_return: str
) -> dict[str, Any]:
    """The response Bundle of a batch or transaction; a history Bundle is replayed as a
    transaction (400 for any other Bundle)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise bad_request(
            "POST to the base takes a Bundle of type batch, transaction or history",
            "resourceType",
        )
    processor = BundleProcessor(engine, base_url, prefer_return)
    kind = bundle.get("type")
    if kind == "transaction":
        return processor.transaction(bundle)
    if kind == "history":
        return processor.transaction(as_transaction(bundle))
    if kind == "batch":
        return processor.batch(bundle)
    raise bad_request(
        f"Bundle.type must be batch, transaction or history, not {kind!r}", "Bundle.type"
    )
