"""Keras 3's `keras.ops.numpy` on torch: one module per family of operations, re-exported here."""

__all__: list[str] = []
