"""Keras 3's `keras.ops.nn` on torch: one module per family of operations, re-exported here."""

__all__: list[str] = []
