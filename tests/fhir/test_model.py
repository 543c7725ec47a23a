"""The type registry answers from the official definitions."""

from __future__ import annotations

from ember.fhir.model import get_model

model = get_model("r4")


def test_resource_types() -> None:
    assert len(model.resource_types) == 146
    assert model.is_resource_type("Patient")
    assert not model.is_resource_type("Resource")
    assert not model.is_resource_type("DomainResource")
    assert not model.is_resource_type("HumanName")


def test_elements_in_definition_order_with_cardinality() -> None:
    patient = model.type("Patient")
    names = list(patient.elements)
    assert names[:4] == ["id", "meta", "implicitRules", "language"]
    assert names.index("identifier") < names.index("active") < names.index("name")
    name = patient.elements["name"]
    assert name.types == ("HumanName",) and name.min == 0 and name.max is None
    assert name.is_array
    status = model.type("Observation").elements["status"]
    assert (status.min, status.max, status.is_array) == (1, 1, False)
    assert status.binding is not None and status.binding.strength == "required"


def test_choice_types_expand_to_json_names() -> None:
    element, type_name = model.element("Observation", "valueQuantity") or (None, None)
    assert element is not None and element.is_choice and type_name == "Quantity"
    assert model.element("Observation", "valueFoo") is None
    assert model.element("Observation", "value") is None  # the stem itself is no JSON name
    assert "valueDateTime" in model.type("Observation").elements["value"].json_names()


def test_backbone_elements_and_content_references() -> None:
    contact = model.type("Patient").elements["contact"]
    assert contact.types == ("Patient.contact",)
    assert model.type("Patient.contact").kind == "backbone"
    assert model.element("Questionnaire.item", "item") is not None
    assert model.element("Questionnaire.item", "item")[1] == "Questionnaire.item"  # type: ignore[index]


def test_primitives() -> None:
    assert model.is_primitive("date") and not model.is_primitive("Quantity")
    date = model.type("date")
    assert date.regex is not None and date.regex.fullmatch("2024-02") is not None
    assert date.regex.fullmatch("24-02") is None
    assert model.json_type_of_primitive("boolean") is bool
    assert model.json_type_of_primitive("positiveInt") is int
    assert model.json_type_of_primitive("decimal") is float
    assert model.json_type_of_primitive("code") is str
    assert model.type("Patient").elements["id"].types == ("id",)


def test_type_hierarchy() -> None:
    assert model.is_subtype("Age", "Quantity")
    assert model.is_subtype("code", "string")
    assert model.is_subtype("Patient", "DomainResource")
    assert model.is_subtype("Patient", "Resource")
    assert not model.is_subtype("Quantity", "Age")
