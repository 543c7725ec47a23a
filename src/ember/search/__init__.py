"""Search: parameters from the definitions, index extraction, criteria -> SQL."""
