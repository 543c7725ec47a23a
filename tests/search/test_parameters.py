"""The search parameters in force: the official definitions, not the package's examples."""

from __future__ import annotations

from ember.search.parameters import parameter


def test_the_packages_example_parameters_do_not_shadow_the_definitions() -> None:
    """hl7.fhir.r4.core also carries searchparameter.html's examples: one narrows
    Condition.subject to Organization, one redefines _id, one adds Patient:part-agree."""
    subject = parameter("Condition", "subject")
    assert subject is not None and set(subject.targets) == {"Group", "Patient"}
    assert subject.url == "http://hl7.org/fhir/SearchParameter/Condition-subject"
    id_ = parameter("Patient", "_id")
    assert id_ is not None and id_.url == "http://hl7.org/fhir/SearchParameter/Resource-id"
    assert parameter("Patient", "part-agree") is None
