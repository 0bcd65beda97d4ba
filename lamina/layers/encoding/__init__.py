"""Categorical encoding layers: CategoryEncoding, Discretization, Hashing, HashedCrossing."""

from lamina.layers.encoding.category_encoding import CategoryEncoding
from lamina.layers.encoding.discretization import Discretization
from lamina.layers.encoding.hashed_crossing import HashedCrossing
from lamina.layers.encoding.hashing import Hashing

__all__ = ["CategoryEncoding", "Discretization", "HashedCrossing", "Hashing"]
