"""FHIR XML <-> JSON structure, one rule of xml.html / json.html at a time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ember.fhir.formats import json as fhir_json
from ember.fhir.formats import xml as fhir_xml
from ember.fhir.formats.json import WrittenDecimal
from tests.fhir.formats.conversions import as_written

NS = 'xmlns="http://hl7.org/fhir"'
XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def read(xml: str) -> dict[str, Any]:
    return fhir_xml.parse(xml.encode())


def written(resource: dict[str, Any]) -> str:
    return fhir_xml.dumps(resource).decode()


def round_trips(resource: dict[str, Any]) -> bool:
    return as_written(fhir_xml.parse(fhir_xml.dumps(resource))) == as_written(resource)


def test_primitives_take_their_json_types() -> None:
    patient = read(
        f'<Patient {NS}><id value="p1"/><active value="true"/>'
        '<multipleBirthInteger value="2"/></Patient>'
    )
    assert patient == {
        "resourceType": "Patient",
        "id": "p1",
        "active": True,
        "multipleBirthInteger": 2,
    }
    assert type(patient["multipleBirthInteger"]) is int


def test_decimals_keep_the_precision_they_were_written_with() -> None:
    obs = read(
        f'<Observation {NS}><status value="final"/><code><text value="w"/></code>'
        '<valueQuantity><value value="1.50"/></valueQuantity></Observation>'
    )
    value = obs["valueQuantity"]["value"]
    assert isinstance(value, Decimal) and str(value) == "1.50"
    assert fhir_json.dumps(obs["valueQuantity"]) == b'{"value":1.50}'
    exponent = read(
        f'<Observation {NS}><valueQuantity><value value="0.0000001"/></valueQuantity></Observation>'
    )["valueQuantity"]["value"]
    assert isinstance(exponent, WrittenDecimal) and exponent.text == "0.0000001"


def test_elements_are_written_in_definition_order_with_ids_as_attributes() -> None:
    patient = {
        "gender": "male",
        "name": [{"given": ["Jim"], "family": "Chalmers", "id": "n1"}],
        "id": "p1",
        "resourceType": "Patient",
    }
    assert written(patient) == (
        f'<?xml version="1.0" encoding="UTF-8"?><Patient {NS}><id value="p1"/>'
        '<name id="n1"><family value="Chalmers"/><given value="Jim"/></name>'
        '<gender value="male"/></Patient>'
    )


def test_primitive_id_and_extensions_become_underscore_siblings() -> None:
    xml = (
        f'<Patient {NS}><birthDate id="b1" value="1970-03-30">'
        '<extension url="http://example.org/text"><valueString value="Easter 1970"/></extension>'
        "</birthDate></Patient>"
    )
    patient = read(xml)
    assert patient == {
        "resourceType": "Patient",
        "birthDate": "1970-03-30",
        "_birthDate": {
            "id": "b1",
            "extension": [{"url": "http://example.org/text", "valueString": "Easter 1970"}],
        },
    }
    assert written(patient).endswith(xml)


def test_repeating_primitives_align_extensions_with_nulls() -> None:
    xml = (
        f'<Patient {NS}><name><given value="au"/><given>'
        '<extension url="http://example.org/x"><valueCode value="n"/></extension></given>'
        '<given value="nz"/></name></Patient>'
    )
    name = read(xml)["name"][0]
    assert name == {
        "given": ["au", None, "nz"],
        "_given": [None, {"extension": [{"url": "http://example.org/x", "valueCode": "n"}]}, None],
    }
    assert written(read(xml)).endswith(xml)


def test_contained_resources_and_bundle_entries_nest_whole_resources() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "contained": [{"resourceType": "Organization", "id": "o", "name": "Acme"}],
                    "managingOrganization": {"reference": "#o"},
                }
            }
        ],
    }
    xml = written(bundle)
    assert '<entry><resource><Patient><contained><Organization><id value="o"/>' in xml
    assert round_trips(bundle)


def test_narrative_is_xhtml_in_xml_and_the_same_string_in_json() -> None:
    div = f"<div {XHTML}>\n  <p>The &quot;name&quot; is <b>Jim</b> &amp; <br/>co</p>\n</div>"
    patient = {"resourceType": "Patient", "text": {"status": "generated", "div": div}}
    assert f'<text><status value="generated"/>{div}</text>' in written(patient)
    assert fhir_xml.parse(fhir_xml.dumps(patient, pretty=True))["text"]["div"] == div


def test_narrative_with_a_borrowed_prefix_is_given_its_own_declarations() -> None:
    xml = (
        f'<Patient {NS} xmlns:h="http://www.w3.org/1999/xhtml"><text><status value="generated"/>'
        "<h:div><h:p>x</h:p></h:div></text></Patient>"
    )
    div = read(xml)["text"]["div"]
    assert div == '<h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p>x</h:p></h:div>'


def test_a_malformed_narrative_cannot_be_written_as_xml() -> None:
    patient = {"resourceType": "Patient", "text": {"status": "generated", "div": "<div>x"}}
    with pytest.raises(fhir_xml.XMLFormatError, match="XHTML"):
        fhir_xml.dumps(patient)


def test_whitespace_and_line_breaks_in_strings_survive() -> None:
    patient = {"resourceType": "Patient", "name": [{"text": ' two\nlines\tand "quotes" <&> '}]}
    xml = written(patient)
    assert 'value=" two&#10;lines&#9;and &quot;quotes&quot; &lt;&amp;&gt; "' in xml
    assert round_trips(patient)


def test_non_strings_are_trimmed_when_read() -> None:
    assert read(f'<Patient {NS}><active value=" true "/></Patient>')["active"] is True


def test_a_non_repeating_element_given_twice_is_left_for_validation_to_report() -> None:
    patient = read(f'<Patient {NS}><gender value="male"/><gender value="female"/></Patient>')
    assert patient["gender"] == ["male", "female"]


def test_schema_location_on_the_root_is_ignored() -> None:
    xml = (
        f'<Patient {NS} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://hl7.org/fhir fhir-single.xsd"><id value="p"/></Patient>'
    )
    assert read(xml) == {"resourceType": "Patient", "id": "p"}


def test_json_only_properties_cannot_be_written() -> None:
    with pytest.raises(fhir_xml.XMLFormatError, match="no property 'nickname'"):
        fhir_xml.dumps({"resourceType": "Patient", "nickname": "Jim"})


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (f'<Patient {NS}><nickname value="x"/></Patient>', "Undefined element 'nickname'"),
        (f'<Patient {NS}><active value="true" colour="red"/></Patient>', "Undefined attribute"),
        (f'<Patient {NS}>stray<active value="true"/></Patient>', "Text should not be present"),
        (f'<Patient {NS}><active value="yes"/></Patient>', "not a valid boolean"),
        (f'<Patient {NS}><multipleBirthInteger value="07"/></Patient>', "not a valid integer"),
        (f"<Patient {NS}><active/></Patient>", "has no value attribute"),
        (f'<Patient {NS}><id url="x" value="p"/></Patient>', "Undefined attribute"),
        ('<Patient><id value="p"/></Patient>', "is not a FHIR resource"),
        (f"<Nonsense {NS}/>", "is not a FHIR resource"),
        (f"<Patient {NS}><contained/></Patient>", "exactly one resource"),
        (f"<Patient {NS}><active value='true'></Patient>", "not well-formed"),
    ],
)
def test_what_json_cannot_carry_is_refused(xml: str, message: str) -> None:
    with pytest.raises(fhir_xml.XMLFormatError, match=message):
        read(xml)


# -- security (xml.html: no DTDs; XXE) ---------------------------------------------------

XXE_FILE = (
    '<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<Patient {NS}><name><text value="&xxe;"/></name></Patient>'
)
XXE_NETWORK = (
    f'<?xml version="1.0"?><!DOCTYPE Patient SYSTEM "http://127.0.0.1:1/evil.dtd"><Patient {NS}/>'
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    )
    + f']><Patient {NS}><name><text value="&lol9;"/></name></Patient>'
)


@pytest.mark.parametrize("xml", [XXE_FILE, XXE_NETWORK, BILLION_LAUGHS])
def test_doctypes_entities_and_external_resources_are_refused(xml: str) -> None:
    with pytest.raises(fhir_xml.XMLFormatError, match="DOCTYPE"):
        read(xml)


def test_undeclared_entities_are_refused() -> None:
    with pytest.raises(fhir_xml.XMLFormatError, match="not well-formed"):
        read(f'<Patient {NS}><name><text value="&reg;"/></name></Patient>')


def test_only_utf8_is_read() -> None:
    latin1 = f'<?xml version="1.0" encoding="ISO-8859-1"?><Patient {NS}><id value="é"/></Patient>'
    with pytest.raises(fhir_xml.XMLFormatError, match="UTF-8"):
        fhir_xml.parse(latin1.encode("latin-1"))
