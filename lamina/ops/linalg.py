"""Keras 3's `keras.ops.linalg` on `torch.linalg`."""

__all__: list[str] = []
