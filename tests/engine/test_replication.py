"""History Bundles posted to the base are replayed as a transaction (http.html#transaction)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


def _patient(id_: str, family: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": id_, "name": [{"family": family}]}


def test_a_history_bundle_brings_each_resource_to_its_newest_listed_state(
    client: TestClient,
) -> None:
    client.post("/fhir/Patient", json=_patient("ignored", "Old"))  # POST: a server id
    [created] = client.get("/fhir/Patient").json()["entry"]
    created_id = created["resource"]["id"]
    client.put("/fhir/Patient/p1", json=_patient("p1", "First"))
    client.put("/fhir/Patient/p1", json=_patient("p1", "Second"))
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/p1"},
    }
    client.put("/fhir/Observation/o1", json=observation)
    client.delete("/fhir/Observation/o1")
    history = client.get("/fhir/_history?_total=accurate").json()
    assert history["type"] == "history" and history["total"] == 5
    for path in (f"Patient/{created_id}", "Patient/p1"):  # empty the server again
        client.delete(f"/fhir/{path}")

    response = client.post("/fhir", json=history)
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "transaction-response"
    assert client.get("/fhir/Patient/p1").json()["name"] == [{"family": "Second"}]
    assert client.get(f"/fhir/Patient/{created_id}").json()["name"] == [{"family": "Old"}]
    assert client.get("/fhir/Observation/o1").status_code == 410


def test_a_history_post_without_the_resource_id_is_refused(client: TestClient) -> None:
    history = {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            {
                "resource": {"resourceType": "Patient"},
                "request": {"method": "POST", "url": "Patient"},
                "response": {"status": "201"},
            },
        ],
    }
    response = client.post("/fhir", json=history)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.id"]
    assert client.get("/fhir/Patient?_total=accurate").json()["total"] == 0
