"""Search queries on both backends: every parameter type, prefixes, modifiers, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from ember.search import plan
from ember.search.criteria import InvalidSearch, parse
from ember.search.index import index_rows
from ember.search.query import count_matches, find_page, parse_sort
from ember.store import Store, StoredVersion, open_store

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
UCUM = "http://unitsofmeasure.org"
RESOURCES: list[dict[str, Any]] = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"tag": [{"system": "urn:t", "code": "vip"}]},
        "identifier": [
            {
                "type": {"coding": [{"system": "http://v2", "code": "MR"}]},
                "system": "urn:mrn",
                "value": "a,1",
            }
        ],
        "name": [{"family": "Müller", "given": ["Anna"]}],
        "gender": "female",
        "birthDate": "1970-03-05",
        "generalPractitioner": [{"reference": "Practitioner/d1"}],
    },
    {
        "resourceType": "Patient",
        "id": "p2",
        "meta": {"tag": [{"system": "urn:t", "code": "new"}]},
        "name": [{"family": "Mullins", "given": ["Bob"]}],
        "gender": "male",
        "birthDate": "1980",
    },
    {
        "resourceType": "Patient",
        "id": "p3",
        "meta": {"tag": [{"system": "urn:t", "code": "new"}]},
        "name": [{"family": "Smith"}],
        "gender": "male",
    },
    {"resourceType": "Practitioner", "id": "d1", "name": [{"family": "House"}]},
    {"resourceType": "Practitioner", "id": "d2", "name": [{"text": "Seán  O'Brien-Hart"}]},
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "15074-8"}], "text": "Glucose"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-01-01T10:00:00+01:00",
        "valueQuantity": {"value": 5400, "system": "http://unitsofmeasure.org", "code": "ug"},
    },
    {
        "resourceType": "Observation",
        "id": "o2",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": "Patient/p2"},
        "effectiveDateTime": "2024-02-01",
        "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
    },
    {
        "resourceType": "Observation",
        "id": "bp",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "valueQuantity": {"value": value, "system": UCUM, "code": "mm[Hg]"},
            }
            for code, value in (("8480-6", 120), ("8462-4", 80))
        ],
    },
    *(
        {
            "resourceType": "Condition",
            "id": f"c-{status}",
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
            "subject": {"reference": "Patient/p1"},
        }
        for status in ("recurrence", "resolved", "active")
    ),
    {
        "resourceType": "RiskAssessment",
        "id": "r1",
        "status": "final",
        "prediction": [{"probabilityDecimal": 0.75}],
    },
]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    try:
        for n, resource in enumerate(RESOURCES, start=1):
            version = StoredVersion(
                resource["resourceType"],
                resource["id"],
                1,
                n * 1_000_000,
                "PUT",
                orjson.dumps(resource),
            )
            with opened.writing() as writer:
                writer.write_version(None, version, index_rows(resource))
        yield opened
    finally:
        opened.close()


@pytest.fixture(params=["counted", "all-common"])
def planning(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Plans as counted on this data, and as when every criterion with a match is
    common: pages in pk order then probe each resource of the type (or stream a token)."""
    if request.param == "all-common":
        monkeypatch.setattr(plan, "COMMON", 1)
    return str(request.param)


def _ids(store: Store, type_: str, query: str) -> list[str]:
    criteria = parse(type_, query, strict=True)
    with store.reading() as reader:
        return find_page(reader, criteria, (), 100, None).ids


@pytest.mark.parametrize(
    ("type_", "query", "expected"),
    [
        ("Patient", "family=mul", ["p1", "p2"]),
        ("Patient", "family=MUELLER", []),
        ("Patient", "family=muller", ["p1"]),
        ("Patient", "family:exact=Müller", ["p1"]),
        ("Patient", "family:exact=muller", []),
        ("Patient", "name:contains=LLIN", ["p2"]),
        # punctuation and repeated whitespace are ignored on both sides (search.html#string)
        ("Practitioner", "name=sean obrien", ["d2"]),
        ("Practitioner", "name=Sean O'Brien-Hart", ["d2"]),
        ("Practitioner", "name:contains=brienhart", ["d2"]),
        ("Practitioner", "name=sean  o.brien", ["d2"]),
        ("Practitioner", "name=-", []),
        ("Practitioner", "name:exact=Seán  O'Brien-Hart", ["d2"]),
        ("Practitioner", "name:exact=Sean O'Brien-Hart", []),
        ("Patient", "gender=male", ["p2", "p3"]),
        ("Patient", "gender:not=male", ["p1"]),
        ("Patient", "gender=female,male&family=s", ["p3"]),
        ("Patient", r"identifier=urn:mrn|a\,1", ["p1"]),
        ("Patient", "identifier=|a", []),
        ("Patient", r"identifier:of-type=http://v2|MR|a\,1", ["p1"]),
        ("Patient", r"identifier:of-type=http://v2|XX|a\,1", []),
        ("Patient", "_tag=urn:t|vip", ["p1"]),
        ("Patient", "birthdate:missing=true", ["p3"]),
        ("Patient", "birthdate:missing=false", ["p1", "p2"]),
        ("Patient", "birthdate=1970", ["p1"]),  # the day lies within 1970
        ("Patient", "birthdate=1980-01-01", []),  # but 1980 is not within a day of it
        ("Patient", "birthdate=1970-03-05", ["p1"]),
        ("Patient", "birthdate=ge1975", ["p2"]),
        ("Patient", "birthdate=lt1980-06", ["p1", "p2"]),
        ("Patient", "birthdate=sa1970-12-31", ["p2"]),
        ("Patient", "birthdate=eb1980", ["p1"]),
        ("Patient", "birthdate=ne1980", ["p1"]),
        ("Patient", "birthdate=ap1980-06-01", ["p2"]),
        # widened by a tenth of the 50 years since: 1969-11 to 1980-02 takes both
        ("Patient", "birthdate=ap1975-01-01", ["p1", "p2"]),
        ("Patient", "general-practitioner=Practitioner/d1", ["p1"]),
        ("Patient", "general-practitioner=d1", ["p1"]),
        ("Patient", "general-practitioner:Practitioner=d1", ["p1"]),
        ("Patient", "_id=p1,p3", ["p1", "p3"]),
        ("Patient", "_lastUpdated=gt1970-01-01T00:00:02Z", ["p3"]),
        ("Observation", "code=http://loinc.org|15074-8", ["o1"]),
        ("Observation", "code:text=gluc", ["o1"]),
        ("Observation", "date=2024-01-01T09:00:00Z", ["o1"]),
        ("Observation", "date=2024-01-01", ["o1"]),
        ("Observation", "date=gt2024-01-15", ["o2"]),
        ("Observation", "value-quantity=5.4|http://unitsofmeasure.org|mg", ["o1"]),
        ("Observation", "value-quantity=5400||ug", ["o1"]),
        ("Observation", "value-quantity=gt100", ["o1", "o2"]),
        ("Observation", "value-quantity=lt5000", ["o2"]),
        ("Observation", "subject=Patient/p2", ["o2"]),
        (
            "Patient",
            "gender:in=http://hl7.org/fhir/ValueSet/administrative-gender",
            ["p1", "p2", "p3"],
        ),
        ("Patient", "gender:not-in=http://hl7.org/fhir/ValueSet/administrative-gender", []),
        (
            "Condition",
            "clinical-status:in=http://hl7.org/fhir/ValueSet/condition-clinical|4.0.1",
            ["c-recurrence", "c-resolved", "c-active"],
        ),
        (
            "Condition",
            "clinical-status:not-in=http://hl7.org/fhir/ValueSet/languages",
            ["c-recurrence", "c-resolved", "c-active"],
        ),
        ("Condition", f"clinical-status:below={CLINICAL}|active", ["c-recurrence", "c-active"]),
        ("Condition", f"clinical-status:below={CLINICAL}|inactive", ["c-resolved"]),
        ("Condition", f"clinical-status:above={CLINICAL}|recurrence", ["c-recurrence", "c-active"]),
        ("Condition", f"clinical-status:above={CLINICAL}|inactive", []),
        # composites: the parts must match one item (one component) together
        ("Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", ["bp"]),
        ("Observation", "component-code-value-quantity=http://loinc.org|8462-4$gt100", []),
        ("Observation", "component-code-value-quantity=8462-4$gt100,8462-4$lt90", ["bp"]),
        ("Observation", f"combo-code-value-quantity=8462-4$80|{UCUM}|mm[Hg]", ["bp"]),
        ("Observation", "combo-code-value-quantity=85354-9$80", []),
        ("Observation", f"code-value-quantity=http://loinc.org|15074-8$5.4|{UCUM}|mg", ["o1"]),
        ("Observation", "code-value-quantity=15074-8$lt5", []),
        ("Observation", "code-value-quantity:missing=false", ["o1", "o2"]),
        ("RiskAssessment", "probability=0.75", ["r1"]),
        ("RiskAssessment", "probability=0.8", ["r1"]),  # 0.8 stands for [0.75, 0.85)
        ("RiskAssessment", "probability=0.76", []),
        ("RiskAssessment", "probability=0.7", []),
        ("RiskAssessment", "probability=ap0.8", ["r1"]),
        ("RiskAssessment", "probability=gt0.7", ["r1"]),
    ],
)
def test_criteria(store: Store, type_: str, query: str, expected: list[str]) -> None:
    assert _ids(store, type_, query) == expected


# One criterion drives a search (its index searched once); the others are probed per
# candidate: every kind of criterion in both roles must find the same.
@pytest.mark.parametrize(
    ("type_", "query", "expected"),
    [
        ("Patient", "birthdate=le1975", ["p1"]),
        ("Patient", "birthdate=le1970-03-05&gender=female", ["p1"]),
        ("Patient", "birthdate=1970&gender=female,male", ["p1"]),
        ("Patient", "birthdate=1980-06&gender=male", []),
        ("Patient", "family=mul&gender:not=male", ["p1"]),
        ("Patient", "gender=male&birthdate:missing=true", ["p3"]),
        ("Patient", "gender=male&birthdate:missing=false", ["p2"]),
        ("Patient", "_id=p1,p2&family=mul&gender=male", ["p2"]),
        ("Observation", "subject=Patient/p1&subject:Patient.family=mul", ["o1"]),
        ("Observation", "subject=Patient/p2&subject:Patient.family=smith", []),
        ("Observation", "subject:Patient.gender=male&code=8480-6", ["o2"]),
        ("Observation", "subject:Patient.gender=female&code=8480-6", []),
        (
            "Observation",
            "code=15074-8&subject:Patient.general-practitioner:Practitioner.family=house",
            ["o1"],
        ),
        ("Observation", "code=8480-6&subject:Patient.general-practitioner.family=house", []),
        ("Patient", "gender=female&_has:Observation:subject:code=15074-8", ["p1"]),
        ("Patient", "gender=male&_has:Observation:subject:code=15074-8", []),
        ("Patient", "_has:Observation:subject:code=8480-6", ["p2"]),
        ("Patient", "family=s&_has:Observation:subject:code=8480-6", []),
        ("Observation", "code=http://loinc.org|15074-8&date=2024-01-01", ["o1"]),
        ("Observation", "code=http://loinc.org|15074-8&date=2024-02-01", []),
        ("Observation", "code=http://loinc.org|8480-6&subject:Patient.gender=male", ["o2"]),
        ("Observation", "code=http://loinc.org|8480-6,http://loinc.org|15074-8", ["o1", "o2"]),
    ],
)
def test_driving_and_probed_criteria(
    store: Store, planning: str, type_: str, query: str, expected: list[str]
) -> None:
    assert _ids(store, type_, query) == expected


@pytest.mark.parametrize(
    ("query", "in_page_order", "common", "driver"),
    [
        # the fewest matches drive, whatever the kind: one Smith, two men
        ("gender=male&family=smith", True, 500, 1),
        ("family=smith&gender=male", False, 500, 0),
        # every criterion common: a page in pk order probes them all...
        ("gender=male&family=smith", True, 1, None),
        # ...unless one token streams its matches in pk order
        ("gender=male&_tag=urn:t|new", True, 1, 1),
        # sorted or counted searches list the fewest matches anyway; counts capped
        # alike are decided by kind (a token is likelier to be selective)
        ("gender=male&family=smith", False, 1, 0),
        # a criterion without matches drives
        ("gender=male&family=nobody", True, 1, 1),
        # _has is judged by the sources its last parameter lists
        ("gender=male&_has:Observation:subject:code=8480-6", True, 500, 1),
        ("_id=p1&gender=male", True, 500, 0),
        ("gender:missing=true", True, 500, None),
    ],
)
def test_the_criterion_with_fewest_matches_drives(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    in_page_order: bool,
    common: int,
    driver: int | None,
) -> None:
    monkeypatch.setattr(plan, "COMMON", common)
    monkeypatch.setattr(plan, "FEW", 0)  # every criterion counted
    with store.reading() as reader:
        chosen = plan.choose_driver(reader, parse("Patient", query, strict=True), in_page_order)
    assert chosen == driver


@pytest.mark.parametrize(("few", "driver"), [(0, 1), (2, 0)])
def test_a_criterion_with_few_matches_drives_uncompared(
    store: Store, monkeypatch: pytest.MonkeyPatch, few: int, driver: int
) -> None:
    """Two men, one Smith: the token, judged first, has few enough to drive at once."""
    monkeypatch.setattr(plan, "FEW", few)
    criteria = parse("Patient", "gender=male&family=smith", strict=True)
    with store.reading() as reader:
        assert plan.choose_driver(reader, criteria, True) == driver


@pytest.mark.parametrize(("common", "driver"), [(2, None), (3, 0)])
def test_a_chain_with_common_targets_is_common(
    store: Store, monkeypatch: pytest.MonkeyPatch, common: int, driver: int | None
) -> None:
    """Two men, one observation of theirs: once the targets are common the chain is
    taken as common, without its references being counted."""
    monkeypatch.setattr(plan, "COMMON", common)
    criteria = parse("Observation", "subject:Patient.gender=male", strict=True)
    with store.reading() as reader:
        assert plan.choose_driver(reader, criteria, True) == driver


@pytest.mark.parametrize(
    ("query", "members"),
    [
        ("", {"p1", "p2", "p3"}),
        # one system|code token: pages read its index in pk order
        ("_tag=urn:t|new", {"p2", "p3"}),
    ],
)
def test_sort_and_keyset_pages(store: Store, planning: str, query: str, members: set[str]) -> None:
    criteria = parse("Patient", query, strict=True)
    for raw, expected in [
        ("family", ["p1", "p2", "p3"]),
        ("-family", ["p3", "p2", "p1"]),
        ("birthdate", ["p1", "p2", "p3"]),  # missing values come last
        ("-birthdate", ["p2", "p1", "p3"]),
        ("gender,-_id", ["p1", "p3", "p2"]),
    ]:
        expected = [id_ for id_ in expected if id_ in members]
        sort = parse_sort(("Patient",), raw)
        seen: list[str] = []
        cursor = None
        with store.reading() as reader:
            while True:
                page = find_page(reader, criteria, sort, 1, cursor)
                seen += page.ids
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        assert seen == expected, raw
        # from the last page back to the first, by previous cursors
        back: list[str] = []
        previous: str | None = cursor
        with store.reading() as reader:
            while previous is not None:
                page = find_page(reader, criteria, sort, 1, previous)
                back = page.ids + back
                previous = page.previous_cursor
        assert back == expected, raw
    with store.reading() as reader:
        assert count_matches(reader, criteria) == len(members)


@pytest.mark.parametrize(
    "query",
    [
        "birthdate=xx1970",
        "birthdate=1970-13",
        "family:nonsense=x",
        "value-quantity=abc",
        "gender:missing=maybe",
        "identifier:in=http://vs",
        "code:in=http://hl7.org/fhir/ValueSet/observation-codes",
        "code:below=http://loinc.org|1234-5",
        "status:below=http://hl7.org/fhir/observation-status|nonsense",
        "status:above=final",
        "subject:below=Patient/1",
        "code-value-quantity=http://loinc.org|8480-6",
        "code-value-quantity=8480-6$x",
        "code-value-quantity:exact=8480-6$1",
    ],
)
def test_invalid_values_name_the_parameter(store: Store, query: str) -> None:
    type_ = "Observation" if query.startswith(("value", "code", "status", "subject")) else "Patient"
    with pytest.raises(InvalidSearch) as error:
        _ids(store, type_, query)
    assert error.value.issue.expression == query.split("=")[0]
