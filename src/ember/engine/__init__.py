"""The meaning of the FHIR interactions, free of HTTP: the api, transactions,
operations and messaging all go through here."""
