"""Resource formats: parsing and serialising FHIR content losslessly."""
