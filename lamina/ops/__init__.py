"""`lamina.ops`: Keras 3's `keras.ops` on torch, plus the shared tensor kernels below the layers.

Every Keras op is here under its Keras name (`ops.add`, `ops.relu`, `ops.qr`, ...), and in
its Keras submodule (`ops.numpy`, `ops.nn`, `ops.linalg`, `ops.image`, `ops.core`). The ops
take tensors, NumPy arrays, Python scalars and lists, and return torch tensors with the
dtypes Keras 3's torch backend gives (`lamina.ops.dtypes` holds the promotion rules), so
they work both inside a layer's `call` and on plain arrays.

`lamina.ops.warp`: batched affine warps of NHWC images and the matrices they take, used by
the augmentation layers and by `ImageDataGenerator`.
"""

from lamina.ops import core as core
from lamina.ops import image as image
from lamina.ops import linalg as linalg
from lamina.ops import nn as nn
from lamina.ops import numpy as numpy
from lamina.ops.core import *  # noqa: F403
from lamina.ops.linalg import *  # noqa: F403
from lamina.ops.nn import *  # noqa: F403
from lamina.ops.numpy import *  # noqa: F403
