"""Pretrained architectures for transfer learning (Keras's `keras.applications` path).

Models arrive here with the transfer-learning work; weights load only from local
files (safetensors or weights-only state dicts), never from the network.
"""

__all__: list[str] = []
