"""The HTTP edge: an ASGI app that maps FHIR's RESTful API onto the engine."""
