"""Operations ($name URLs), one module each, registered on import."""

from ember.operations import reindex, validate
from ember.operations.registry import Invocation, Operation, find

__all__ = ["Invocation", "Operation", "find", "reindex", "validate"]
