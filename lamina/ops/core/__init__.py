"""Keras 3's `keras.ops.core` on torch: one module per family of operations, re-exported here.

It also holds Keras's ops that live in `keras.ops.math` and `keras.ops.einops` (fft,
segment reductions, top_k, logsumexp, rearrange, ...), which Keras exports at `keras.ops`.
"""

from lamina.ops.core.casting import *  # noqa: F403
from lamina.ops.core.casting import __all__ as _casting
from lamina.ops.core.control_flow import *  # noqa: F403
from lamina.ops.core.control_flow import __all__ as _control_flow
from lamina.ops.core.einops import *  # noqa: F403
from lamina.ops.core.einops import __all__ as _einops
from lamina.ops.core.fft import *  # noqa: F403
from lamina.ops.core.fft import __all__ as _fft
from lamina.ops.core.math import *  # noqa: F403
from lamina.ops.core.math import __all__ as _math
from lamina.ops.core.segments import *  # noqa: F403
from lamina.ops.core.segments import __all__ as _segments
from lamina.ops.core.slicing import *  # noqa: F403
from lamina.ops.core.slicing import __all__ as _slicing

__all__: list[str] = [*_casting, *_control_flow, *_einops, *_fft, *_math, *_segments, *_slicing]
