"""Ember's FHIRPath engine (FHIRPath N1 plus the FHIR R4 additions).

    expression = compile("Patient.name.where(use = 'official').given")
    expression.evaluate(patient)            # -> ['Peter', 'James']
    evaluate(patient, "birthDate")          # -> [Date('1974-12-25')]

Expressions are parsed once into closures; evaluation takes plain JSON dicts and returns
plain Python values (bool, int, Decimal, str, Date/DateTime/Time, Quantity, or the JSON
dict of a complex element).
"""

from ember.fhir.fhirpath.api import Expression, compile, evaluate
from ember.fhir.fhirpath.errors import FHIRPathError, FHIRPathSyntaxError
from ember.fhir.fhirpath.quantity import Quantity
from ember.fhir.fhirpath.temporal import Date, DateTime, Time

__all__ = [
    "Date",
    "DateTime",
    "Expression",
    "FHIRPathError",
    "FHIRPathSyntaxError",
    "Quantity",
    "Time",
    "compile",
    "evaluate",
]
