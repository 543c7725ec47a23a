"""Index extraction: every parameter type of the definitions becomes typed rows."""

from __future__ import annotations

from ember.search.dates import LATEST, parse_range
from ember.search.index import extractors, index_rows
from ember.store.base import COMPOSITE_COLUMNS

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"tag": [{"system": "urn:t", "code": "x"}], "profile": ["http://p/1"]},
    "identifier": [{"system": "urn:mrn", "value": "12345"}],
    "name": [{"family": "Müller", "given": ["Jörg", "K"]}],
    "telecom": [{"system": "phone", "value": "555-1234"}],
    "gender": "male",
    "birthDate": "1970-03",
    "generalPractitioner": [{"reference": "Practitioner/d1"}],
    "managingOrganization": {"reference": "http://other.org/fhir/Organization/o1/_history/2"},
}


def test_every_indexable_parameter_of_a_type_is_compiled() -> None:
    codes = {e.param.code for e in extractors("Observation")}
    assert {"code", "subject", "date", "value-quantity", "_tag", "_profile"} <= codes
    assert "_id" not in codes and "_lastUpdated" not in codes  # answered from resources


def test_patient_rows() -> None:
    rows = index_rows(PATIENT)
    assert ("family", "muller", "Müller") in rows.strings
    assert ("name", "jorg", "Jörg") in rows.strings
    assert ("identifier", "urn:mrn", "12345") in rows.tokens
    assert ("telecom", None, "555-1234") in rows.tokens  # ContactPoint.system is no URI
    assert ("gender", None, "male") in rows.tokens
    assert ("_tag", "urn:t", "x") in rows.tokens
    assert ("_profile", "http://p/1") in rows.uris
    assert ("birthdate", *parse_range("1970-03")) in rows.dates
    assert (
        "general-practitioner",
        "Practitioner",
        "d1",
        None,
        "Practitioner/d1",
    ) in rows.references
    # an absolute URL to another server names no resource here: only its url counts
    assert ("organization", None, None, "2", "http://other.org/fhir/Organization/o1") in (
        rows.references
    )
    # under this server's own base it is a local reference
    local = index_rows(PATIENT, "http://other.org/fhir/").references
    assert ("organization", "Organization", "o1", "2", "Organization/o1") in local


def test_observation_rows_quantities_periods_and_failures() -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "1", "display": "Glucose"}]},
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {"start": "2024-01-01T10:00:00Z"},
        "valueQuantity": {"value": 5400, "system": "http://unitsofmeasure.org", "code": "ug"},
        "component": [{"code": {"text": "c"}, "valueString": "not a date"}],
    }
    rows = index_rows(observation)
    assert ("code", "glucose") in rows.token_texts
    low = parse_range("2024-01-01T10:00:00Z")[0]
    assert ("date", low, LATEST) in rows.dates
    (quantity,) = [q for q in rows.quantities if q[0] == "value-quantity"]
    assert quantity[:4] == ("value-quantity", "http://unitsofmeasure.org", "ug", 5400.0)
    assert quantity[4] == "g1" and abs(quantity[5] - 0.0054) < 1e-12
    assert ("patient", "Patient", "p1", None, "Patient/p1") in rows.references
    assert ("subject", "Patient", "p1", None, "Patient/p1") in rows.references


def test_a_failing_expression_falls_back_to_of_type() -> None:
    # `(value as Quantity)` over several values raises; the fallback keeps the quantities
    many = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "component": [
            {"code": {"text": "a"}, "valueQuantity": {"value": 1, "unit": "u"}},
            {"code": {"text": "b"}, "valueQuantity": {"value": 2, "unit": "u"}},
        ],
    }
    values = {q[3] for q in index_rows(many).quantities if q[0] == "component-value-quantity"}
    assert values == {1.0, 2.0}


def test_composite_rows_number_items_and_skip_incomplete_ones() -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 120, "unit": "mmHg"},
            },
            {"code": {"coding": [{"system": "http://loinc.org", "code": "x"}]}},  # no value
        ],
    }
    composites = index_rows(observation).composites
    rows = [r for r in composites if r[0] == "component-code-value-quantity"]
    by_column = [dict(zip(COMPOSITE_COLUMNS, row, strict=True)) for row in rows]
    assert [(r["item"], r["component"], r["code"], r["value"]) for r in by_column] == [
        (0, 0, "8480-6", None),
        (0, 1, "mmHg", 120.0),
    ]
    # the Observation itself has no value: code-value-quantity has no complete item
    assert not [r for r in index_rows(observation).composites if r[0] == "code-value-quantity"]


def test_contained_resources_get_rows_of_their_own() -> None:
    """Each contained resource with an id (the first of a repeated one) is indexed apart;
    references to it (`#id`) target its row, which the store names after the container
    (see ember.store.base.CONTAINED_PREFIX)."""
    rows = index_rows(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "#p1"},
            "performer": [{"reference": "#gone"}, {"reference": "Practitioner/d"}],
            "contained": [
                {
                    "resourceType": "Patient",
                    "id": "p1",
                    "gender": "male",
                    "link": [{"other": {"reference": "#p2"}, "type": "seealso"}],
                },
                {"resourceType": "Patient", "id": "p2", "gender": "female"},
                {"resourceType": "Patient", "id": "p1", "gender": "other"},
                {"resourceType": "Patient", "gender": "unknown"},
            ],
        }
    )
    assert [(type_, local) for type_, local, _ in rows.contained] == [
        ("Patient", "p1"),
        ("Patient", "p2"),
    ]
    first = rows.contained[0][2]
    assert ("gender", None, "male") in first.tokens
    assert ("link", "#Patient", "#p2", None, "#p2") in first.references
    assert ("subject", "#Patient", "#p1", None, "#p1") in rows.references
    assert ("performer", None, None, None, "#gone") in rows.references  # no such resource
    assert not any(code == "gender" for code, *_ in rows.tokens)
    plain = index_rows({"resourceType": "Patient", "gender": "male"})
    assert plain.contained == ()
