"""create, read, vread, update, delete, history and their conditional forms
(http.html), on top of the store, with validation and versioning."""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ember.config import Settings
from ember.engine import scopes
from ember.engine.errors import (
    FhirError,
    bad_request,
    busy,
    conflict,
    gone,
    not_found,
    precondition_failed,
    unprocessable,
)
from ember.engine.profiles import StoredDefinitions
from ember.engine.resources import with_server_meta
from ember.engine.search_parameters import Registry
from ember.engine.versioning import etag, now_micros, parse_etag
from ember.fhir.formats import json as fhir_json
from ember.fhir.issues import Issue
from ember.fhir.model import get_model
from ember.fhir.patch.errors import PatchError
from ember.fhir.subset import is_subsetted
from ember.fhir.validation import check_rules, validate_resource
from ember.fhir.validation.rules import check_claimed_profiles
from ember.search import criteria as search_criteria
from ember.search import custom, reindex
from ember.search.controls import Controls, parse_controls
from ember.search.include import find_included
from ember.search.include import load as load_included
from ember.search.index import index_rows
from ember.search.parameters import revision
from ember.search.query import explain, find_ids, find_page, total_of
from ember.store.base import (
    CurrentState,
    HistoryQuery,
    IndexRows,
    Reader,
    Store,
    StoreBusy,
    StoreConflict,
    StoredVersion,
    Writer,
)

log = logging.getLogger("ember.engine")
ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def new_id() -> str:
    return str(uuid.uuid4())


_RETRIES = 3
T = TypeVar("T")
# A patch, ready to apply: the current resource in, the patched resource out.
Patcher = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class WriteResult:
    stored: StoredVersion  # the version written (or found, for a conditional create)
    created: bool  # 201 rather than 200
    changed: bool = True  # False when nothing was written (create matched, delete of nothing)
    issues: tuple[Issue, ...] = ()  # rule issues that did not stop the write

    @property
    def status(self) -> int:
        return 201 if self.created else 200


@dataclass(frozen=True, slots=True)
class Prepared:
    """A body checked for a write: the resource and its search index rows."""

    resource: dict[str, Any]
    index: IndexRows
    # the parameters in force when `index` was computed (see ember.search.parameters)
    revision: int = field(default_factory=revision)
    issues: tuple[Issue, ...] = ()  # rule issues that did not stop the write


@dataclass(frozen=True, slots=True)
class SearchResult:
    versions: list[StoredVersion]
    criteria: search_criteria.Criteria
    controls: Controls
    next_cursor: str | None  # None: the last page
    previous_cursor: str | None  # None: the first page
    total: int | None  # when asked for
    included: list[StoredVersion]  # by _include and _revinclude
    warnings: list[Issue]  # e.g. an index rebuild in progress


def _live(type_: str, id_: str, stored: StoredVersion | None) -> StoredVersion:
    """The current version a read answers with: 404 if never stored, 410 if deleted."""
    if stored is None:
        raise not_found(f"{type_}/{id_} is not known")
    if stored.deleted:
        raise gone(f"{type_}/{id_} was deleted", {"ETag": etag(stored.version)})
    return stored


class Engine:
    """The interactions of one FHIR server over one store."""

    def __init__(self, store: Store, settings: Settings, background_jobs: bool = True) -> None:
        """background_jobs=False: the caller runs index rebuilds (`ember load` does, at
        the end, in the foreground)."""
        self.store = store
        self.settings = settings
        self.model = get_model(settings.fhir_version)
        self.definitions = StoredDefinitions(self)
        self.search_parameters = Registry()
        with store.reading() as reader:
            self.search_parameters.sync(reader)
        reindex.follow_fulltext_setting(store, settings.fulltext)
        self.reindex = reindex.Runner(
            store, self.search_parameters.sync, background_jobs, settings.base_url
        )
        # index rebuilds left unfinished (or due after a schema upgrade) carry on
        self.reindex.kick()
        self._transaction = threading.local()  # whether it changed a SearchParameter
        self._checks = threading.local()  # the resolver shared by one set of checks

    @contextmanager
    def one_validation(self) -> Iterator[None]:
        """Validate the bodies checked inside as one: against the same stored definitions,
        whose freshness (a query per type, see ember.engine.profiles) is then checked once
        rather than per resource. For bodies checked before any of them is written (a
        transaction, a group of `ember load`): what they see could not differ anyway."""
        if getattr(self._checks, "resolver", None) is not None:  # already in one
            yield
            return
        self._checks.resolver = self.definitions.resolver()
        try:
            yield
        finally:
            self._checks.resolver = None

    # -- checks ----------------------------------------------------------------------

    def check_type(self, type_: str) -> None:
        if not self.model.is_resource_type(type_):
            raise FhirError.of(404, "not-supported", f"Unknown resource type {type_!r}")

    def check_id(self, id_: str) -> None:
        if not ID_PATTERN.fullmatch(id_):
            raise bad_request(f"{id_!r} is not a valid resource id (1-64 of A-Z a-z 0-9 - .)", "id")

    def _check_body(self, type_: str, resource: Any, index: bool) -> Prepared:
        if not isinstance(resource, dict):
            raise bad_request("The body must be a JSON object (a FHIR resource)")
        body_type = resource.get("resourceType")
        if body_type != type_:
            raise bad_request(
                f"The body is a {body_type!r} resource, but the URL is for {type_}",
                "resourceType",
            )
        issues = validate_resource(resource, self.model, max_depth=self.settings.max_depth)
        if any(i.severity in ("error", "fatal") for i in issues):
            raise FhirError(400, issues)
        kept = self._check_rules(type_, resource)
        if type_ == "SearchParameter":
            # clashes with stored ones are checked in the write transaction
            issues = custom.check(resource, self.model)
            if issues:
                raise FhirError(422, issues)
        if is_subsetted(resource):
            raise unprocessable(
                "The resource carries the SUBSETTED tag: it is an incomplete copy and cannot "
                "be stored (change.html)",
                f"{type_}.meta.tag",
            )
        return Prepared(
            resource,
            index_rows(resource, self.settings.base_url) if index else IndexRows(),
            issues=tuple(kept),
        )

    def _check_rules(self, type_: str, resource: dict[str, Any]) -> list[Issue]:
        """Base invariants and bindings (setting `validation`), then claimed profiles
        (setting `profile_validation`): in "reject" mode their errors refuse the write (400
        for the base rules, 422 for a profile, http.html#2.21.0.5); what did not stop it
        is returned (for Prefer: return=OperationOutcome) and logged at debug, by rule and
        location only (no values: they may be PHI)."""
        settings = self.settings
        base: list[Issue] = []
        if settings.validation != "off":
            base = check_rules(resource, self.model, profiles=False)
        _refuse_errors(base, settings.validation, 400)
        claimed: list[Issue] = []
        if settings.profile_validation != "off":
            resolver = getattr(self._checks, "resolver", None) or self.definitions.resolver()
            found = check_claimed_profiles(resource, self.model, resolver, resolver.terminology)
            known = set(base)  # profiles often repeat the base's rules
            claimed = [i for i in dict.fromkeys(found) if i not in known]
            _refuse_errors(claimed, settings.profile_validation, 422)
        for issue in (*base, *claimed):
            log.debug("%s %s %s at %s", type_, issue.severity, issue.code, issue.expression)
        return [*base, *claimed]

    def criteria(self, type_: str, query: str) -> search_criteria.Criteria:
        """Parse the criteria of a conditional interaction (400 if unusable)."""

        def parse() -> search_criteria.Criteria:
            return search_criteria.parse(
                type_,
                query.lstrip("?"),
                strict=True,
                local_base=self.settings.base_url,
                terminology=self.definitions.terminology,
            )

        try:
            try:
                found = parse()
            except search_criteria.UnknownParameter:
                # perhaps a SearchParameter another worker just stored: look once more
                with self.store.reading() as reader:
                    self.search_parameters.sync(reader)
                found = parse()
        except search_criteria.InvalidSearch as exc:
            raise FhirError(400, [exc.issue]) from None
        if not found.criteria:
            raise bad_request("Conditional interactions need at least one search criterion")
        return found

    # -- writing ---------------------------------------------------------------------

    def _retrying(self, work: Callable[[], T]) -> T:
        try:
            for _ in range(_RETRIES - 1):
                try:
                    return work()
                except StoreConflict:
                    continue
            return work()
        except StoreConflict as exc:
            raise conflict(str(exc)) from None
        except StoreBusy as exc:
            # waiting longer here would only hold a worker thread: the client retries
            raise busy(str(exc)) from None

    def _write(
        self,
        writer: Writer,
        state: CurrentState | None,
        type_: str,
        id_: str,
        prepared: Prepared,
        method: str,
    ) -> WriteResult:
        version = state.version + 1 if state else 1
        timestamp = now_micros()
        resource = with_server_meta(prepared.resource, id_, version, timestamp)
        # the parameters changed since the rows were computed (see in_transaction)
        index = (
            prepared.index
            if prepared.revision == revision()
            else index_rows(prepared.resource, self.settings.base_url)
        )
        if type_ == "SearchParameter":
            self._search_parameter_changes(writer, id_, resource)
        stored = writer.write_version(
            state,
            StoredVersion(type_, id_, version, timestamp, method, fhir_json.dumps(resource)),
            index,
        )
        return WriteResult(stored, created=state is None or state.deleted, issues=prepared.issues)

    def _search_parameter_changes(
        self, writer: Writer, id_: str, resource: dict[str, Any] | None
    ) -> None:
        if self.search_parameters.record_change(writer, self.model, id_, resource):
            self._transaction.changed_parameters = True

    def _check_if_match(self, state: CurrentState | None, if_match: str | None, what: str) -> None:
        if if_match is None:
            if self.settings.require_if_match and state is not None and not state.deleted:
                raise bad_request(
                    f"This server requires version-aware updates: send If-Match with the "
                    f"current ETag of {what}",
                    "If-Match",
                )
            return
        wanted = parse_etag(if_match)
        if state is None or state.deleted or state.version != wanted:
            current = (
                "does not exist"
                if state is None or state.deleted
                else (f"is at version {state.version}")
            )
            raise precondition_failed(f"If-Match names version {wanted}, but {what} {current}")

    # Each write has a public form that runs in its own transaction and an `_in` form
    # that runs inside a caller's writer (a transaction Bundle shares one writer).

    def in_transaction(self, work: Callable[[Writer], T]) -> T:
        """Run `work` in one write transaction, retried if a concurrent writer won a race."""

        def attempt() -> T:
            self._transaction.changed_parameters = False
            with self.store.writing() as writer:
                # index rows are computed with the parameters in force for this transaction
                self.search_parameters.refresh(writer, writer.share_registry())
                result = work(writer)
            if self._transaction.changed_parameters:
                self.reindex.kick()  # committed: rebuilds may start
            return result

        return self._retrying(attempt)

    def prepare(self, type_: str, resource: Any, *, index: bool = True) -> Prepared:
        """Check a body for a write to `type_` (400/422 if it cannot be stored). With
        index=False the caller extracts the index rows later (a transaction does, after
        rewriting references), so they are not computed twice."""
        self.check_type(type_)
        return self._check_body(type_, resource, index)

    def create(self, type_: str, resource: Any, if_none_exist: str | None = None) -> WriteResult:
        prepared = self.prepare(type_, resource)
        condition = self.criteria(type_, if_none_exist) if if_none_exist else None
        return self.in_transaction(lambda w: self.create_in(w, type_, prepared, condition))

    def create_in(
        self,
        writer: Writer,
        type_: str,
        prepared: Prepared,
        condition: search_criteria.Criteria | None = None,
        id_: str | None = None,
    ) -> WriteResult:
        if condition is not None:
            match = self.resolve_condition(writer, type_, condition)
            if match is not None:
                existing = writer.current(type_, match)
                assert existing is not None
                return WriteResult(existing, created=False, changed=False)
        return self._write(writer, None, type_, id_ or new_id(), prepared, "POST")

    def update(
        self, type_: str, id_: str, resource: Any, if_match: str | None = None
    ) -> WriteResult:
        self.check_id(id_)
        prepared = self.prepare(type_, resource)
        self.check_body_id(type_, id_, resource)
        return self.in_transaction(lambda w: self.update_in(w, type_, id_, prepared, if_match))

    def check_body_id(self, type_: str, id_: str, resource: dict[str, Any]) -> None:
        body_id = resource.get("id")
        if body_id is None:
            raise bad_request(
                f"The resource has no id; it must be {id_!r} as in the URL", f"{type_}.id"
            )
        if body_id != id_:
            raise bad_request(
                f"The resource id {body_id!r} does not match the id {id_!r} in the URL",
                f"{type_}.id",
            )

    def update_in(
        self,
        writer: Writer,
        type_: str,
        id_: str,
        prepared: Prepared,
        if_match: str | None = None,
        method: str = "PUT",
    ) -> WriteResult:
        state = writer.lock(type_, id_)
        self._check_if_match(state, if_match, f"{type_}/{id_}")
        if (state is None or state.deleted) and not self.settings.allow_update_create:
            raise FhirError.of(
                405,
                "not-supported",
                f"{type_}/{id_} does not exist and this server does not allow clients "
                "to choose ids",
            )
        return self._write(writer, state, type_, id_, prepared, method)

    def conditional_update(
        self, type_: str, query: str, resource: Any, if_match: str | None = None
    ) -> WriteResult:
        prepared = self.prepare(type_, resource)
        condition = self.criteria(type_, query)
        return self.in_transaction(
            lambda w: self.conditional_update_in(w, type_, condition, prepared, if_match)
        )

    def resolve_condition(
        self, writer: Writer, type_: str, condition: search_criteria.Criteria
    ) -> str | None:
        """The one id a conditional write's criteria match (None: no match; 412: several)."""
        writer.lock_key(f"{type_}?{condition.as_query()}")
        matches = find_ids(writer, condition, 2)
        if len(matches) > 1:
            raise precondition_failed(
                f"The criteria match more than one {type_}: not selective enough"
            )
        return matches[0] if matches else None

    def conditional_update_in(
        self,
        writer: Writer,
        type_: str,
        condition: search_criteria.Criteria,
        prepared: Prepared,
        if_match: str | None = None,
    ) -> WriteResult:
        body_id = prepared.resource.get("id")
        match = self.resolve_condition(writer, type_, condition)
        if match is not None:
            if body_id is not None and body_id != match:
                raise bad_request(
                    f"The resource id {body_id!r} differs from the matching {type_}/{match}",
                    f"{type_}.id",
                )
            id_ = match
        elif body_id is not None:
            self.check_id(body_id)
            id_ = body_id
        else:
            id_ = new_id()
        return self.update_in(writer, type_, id_, prepared, if_match)

    def delete(self, type_: str, id_: str, if_match: str | None = None) -> WriteResult | None:
        """Write a tombstone; None if there was nothing to delete (http.html#delete)."""
        self.check_type(type_)
        self.check_id(id_)
        return self.in_transaction(lambda w: self.delete_in(w, type_, id_, if_match))

    def delete_in(
        self, writer: Writer, type_: str, id_: str, if_match: str | None = None
    ) -> WriteResult | None:
        state = writer.lock(type_, id_)
        if if_match is not None:
            self._check_if_match(state, if_match, f"{type_}/{id_}")
        if state is None or state.deleted:
            return None
        if type_ == "SearchParameter":
            self._search_parameter_changes(writer, id_, None)
        stored = writer.write_version(
            state, StoredVersion(type_, id_, state.version + 1, now_micros(), "DELETE", None)
        )
        return WriteResult(stored, created=False)

    def conditional_delete(self, type_: str, query: str) -> list[WriteResult]:
        """Delete every match, up to the configured maximum (more: 412)."""
        self.check_type(type_)
        condition = self.criteria(type_, query)
        return self.in_transaction(lambda w: self.conditional_delete_in(w, type_, condition))

    def conditional_delete_in(
        self, writer: Writer, type_: str, condition: search_criteria.Criteria
    ) -> list[WriteResult]:
        limit = self.settings.conditional_delete_max
        matches = find_ids(writer, condition, limit + 1)
        if len(matches) > limit:
            raise precondition_failed(
                f"The criteria match more than {limit} {type_} resources; this server "
                f"deletes at most {limit} at once"
            )
        results = []
        for id_ in matches:
            result = self.delete_in(writer, type_, id_)
            if result is not None:
                results.append(result)
        return results

    def patch(
        self, type_: str, id_: str, patcher: Patcher, if_match: str | None = None
    ) -> WriteResult:
        self.check_type(type_)
        self.check_id(id_)
        return self.in_transaction(lambda w: self.patch_in(w, type_, id_, patcher, if_match))

    def conditional_patch(
        self, type_: str, query: str, patcher: Patcher, if_match: str | None = None
    ) -> WriteResult:
        self.check_type(type_)
        condition = self.criteria(type_, query)

        def work(writer: Writer) -> WriteResult:
            match = self.resolve_condition(writer, type_, condition)
            if match is None:
                raise not_found(f"No {type_} matches the criteria of the conditional patch")
            return self.patch_in(writer, type_, match, patcher, if_match)

        return self.in_transaction(work)

    def patch_in(
        self,
        writer: Writer,
        type_: str,
        id_: str,
        patcher: Patcher,
        if_match: str | None = None,
    ) -> WriteResult:
        """Apply a patch to the current version and store the result like an update."""
        state = writer.lock(type_, id_)
        if state is None:
            raise not_found(f"{type_}/{id_} is not known")
        if state.deleted:
            raise gone(f"{type_}/{id_} was deleted")
        self._check_if_match(state, if_match, f"{type_}/{id_}")
        current = writer.current(type_, id_)
        assert current is not None and current.content is not None
        try:
            patched = patcher(fhir_json.parse(current.content))
        except PatchError as exc:
            raise FhirError(exc.status, [exc.issue]) from None
        prepared = self.prepare(type_, patched)
        self.check_body_id(type_, id_, patched)
        return self._write(writer, state, type_, id_, prepared, "PATCH")

    # -- reading ---------------------------------------------------------------------

    def _reading(self, reader: Reader | None) -> AbstractContextManager[Reader]:
        """The caller's reader (inside a transaction), or a fresh read transaction."""
        return nullcontext(reader) if reader is not None else self.store.reading()

    def read(self, type_: str, id_: str, reader: Reader | None = None) -> StoredVersion:
        self.check_type(type_)
        self.check_id(id_)
        with nullcontext(reader) if reader is not None else self.store.reading_one() as session:
            return _live(type_, id_, session.current(type_, id_))

    async def read_async(self, type_: str, id_: str) -> StoredVersion:
        """read() from the event loop, without blocking it."""
        self.check_type(type_)
        self.check_id(id_)
        return _live(type_, id_, await self.store.current_async(type_, id_))

    def vread(
        self, type_: str, id_: str, version: str, reader: Reader | None = None
    ) -> StoredVersion:
        self.check_type(type_)
        self.check_id(id_)
        if not version.isdigit():
            raise bad_request(f"{version!r} is not a version id of this server", "vid")
        with self._reading(reader) as session:
            stored = session.version(type_, id_, int(version))
            if stored is None:
                exists = session.current(type_, id_) is not None
        if stored is None:
            what = f"version {version} of {type_}/{id_}" if exists else f"{type_}/{id_}"
            raise not_found(f"{what} is not known")
        if stored.deleted:
            raise gone(f"Version {version} of {type_}/{id_} is a deletion")
        return stored

    def history(self, query: HistoryQuery) -> list[StoredVersion]:
        """One page of history, newest first."""
        if query.type is not None:
            self.check_type(query.type)
        if query.id is not None:
            assert query.type is not None
            self.check_id(query.id)
        with self.store.reading() as reader:
            if (
                query.id is not None
                and query.type is not None
                and reader.current(query.type, query.id) is None
            ):
                raise not_found(f"{query.type}/{query.id} is not known")
            return reader.history(query)

    def count_history(self, query: HistoryQuery) -> int:
        with self.store.reading() as reader:
            return reader.count_history(query)

    def search(
        self,
        type_: str,
        query: list[tuple[str, str]],
        strict: bool,
        limit: int,
        reader: Reader | None = None,
    ) -> tuple[list[StoredVersion], search_criteria.Criteria]:
        """Current versions of the first page of matches, and the criteria applied."""
        found = self.search_page(type_, query, strict, limit, reader)
        return found.versions, found.criteria

    def search_page(
        self,
        type_: str | None,
        query: list[tuple[str, str]],
        strict: bool,
        count: int,
        reader: Reader | None = None,
        compartment: tuple[str, str] | None = None,
    ) -> SearchResult:
        """One page of matches in `_sort` order, the next page's cursor and the total
        when asked for (`_total`, `_summary=count`). `type_` None searches the types of
        `_type` (or every type); `compartment` (code, id) limits the search to its
        members, with `type_` a member type or `*`."""
        if compartment is None and type_ is not None:
            self.check_type(type_)
        scope = scopes.resolve(self.model, type_, query, compartment)
        try:
            with self._reading(reader) as session:
                generation, jobs = reindex.search_state(session)
                self.search_parameters.refresh(session, generation)
                controls = parse_controls(scope.types, query)
                found = search_criteria.parse(
                    scope.types,
                    query,
                    strict=strict,
                    compartment=scope.compartment,
                    local_base=self.settings.base_url,
                    contained=controls.contained_mode,
                    containers=controls.returns_containers,
                    terminology=self.definitions.terminology,
                )
                page = None
                if not controls.count_only:
                    page = find_page(session, found, controls.sort, count, controls.page)
                total = None
                if controls.wants_total:
                    # a first page (of a non-zero _count) that ends the search holds the total
                    first = page if count and controls.page is None else None
                    estimate = controls.total == "estimate"
                    total = total_of(session, found, estimate, first)
                warnings = reindex.warnings(jobs, found)
                if controls.explain:
                    plan = explain(
                        session, self.store.dialect, found, controls.sort, count, controls.page
                    )
                    warnings.append(Issue("information", "informational", plan, None))
                if page is None:
                    return SearchResult([], found, controls, None, None, total, [], warnings)
                versions = load_included(session, page.keys)
                keys = find_included(session, page.keys, controls.includes)
                included = load_included(session, keys)
                return SearchResult(
                    versions,
                    found,
                    controls,
                    page.next_cursor,
                    page.previous_cursor,
                    total,
                    included,
                    warnings,
                )
        except search_criteria.InvalidSearch as exc:
            raise FhirError(400, [exc.issue]) from None


def _refuse_errors(issues: list[Issue], mode: str, status: int) -> None:
    if mode == "reject":
        errors = [i for i in issues if i.severity in ("error", "fatal")]
        if errors:
            raise FhirError(status, errors)
