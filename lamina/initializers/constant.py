"""Initializers without randomness: Zeros, Ones, Constant, Identity and STFT."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina import registry
from lamina.initializers.base import Initializer
from lamina.random.dtypes import to_torch_dtype


@registry.register("initializer", "Zeros", "zeros", "zero")
class Zeros(Initializer):
    """All zeros (Keras's default bias)."""

    def __call__(self, shape, dtype=None):
        return torch.zeros(tuple(shape), dtype=to_torch_dtype(dtype))


@registry.register("initializer", "Ones", "ones", "one")
class Ones(Initializer):
    """All ones (BatchNormalization's default gamma)."""

    def __call__(self, shape, dtype=None):
        return torch.ones(tuple(shape), dtype=to_torch_dtype(dtype))


@registry.register("initializer", "Constant", "constant")
class Constant(Initializer):
    """Every value `value`."""

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return torch.full(tuple(shape), self.value, dtype=to_torch_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


@registry.register("initializer", "Identity", "identity", "IdentityInitializer")
class Identity(Initializer):
    """`gain` times the identity matrix (2D shapes only; rectangular is allowed)."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(
                f"Expected a 2D shape for Identity, received: shape={tuple(shape)} "
                f"of rank {len(shape)}"
            )
        return self.gain * torch.eye(*shape, dtype=to_torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


# torch's windows by Keras's (scipy's) names; scipy's others are used when scipy is installed.
_TORCH_WINDOWS = {
    "hann": torch.hann_window,
    "hanning": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "bartlett": torch.bartlett_window,
}


def _window(name: str, length: int, periodic: bool) -> torch.Tensor:
    """The window `name` of `length` samples (float64), periodic or symmetric as scipy's."""
    if name in _TORCH_WINDOWS:
        return _TORCH_WINDOWS[name](length, periodic=periodic, dtype=torch.float64)
    if name in ("boxcar", "rectangular", "ones"):
        return torch.ones(length, dtype=torch.float64)
    try:
        from scipy.signal import get_window
    except ImportError as error:
        raise ValueError(
            f"Expected a window in {sorted(_TORCH_WINDOWS)} or 'boxcar' (others need scipy), "
            f"received: window={name!r}"
        ) from error
    return torch.as_tensor(get_window(name, length, periodic), dtype=torch.float64)


@registry.register("initializer", "STFT", "stft", "STFTInitializer")
class STFT(Initializer):
    """Conv kernels computing the real or imaginary part of a short-time Fourier transform.

    The shape is `(frame_length, 1, fft_length // 2 + 1)`; the kernel is
    cos (real) or sin (imag) of -2 pi t f / fft_length, times the window, divided by its
    L2 norm (`scaling='density'`) or L1 norm ('spectrum'). Used by STFTSpectrogram.
    """

    def __init__(
        self,
        side: str = "real",
        window: Any = "hann",
        scaling: str | None = "density",
        periodic: bool = False,
    ):
        if side not in ("real", "imag"):
            raise ValueError(f"Expected side 'real' or 'imag', received: side={side!r}")
        if isinstance(window, str):
            _window(window, 1, periodic)
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(
                f"Expected scaling None, 'density' or 'spectrum', received: scaling={scaling!r}"
            )
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        frame_length, _, bins = tuple(shape)
        fft_length = (bins - 1) * 2
        time = torch.arange(frame_length, dtype=torch.float64).reshape(frame_length, 1, 1)
        freq = torch.arange(bins, dtype=torch.float64).reshape(1, 1, bins) / fft_length
        args = -2.0 * time * freq * math.pi
        kernel = torch.cos(args) if self.side == "real" else torch.sin(args)
        if self.window is not None:
            win = self.window
            if isinstance(win, str):
                win = _window(win, frame_length, self.periodic)
            win = torch.as_tensor(win, dtype=torch.float64)
            if win.ndim != 1 or win.shape[0] != frame_length:
                raise ValueError(
                    f"Expected a window of shape ({frame_length},), received: "
                    f"window with shape={tuple(win.shape)}"
                )
            win = win.reshape(frame_length, 1, 1)
            scale = 1.0
            if self.scaling == "density":
                scale = torch.sqrt(torch.sum(win**2))
            elif self.scaling == "spectrum":
                scale = torch.sum(torch.abs(win))
            kernel = kernel * win / scale
        return kernel.to(to_torch_dtype(dtype))

    def get_config(self):
        window = self.window
        if isinstance(window, torch.Tensor):
            window = window.tolist()
        return {
            "side": self.side,
            "window": window,
            "periodic": self.periodic,
            "scaling": self.scaling,
        }
