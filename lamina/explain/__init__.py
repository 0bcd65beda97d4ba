"""Worked examples for learners: each step of a layer's arithmetic, printed as the slides do.

`conv2d`, `max_pool`, `avg_pool` and `dense` take one sample as NumPy arrays (or lists, or
tensors), print each output's arithmetic (`0*0 + 0*-1 + ... + 105*5 + ... = 320`), and return
the output, equal to what Lamina's Conv2D, MaxPooling2D, AveragePooling2D and Dense compute
for that sample with the same weights. NumPy only: importing this costs nothing.
"""

from lamina.explain.conv import conv2d
from lamina.explain.dense import dense
from lamina.explain.pooling import avg_pool, max_pool

__all__ = ["avg_pool", "conv2d", "dense", "max_pool"]
