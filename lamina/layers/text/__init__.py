"""Text preprocessing layers: TextVectorization, StringLookup, IntegerLookup.

Strings stay on the host (Python str in NumPy arrays) until a lookup turns tokens into
index tensors; `IntegerLookup` runs in torch ops. Keras's semantics throughout.
"""

from lamina.layers.text.integer_lookup import IntegerLookup
from lamina.layers.text.string_lookup import StringLookup
from lamina.layers.text.text_vectorization import TextVectorization

__all__ = ["IntegerLookup", "StringLookup", "TextVectorization"]
