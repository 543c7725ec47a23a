"""Operations ($name URLs), one module each, registered on import."""

from ember.operations import reindex, validate
from ember.operations.registry import Invocation, Operation, definition, find, registered

__all__ = ["Invocation", "Operation", "definition", "find", "registered", "reindex", "validate"]
