"""All FHIRPath functions, registered in FUNCTIONS by importing their modules."""

from ember.fhir.fhirpath.functions import (  # noqa: F401  (modules register on import)
    arithmetic,
    conversion,
    existence,
    fhir,
    filtering,
    navigation,
    strings,
    subsetting,
    utility,
)
from ember.fhir.fhirpath.functions.registry import FUNCTIONS

__all__ = ["FUNCTIONS"]
