"""Keras 3's `keras.ops.numpy` on torch: one module per family of operations, re-exported here."""

# a..h (OPS-A)
from lamina.ops.numpy.binary_ah import *  # noqa: F403
from lamina.ops.numpy.binary_ah import __all__ as _binary_ah
from lamina.ops.numpy.creation_ah import *  # noqa: F403
from lamina.ops.numpy.creation_ah import __all__ as _creation_ah
from lamina.ops.numpy.elementwise_ah import *  # noqa: F403
from lamina.ops.numpy.elementwise_ah import __all__ as _elementwise_ah
from lamina.ops.numpy.reduce_ah import *  # noqa: F403
from lamina.ops.numpy.reduce_ah import __all__ as _reduce_ah
from lamina.ops.numpy.shape_ah import *  # noqa: F403
from lamina.ops.numpy.shape_ah import __all__ as _shape_ah

__all__: list[str] = [*_binary_ah, *_creation_ah, *_elementwise_ah, *_reduce_ah, *_shape_ah]

# i..z (OPS-B)
from lamina.ops.numpy.binary_iz import *  # noqa: E402, F403
from lamina.ops.numpy.binary_iz import __all__ as _binary_iz  # noqa: E402
from lamina.ops.numpy.creation_iz import *  # noqa: E402, F403
from lamina.ops.numpy.creation_iz import __all__ as _creation_iz  # noqa: E402
from lamina.ops.numpy.index_iz import *  # noqa: E402, F403
from lamina.ops.numpy.index_iz import __all__ as _index_iz  # noqa: E402
from lamina.ops.numpy.math_iz import *  # noqa: E402, F403
from lamina.ops.numpy.math_iz import __all__ as _math_iz  # noqa: E402
from lamina.ops.numpy.nanreduce_iz import *  # noqa: E402, F403
from lamina.ops.numpy.nanreduce_iz import __all__ as _nanreduce_iz  # noqa: E402
from lamina.ops.numpy.products_iz import *  # noqa: E402, F403
from lamina.ops.numpy.products_iz import __all__ as _products_iz  # noqa: E402
from lamina.ops.numpy.reduce_iz import *  # noqa: E402, F403
from lamina.ops.numpy.reduce_iz import __all__ as _reduce_iz  # noqa: E402
from lamina.ops.numpy.shape_iz import *  # noqa: E402, F403
from lamina.ops.numpy.shape_iz import __all__ as _shape_iz  # noqa: E402
from lamina.ops.numpy.vectorize_iz import *  # noqa: E402, F403
from lamina.ops.numpy.vectorize_iz import __all__ as _vectorize_iz  # noqa: E402

__all__ += [
    *_binary_iz,
    *_creation_iz,
    *_index_iz,
    *_math_iz,
    *_nanreduce_iz,
    *_products_iz,
    *_reduce_iz,
    *_shape_iz,
    *_vectorize_iz,
]
