"""XML and Turtle against the official material: every R4 example survives
JSON -> XML -> JSON and can be written as Turtle, the FHIRPath suite's XML inputs read
as their JSON conversions, and the validator suite's XML cases are read or refused as
their expected outcomes say."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ember.fhir.formats import json as fhir_json
from ember.fhir.formats import turtle as fhir_turtle
from ember.fhir.formats import xml as fhir_xml
from tests.fhir.formats.conversions import as_written, differences
from tests.shared import shared_testdata


def _examples() -> list[Path]:
    files = sorted(shared_testdata("examples", "r4").glob("*.json"))
    assert len(files) == 734, f"expected the 734 R4 examples, found {len(files)}"
    return files


def test_every_r4_example_round_trips_through_xml() -> None:
    failures: dict[str, str] = {}
    for path in _examples():
        original = fhir_json.parse(path.read_bytes())
        try:
            back = fhir_xml.parse(fhir_xml.dumps(original))
        except ValueError as exc:
            failures[path.name] = str(exc)
            continue
        found = list(differences(as_written(original), as_written(back)))
        if found:
            failures[path.name] = "; ".join(found[:3])
    passed = len(_examples()) - len(failures)
    print(f"\nJSON -> XML -> JSON: {passed} of {len(_examples())} R4 examples identical")
    assert failures == {}


def test_pretty_xml_reads_the_same() -> None:
    original = fhir_json.parse(
        shared_testdata("examples", "r4", "Patient-example.json").read_bytes()
    )
    pretty = fhir_xml.dumps(original, pretty=True)
    assert b"\n  <id value=" in pretty
    assert as_written(fhir_xml.parse(pretty)) == as_written(original)


# -- the FHIRPath suite's inputs ---------------------------------------------------------

# The JSON files beside the XML inputs were made by a converter with its own defects;
# each is named here with the path it affects.
#  * empty `_name: {}` objects (json.html: objects are never empty) where the converter
#    dropped an XML comment that sat next to the element;
_EMPTY_EXTRAS_IN_JSON_CONVERSION = {
    "codesystem-example": {".concept[0]._display"},
    "observation-example": {".code.coding[0]._display", ".code.coding[1]._display"},
    "patient-example": {"._gender", ".contact[0].period._start", ".name[2]._use"},
    "patient-example-period": {"._gender", ".contact[0].period._start", ".name[2]._use"},
    "valueset-example-expansion": {
        "._date",
        ".meta._profile",
        ".expansion._identifier",
        ".expansion._offset",
        ".expansion._timestamp",
        ".expansion._total",
        ".expansion.contains[0]._version",
        ".expansion.parameter[0]._name",
    },
}
#  * values the converter did not carry as an XML processor reads them.
_OTHER_DEFECTS_IN_JSON_CONVERSION = {
    # a literal line break inside an attribute value: XML attribute-value normalisation
    # (XML 1.0 section 3.3.3) makes it a space; the JSON kept "\n"
    ("codesystem-example", ".description"),
    # a primitive written as an object {"value": ...} instead of a JSON string
    ("parameters-example-types", ".parameter[2].valueUuid"),
}


def _without_empty_extras(value: Any, path: str, dropped: set[str]) -> Any:
    if isinstance(value, list):
        return [_without_empty_extras(v, f"{path}[{i}]", dropped) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        empty = item == {} or (isinstance(item, list) and all(i in ({}, None) for i in item))
        if key.startswith("_") and empty:
            dropped.add(f"{path}.{key}")
        else:
            result[key] = _without_empty_extras(item, f"{path}.{key}", dropped)
    return result


def _xhtml_content(text: str) -> Any:
    """Narrative as XHTML content: elements, attributes and text that is not blank
    (the converter re-serialised narrative: no blank text between elements, `"` for
    `&quot;`; neither changes the XHTML)."""

    def content(element: etree._Element) -> Any:
        texts = [t for t in (element.text, *(c.tail for c in element)) if t and t.strip()]
        return (element.tag, dict(element.attrib), texts, [content(c) for c in element])

    return content(etree.fromstring(text.encode()))


def _with_narrative_as_xhtml(resource: dict[str, Any]) -> dict[str, Any]:
    if "text" in resource:
        resource["text"]["div"] = _xhtml_content(resource["text"]["div"])
    return resource


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in shared_testdata("fhirpath", "r4", "input").glob("*.xml"))
)
def test_fhirpath_inputs_read_as_their_json_conversions(name: str) -> None:
    folder = shared_testdata("fhirpath", "r4", "input")
    read = fhir_xml.parse((folder / f"{name}.xml").read_bytes())
    converted = fhir_json.parse((folder / f"{name}.json").read_bytes())
    dropped: set[str] = set()
    converted = _without_empty_extras(converted, "", dropped)
    assert dropped == _EMPTY_EXTRAS_IN_JSON_CONVERSION.get(name, set())
    found = {
        d.split(":")[0]
        for d in differences(
            as_written(_with_narrative_as_xhtml(converted)),
            as_written(_with_narrative_as_xhtml(read)),
        )
    }
    assert found == {p for n, p in _OTHER_DEFECTS_IN_JSON_CONVERSION if n == name}


# -- the validator suite's XML cases -----------------------------------------------------

# What "as expected" means for a parser: the validator's expected outcomes mix problems
# of the XML itself with problems of the content. A parser must refuse exactly the
# documents whose outcome reports an XML-level problem (not well-formed, an undefined
# element or attribute, stray text: things FHIR JSON cannot carry) and read every other
# one, leaving content problems (cardinality, codes, invariants, references) to
# validation, as it does for JSON.
_XML_LEVEL = re.compile(r"^(Undefined element|Undefined attribute|Text should not be present)")


def _xml_level_problems(outcome: dict[str, Any]) -> list[str]:
    problems = []
    for issue in outcome.get("issue", ()):
        text = issue.get("details", {}).get("text", "")
        xml_located = issue.get("expression") == ["(xml)"]
        if issue["severity"] in ("error", "fatal") and (xml_located or _XML_LEVEL.match(text)):
            problems.append(text)
    return problems


def _validator_xml_cases() -> list[dict[str, Any]]:
    manifest = json.loads(shared_testdata("validator", "manifest.json").read_text())
    return [case for case in manifest["cases"] if case["file"].endswith(".xml")]


@pytest.mark.parametrize("case", _validator_xml_cases(), ids=lambda case: case["name"])
def test_validator_xml_cases_are_read_or_refused_as_expected(case: dict[str, Any]) -> None:
    folder = shared_testdata("validator")
    outcome = json.loads((folder / case["expected_outcome"]).read_text())
    problems = _xml_level_problems(outcome)
    data = (folder / case["file"]).read_bytes()
    if problems:
        with pytest.raises(fhir_xml.XMLFormatError):
            fhir_xml.parse(data)
    else:
        assert fhir_xml.parse(data)["resourceType"]


def test_every_r4_example_can_be_written_as_turtle() -> None:
    failures: dict[str, str] = {}
    for path in _examples():
        try:
            written = fhir_turtle.dumps(fhir_json.parse(path.read_bytes()), pretty=True)
        except ValueError as exc:
            failures[path.name] = str(exc)
            continue
        if written.count(b"fhir:nodeRole fhir:treeRoot") != 1:
            failures[path.name] = "not exactly one tree root"
    passed = len(_examples()) - len(failures)
    print(f"\nJSON -> Turtle: {passed} of {len(_examples())} R4 examples written")
    assert failures == {}
