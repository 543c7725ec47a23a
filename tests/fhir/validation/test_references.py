"""Reference targets and Bundle rules in full validation ($validate)."""

from __future__ import annotations

from typing import Any

from ember.fhir.validation.validator import validate

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div>'
TEXT = {"status": "generated", "div": DIV}
BASE = "http://example.org/fhir/"


def errors(resource: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(i.expression, i.diagnostics) for i in validate(resource) if i.severity == "error"]


def observation(**content: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "text": TEXT,
        "status": "final",
        "code": {"text": "x"},
        **content,
    }


def patient(id_: str | None = "p1") -> dict[str, Any]:
    return {"resourceType": "Patient", "text": TEXT, **({"id": id_} if id_ else {})}


def bundle(type_: str, *entries: tuple[str, dict[str, Any]], **content: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": type_,
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
        **content,
    }


def test_a_reference_names_a_type_its_element_allows() -> None:
    assert errors(observation(subject={"reference": "Patient/p1"})) == []
    found = errors(observation(subject={"reference": "Observation/o1"}))
    assert [where for where, _ in found] == ["Observation.subject"]


def test_full_urls_are_absolute_and_agree_with_restful_resources() -> None:
    found = errors(bundle("collection", ("Patient/p1", patient())))
    assert [where for where, _ in found] == ["Bundle.entry[0]"]
    assert errors(bundle("collection", (BASE + "Patient/p1", patient()))) == []
    found = errors(bundle("collection", (BASE + "Patient/p2", patient())))
    assert [where for where, _ in found] == ["Bundle.entry[0]"]
    found = errors(bundle("collection", (BASE + "Patient/p1", patient(None))))
    assert "has no id" in found[0][1]


def test_link_relations_occur_once_and_search_results_have_ids() -> None:
    links = [{"relation": "self", "url": BASE}, {"relation": "self", "url": BASE + "x"}]
    found = errors(bundle("searchset", ("urn:uuid:1", patient(None)), link=links))
    assert sorted(where or "" for where, _ in found) == [
        "Bundle.entry[0].resource",
        "Bundle.link[1]",
    ]


def test_references_in_documents_resolve_inside_the_bundle() -> None:
    composition = {
        "resourceType": "Composition",
        "id": "c1",
        "text": TEXT,
        "status": "final",
        "type": {"text": "note"},
        "date": "2020-01-01",
        "title": "Note",
        "author": [{"reference": "Patient/p1"}],
        "subject": {"reference": "Patient/p9"},
    }
    document = bundle(
        "document",
        (BASE + "Composition/c1", composition),
        (BASE + "Patient/p1", patient()),
        identifier={"system": "urn:ietf:rfc:3986", "value": "urn:uuid:d1"},
        timestamp="2020-01-01T00:00:00Z",
    )
    found = errors(document)
    assert [where for where, _ in found] == ["Bundle.entry[0].resource.subject"]
    assert "Can't find 'Patient/p9'" in found[0][1]


def test_two_entries_with_one_full_url_make_a_reference_ambiguous() -> None:
    referrer = observation(subject={"reference": "urn:uuid:1"})
    found = errors(
        bundle(
            "collection",
            ("urn:uuid:o", referrer),
            ("urn:uuid:1", patient()),
            ("urn:uuid:1", patient("p2")),
        )
    )
    assert (
        "Bundle.entry[0].resource.subject",
        "Multiple matches in the Bundle for the reference 'urn:uuid:1'",
    ) in found


def test_search_outcomes_are_operation_outcomes() -> None:
    entry = {"fullUrl": "urn:uuid:1", "resource": patient(), "search": {"mode": "outcome"}}
    found = errors({"resourceType": "Bundle", "type": "searchset", "entry": [entry]})
    assert [where for where, _ in found] == ["Bundle.entry[0].resource"]
