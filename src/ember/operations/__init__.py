"""Operations ($name URLs), one module each, registered on import."""

from ember.operations import validate
from ember.operations.registry import Invocation, Operation, find

__all__ = ["Invocation", "Operation", "find", "validate"]
