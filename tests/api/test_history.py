"""history at instance, type and system level, with _count, _since, _at and paging."""

from __future__ import annotations

import time

from starlette.testclient import TestClient


def _versions(bundle: dict) -> list[tuple[str, str]]:
    return [(e["request"]["url"], e["response"]["etag"]) for e in bundle["entry"]]


def test_instance_history_newest_first(client: TestClient) -> None:
    client.put("/fhir/Patient/h1", json={"resourceType": "Patient", "id": "h1"})
    client.put("/fhir/Patient/h1", json={"resourceType": "Patient", "id": "h1", "active": True})
    client.delete("/fhir/Patient/h1")
    bundle = client.get("/fhir/Patient/h1/_history").json()
    assert bundle["type"] == "history"
    assert [e["request"]["method"] for e in bundle["entry"]] == ["DELETE", "PUT", "PUT"]
    assert [e["response"]["etag"] for e in bundle["entry"]] == ['W/"3"', 'W/"2"', 'W/"1"']
    assert "resource" not in bundle["entry"][0]
    assert bundle["entry"][1]["resource"]["active"] is True
    assert bundle["entry"][0]["fullUrl"].endswith("/fhir/Patient/h1")
    assert client.get("/fhir/Patient/nobody/_history").status_code == 404


def test_type_and_system_history(client: TestClient) -> None:
    client.post("/fhir/Patient", json={"resourceType": "Patient"})
    client.post("/fhir/Basic", json={"resourceType": "Basic", "code": {"text": "x"}})
    assert len(client.get("/fhir/Patient/_history").json()["entry"]) == 1
    system = client.get("/fhir/_history").json()
    assert [e["resource"]["resourceType"] for e in system["entry"]] == ["Basic", "Patient"]
    assert system["entry"][0]["request"] == {"method": "POST", "url": "Basic"}
    assert client.get("/fhir/_history?_total=accurate").json()["total"] == 2


def test_history_paging(client: TestClient) -> None:
    for i in range(5):
        client.put(
            "/fhir/Patient/pg", json={"resourceType": "Patient", "id": "pg", "birthDate": f"200{i}"}
        )
    seen: list[str] = []
    url: str | None = "/fhir/Patient/pg/_history?_count=2"
    while url:
        bundle = client.get(url).json()
        assert len(bundle["entry"]) <= 2
        seen += [e["response"]["etag"] for e in bundle["entry"]]
        next_links = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = next_links[0].replace("http://testserver", "") if next_links else None
    assert seen == [f'W/"{n}"' for n in range(5, 0, -1)]
    assert client.get("/fhir/_history?_page=garbage").status_code == 400
    assert client.get("/fhir/_history?_count=x").status_code == 400


def test_since_and_at(client: TestClient) -> None:
    client.put("/fhir/Patient/t1", json={"resourceType": "Patient", "id": "t1"})
    time.sleep(0.01)
    middle = client.put(
        "/fhir/Patient/t1", json={"resourceType": "Patient", "id": "t1", "active": True}
    ).json()["meta"]["lastUpdated"]
    time.sleep(0.01)
    client.put("/fhir/Patient/t1", json={"resourceType": "Patient", "id": "t1", "active": False})
    since = client.get(f"/fhir/Patient/t1/_history?_since={middle}").json()
    assert [e["response"]["etag"] for e in since["entry"]] == ['W/"3"', 'W/"2"']
    at = client.get(f"/fhir/Patient/t1/_history?_at={middle}").json()
    assert [e["response"]["etag"] for e in at["entry"]] == ['W/"2"']
    assert client.get("/fhir/_history?_since=yesterday").status_code == 400
    assert client.get("/fhir/_history?_since=2020&_since=2021").status_code == 400
    future = client.get("/fhir/_history?_since=2999-01-01T00:00:00Z").json()
    assert "entry" not in future
