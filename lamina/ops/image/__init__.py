"""Keras 3's `keras.ops.image` on torch: one module per family of operations, re-exported here."""

__all__: list[str] = []
