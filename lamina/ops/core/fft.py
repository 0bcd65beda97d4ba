"""Fourier transforms on (real, imaginary) pairs and complex views (Keras's `ops.fft`, `ops.stft`, ...).

Keras passes complex signals as a tuple of two float tensors; these functions take and
return such pairs and run `torch.fft` / `torch.stft` on the complex tensor between.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import standardize_dtype

__all__ = [
    "fft",
    "fft2",
    "ifft2",
    "irfft",
    "istft",
    "rfft",
    "stft",
    "view_as_complex",
    "view_as_real",
]


def _complex(x: Any) -> torch.Tensor:
    """The complex tensor of a (real, imaginary) pair of equal-shape float tensors."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"Expected a (real, imaginary) pair of tensors, received: x={x!r}")
    real, imag = convert_to_tensor(x[0]), convert_to_tensor(x[1])
    if real.shape != imag.shape:
        raise ValueError(
            "Expected real and imaginary parts of one shape, received: "
            f"x[0].shape={tuple(real.shape)}, x[1].shape={tuple(imag.shape)}"
        )
    if not (real.is_floating_point() and imag.is_floating_point()):
        raise ValueError(
            f"Expected float real and imaginary parts, received: dtypes={real.dtype}, {imag.dtype}"
        )
    return torch.complex(real, imag)


def _pair(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return z.real, z.imag


def fft(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The discrete Fourier transform along the last axis of a (real, imag) pair."""
    return _pair(torch.fft.fft(_complex(x)))


def fft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The 2-D discrete Fourier transform over the last two axes of a (real, imag) pair."""
    return _pair(torch.fft.fft2(_complex(x)))


def ifft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The inverse 2-D discrete Fourier transform over the last two axes of a (real, imag) pair."""
    return _pair(torch.fft.ifft2(_complex(x)))


def rfft(x: Any, fft_length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The one-sided Fourier transform of a real signal along its last axis, as (real, imag)."""
    return _pair(torch.fft.rfft(convert_to_tensor(x), n=fft_length, dim=-1, norm="backward"))


def irfft(x: Any, fft_length: int | None = None) -> torch.Tensor:
    """The real signal whose one-sided transform is the (real, imag) pair `x`."""
    return torch.fft.irfft(_complex(x), n=fft_length, dim=-1, norm="backward")


def _window(
    window: Any, sequence_length: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor | None:
    if window is None:
        return None
    if isinstance(window, str):
        if window == "hann":
            return torch.hann_window(sequence_length, periodic=True, dtype=dtype, device=device)
        if window == "hamming":
            return torch.hamming_window(sequence_length, periodic=True, dtype=dtype, device=device)
        raise ValueError(
            f"Expected window 'hann', 'hamming', a tensor or None, received: window={window!r}"
        )
    win = convert_to_tensor(window, dtype).to(device)
    if win.dim() != 1 or win.shape[0] != sequence_length:
        raise ValueError(
            f"Expected a window of shape ({sequence_length},), received: window.shape={tuple(win.shape)}"
        )
    return win


def stft(
    x: Any,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    window: Any = "hann",
    center: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Short-time Fourier transform of real signals: (real, imag) of shape (..., frames, fft_length // 2 + 1)."""
    x = convert_to_tensor(x)
    if standardize_dtype(x.dtype) not in ("float32", "float64"):
        raise TypeError(
            f"Expected a float32 or float64 signal, received: x.dtype={standardize_dtype(x.dtype)}"
        )
    if fft_length < sequence_length:
        raise ValueError(
            "Expected fft_length >= sequence_length, received: "
            f"fft_length={fft_length}, sequence_length={sequence_length}"
        )
    win = _window(window, sequence_length, x.dtype, x.device)
    if win is None:
        win = torch.ones(sequence_length, dtype=x.dtype, device=x.device)
    *batch, samples = x.shape
    spectrum = torch.stft(
        x.reshape(-1, samples),
        n_fft=fft_length,
        hop_length=sequence_stride,
        win_length=sequence_length,
        window=win,
        center=center,
        return_complex=True,
    )
    spectrum = spectrum.reshape(*batch, *spectrum.shape[-2:]).transpose(-2, -1)
    return _pair(spectrum)


def _overlap_add(frames: torch.Tensor, stride: int) -> torch.Tensor:
    """Sum frames (..., n, length) placed `stride` apart: (..., stride * (n - 1) + length)."""
    *batch, count, length = frames.shape
    total = stride * (count - 1) + length
    flat = frames.reshape(-1, count, length).transpose(1, 2)
    out = torch.nn.functional.fold(
        flat, output_size=(1, total), kernel_size=(1, length), stride=(1, stride)
    )
    return out.reshape(*batch, total)


def istft(
    x: Any,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    length: int | None = None,
    window: Any = "hann",
    center: bool = True,
) -> torch.Tensor:
    """Inverse of `stft`: the real signals whose (real, imag) short-time spectra are `x`."""
    spectrum = _complex(x)
    win = _window(window, sequence_length, spectrum.real.dtype, spectrum.device)
    if sequence_length == fft_length and center and win is not None:
        *batch, frames, bins = spectrum.shape
        signal = torch.istft(
            spectrum.reshape(-1, frames, bins).transpose(-2, -1),
            n_fft=fft_length,
            hop_length=sequence_stride,
            win_length=sequence_length,
            window=win,
            center=center,
            length=length,
            return_complex=False,
        )
        return signal.reshape(*batch, signal.shape[-1])
    frames = torch.fft.irfft(spectrum, n=fft_length, dim=-1)
    if win is not None:
        # Centre the window in fft_length and divide by the summed squared window of the
        # frames overlapping each sample, which undoes stft's analysis window.
        left = (fft_length - sequence_length) // 2
        win = torch.nn.functional.pad(win, (left, fft_length - sequence_length - left))
        overlaps = math.ceil(fft_length / sequence_stride)
        squares = torch.nn.functional.pad(win * win, (0, overlaps * sequence_stride - fft_length))
        denom = squares.reshape(overlaps, sequence_stride).sum(0).repeat(overlaps)[:fft_length]
        frames = frames * (win / denom)
    signal = _overlap_add(frames, sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        return signal[..., start : start + length]
    if center:
        return signal[..., start : -(fft_length // 2)]
    return signal[..., start:]


def view_as_complex(x: Any) -> torch.Tensor:
    """A complex64 tensor from a real tensor whose last axis (size 2) holds (real, imag)."""
    x = convert_to_tensor(x)
    if x.dim() < 1 or x.shape[-1] != 2:
        raise ValueError(f"Expected a last dimension of size 2, received: x.shape={tuple(x.shape)}")
    return torch.complex(x[..., 0].to(torch.float32), x[..., 1].to(torch.float32))


def view_as_real(x: Any) -> torch.Tensor:
    """A real tensor with a new last axis of size 2 holding the real and imaginary parts of `x`."""
    x = convert_to_tensor(x)
    if x.is_complex():
        return torch.stack((x.real, x.imag), dim=-1)
    return torch.stack((x, torch.zeros_like(x)), dim=-1)
