"""Keras 3's `keras.ops.nn` on torch: one module per family of operations, re-exported here."""

from lamina.ops.nn.activations import *  # noqa: F403
from lamina.ops.nn.activations import __all__ as _activations
from lamina.ops.nn.attention import *  # noqa: F403
from lamina.ops.nn.attention import __all__ as _attention
from lamina.ops.nn.conv import *  # noqa: F403
from lamina.ops.nn.conv import __all__ as _conv
from lamina.ops.nn.ctc import *  # noqa: F403
from lamina.ops.nn.ctc import __all__ as _ctc
from lamina.ops.nn.encoding import *  # noqa: F403
from lamina.ops.nn.encoding import __all__ as _encoding
from lamina.ops.nn.losses import *  # noqa: F403
from lamina.ops.nn.losses import __all__ as _losses
from lamina.ops.nn.normalization import *  # noqa: F403
from lamina.ops.nn.normalization import __all__ as _normalization
from lamina.ops.nn.patches import *  # noqa: F403
from lamina.ops.nn.patches import __all__ as _patches
from lamina.ops.nn.polar import *  # noqa: F403
from lamina.ops.nn.polar import __all__ as _polar
from lamina.ops.nn.pooling import *  # noqa: F403
from lamina.ops.nn.pooling import __all__ as _pooling

__all__: list[str] = [
    *_activations,
    *_attention,
    *_conv,
    *_ctc,
    *_encoding,
    *_losses,
    *_normalization,
    *_patches,
    *_polar,
    *_pooling,
]
