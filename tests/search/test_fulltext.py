"""_text and _content (search.html#text, #content): the words both backends index, the
query syntax, and the same answers from SQLite FTS5 and PostgreSQL tsvector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from ember.config import Settings
from ember.engine.interactions import Engine
from ember.search import fulltext, reindex
from ember.store import Store


def test_words_fold_case_and_accents_and_split_on_punctuation() -> None:
    assert fulltext.words("Mu\u0308ller ½") == ["muller", "1", "2"]
    assert fulltext.words("Héllo, WÖRLD! heart-attack x_y 123abc") == [
        "hello",
        "world",
        "heart",
        "attack",
        "x",
        "y",
        "123abc",
    ]
    assert fulltext.words("a" * (fulltext.MAX_WORD + 1) + " kept") == ["kept"]
    assert len(fulltext.words("w " * (fulltext.MAX_WORDS + 5))) == fulltext.MAX_WORDS


def test_document_takes_the_narrative_without_markup_and_all_text() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"versionId": "3", "lastUpdated": "2024-01-01T00:00:00Z"},
        "text": {"status": "generated", "div": '<div xmlns="x">Fish &amp; <b>chips</b></div>'},
        "name": [{"family": "Smith"}],
        "photo": [{"data": "QUJD"}],
    }
    narrative, content = fulltext.document(patient)
    assert narrative == "fish chips"
    assert content == "fish chips generated smith"


def test_words_of_each_kind_of_text() -> None:
    # ASCII, accents folding into ASCII, and letters that stay non-ASCII (Greek mu, CJK)
    assert fulltext.words("Dose: 5MG\tq.d.") == ["dose", "5mg", "q", "d"]
    assert fulltext.words("Ærø Straße naïve") == ["ærø", "strasse", "naive"]
    assert fulltext.words("10 µg/kg 心臓 İ") == ["10", "μg", "kg", "心臓", "i"]
    long_accented = "é" * (fulltext.MAX_WORD + 1)
    assert fulltext.words(f"{long_accented} kept é{'e' * (fulltext.MAX_WORD - 2)}") == [
        "kept",
        "e" * (fulltext.MAX_WORD - 1),
    ]
    assert fulltext.words("") == fulltext.words(" -- ") == []


def test_document_leaves_out_contained_narratives_and_base64_but_walks_data_elements() -> None:
    consent = {
        "resourceType": "Consent",
        "text": {"status": "generated", "div": "<div>Outer</div>"},
        "contained": [
            {"resourceType": "Patient", "id": "c", "text": {"div": "<div>inner</div>"}},
            {"resourceType": "Binary", "data": "QUJD", "contentType": "text/plain"},
        ],
        "extension": [{"url": "u", "valueBase64Binary": "QUJD"}],
        "provision": {"data": [{"meaning": "related", "reference": {"display": "Lab"}}]},
    }
    assert fulltext.document(consent) == (
        "outer",
        "outer generated text plain u related lab",
    )


def test_document_keeps_the_first_words_of_a_long_resource() -> None:
    narrative = " ".join(f"n{i}" for i in range(fulltext.MAX_WORDS - 2))
    patient = _patient("p", narrative, name=[{"family": "a b c"}])
    narrative_words, content = fulltext.document(patient)
    assert len(narrative_words.split()) == fulltext.MAX_WORDS - 2
    assert content.split()[-3:] == [f"n{fulltext.MAX_WORDS - 3}", "generated", "a"]
    assert len(content.split()) == fulltext.MAX_WORDS


def test_query_syntax_and_what_each_backend_is_sent() -> None:
    query = fulltext.parse_query(('a b OR "c d" e-f', "z"))
    assert query == [[[("a",)], [("b",), ("c", "d")], [("e", "f")]], [[("z",)]]]
    assert fulltext.condition("sqlite", "t", "_text", query) == (
        "t.narrative MATCH ?",
        '(("a" AND ("b" OR "c d") AND "e f") OR "z")',
    )
    assert fulltext.condition("postgresql", "t", "_content", query) == (
        "t.content @@ CAST(? AS tsquery)",
        "(('a' & ('b' | ('c' <-> 'd')) & ('e' <-> 'f')) | 'z')",
    )
    with pytest.raises(ValueError, match="no words"):
        fulltext.parse_query(("!!",))
    with pytest.raises(ValueError, match="longer than 40 characters"):
        fulltext.parse_query(("heart " + "x" * 41,))


def _patient(id_: str, narrative: str, **elements: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": id_,
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{narrative}</div>',
        },
        **elements,
    }


@pytest.fixture
def patients(client: TestClient) -> TestClient:
    for patient in (
        _patient("p1", "Severe <b>heart</b> attack in 2019", name=[{"family": "Müller"}]),
        _patient("p2", "Heart murmur, no attack", name=[{"family": "Baker"}]),
        _patient("p3", "Broken arm", name=[{"family": "Clark"}], gender="female"),
    ):
        assert client.put(f"/fhir/Patient/{patient['id']}", json=patient).status_code == 201
    return client


def _ids(client: TestClient, query: str, status: int = 200) -> list[str]:
    response = client.get(f"/fhir/Patient?{query}")
    assert response.status_code == status, response.text
    bundle = response.json()
    return sorted(
        e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("_text=heart", ["p1", "p2"]),
        ("_text=HEART attack", ["p1", "p2"]),
        ("_text=heart murmur", ["p2"]),
        ('_text="heart attack"', ["p1"]),
        ("_text=heart-attack", ["p1"]),
        ("_text=murmur OR arm", ["p2", "p3"]),
        ("_text=murmur,broken", ["p2", "p3"]),
        ("_text=2019", ["p1"]),
        ("_text=muller", []),  # the name is not in the narrative
        ("_content=muller", ["p1"]),
        ("_content=MÜLLER severe", ["p1"]),
        ("_content=female", ["p3"]),
        ("_content=female OR baker", ["p2", "p3"]),
        ("_text=hear", []),  # whole words only
    ],
)
def test_full_text_search_over_http(patients: TestClient, query: str, expected: list[str]) -> None:
    assert _ids(patients, query) == expected


def test_updates_and_deletes_replace_the_words(patients: TestClient) -> None:
    patients.put("/fhir/Patient/p3", json=_patient("p3", "Healed arm"))
    assert _ids(patients, "_text=broken") == []
    assert _ids(patients, "_text=healed") == ["p3"]
    patients.delete("/fhir/Patient/p1")
    assert _ids(patients, "_text=heart") == ["p2"]
    assert _ids(patients, "_text=heart&name=baker") == ["p2"]


def test_repeated_words_long_texts_and_contained_resources(patients: TestClient) -> None:
    filler = " ".join(f"w{i}" for i in range(3000))
    patient = _patient(
        "p4",
        f"Pain in chest, then {filler} chest pain again",
        contained=[{"resourceType": "Practitioner", "id": "c", "name": [{"family": "Okapi"}]}],
        generalPractitioner=[{"reference": "#c"}],
    )
    assert patients.put("/fhir/Patient/p4", json=patient).status_code == 201
    # both places of a repeated word count for phrases, on both backends
    assert _ids(patients, '_text="pain in chest"') == ["p4"]
    assert _ids(patients, '_text="chest pain again"') == ["p4"]
    assert _ids(patients, '_text="then chest"') == []
    assert _ids(patients, '_text="w2998 w2999 chest"') == ["p4"]
    assert _ids(patients, "_content=okapi") == ["p4"]  # a contained resource's text


@pytest.mark.parametrize(
    "query", ["_text=%21%21", "_text:exact=heart", "_sort=_text", "_text=" + "y" * 41]
)  # an empty _content= is ignored like any empty parameter (search.html#errors)
def test_bad_full_text_queries_are_400(patients: TestClient, query: str) -> None:
    response = patients.get(f"/fhir/Patient?{query}")
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"][0].startswith(query.split("=")[0])


def test_capability_statement_lists_full_text(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    names = {p["name"] for p in patient["searchParam"]}
    assert {"_text", "_content"} <= names


@pytest.fixture
def store(empty_store: Store) -> Iterator[Store]:
    yield empty_store
    fulltext.enable(True)  # the setting is process-wide


def test_full_text_can_be_turned_off_and_back_on(database_url: str, store: Store) -> None:
    patient = _patient("p1", "Heart attack")
    off = Engine(store, Settings(database_url=database_url, fulltext=False), False)
    off.update("Patient", "p1", patient)
    found = off.search_page("Patient", [("_text", "heart")], False, 10)
    assert [v.id for v in found.versions] == ["p1"]  # ignored, with a warning
    assert found.warnings == [] and found.criteria.ignored[0].expression == "_text"
    with store.reading() as reader:
        assert reader.query("SELECT COUNT(*) FROM fulltext_index")[0][0] == 0

    on = Engine(store, Settings(database_url=database_url), False)
    found = on.search_page("Patient", [("_text", "heart")], True, 10)
    assert found.versions == [] and found.warnings[0].code == "incomplete"
    reindex.run(store)
    found = on.search_page("Patient", [("_text", "heart")], True, 10)
    assert [v.id for v in found.versions] == ["p1"] and found.warnings == []
    Engine(store, Settings(database_url=database_url), False)  # on already: no new rebuild
    with store.reading() as reader:
        assert reindex.pending(reader) == []
