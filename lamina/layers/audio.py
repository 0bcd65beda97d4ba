"""Keras 3's audio preprocessing layers: MelSpectrogram and STFTSpectrogram.

MelSpectrogram: torch.stft (centred, reflect-padded, periodic Hann window) -> magnitude
** mag_exp -> HTK mel filterbank -> optional decibels; output (batch, num_mel_bins, time).
STFTSpectrogram: the STFT as two strided 1-D convolutions whose kernels (real and imaginary
parts of windowed Fourier bases, the `STFT` initializer) are weights, as in Keras, so
they can be trained.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina import config, registry
from lamina.initializers import STFT
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec

_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


def _hertz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    return _MEL_HIGH_Q * torch.log(1.0 + hz / _MEL_BREAK_HZ)


def _linspace(start: torch.Tensor, stop: torch.Tensor, num: int) -> torch.Tensor:
    """start + i / (num - 1) * (stop - start): the rounding of Keras's torch linspace on
    tensor endpoints (which differs from torch.linspace's in the last bits)."""
    steps = torch.arange(num, dtype=start.dtype) / (num - 1)
    return start + steps * (stop - start)


def linear_to_mel_weight_matrix(
    num_mel_bins: int,
    num_spectrogram_bins: int,
    sampling_rate: float,
    lower_edge_hertz: float,
    upper_edge_hertz: float,
) -> torch.Tensor:
    """(num_spectrogram_bins, num_mel_bins) HTK triangular filters (DC bin excluded),
    linear in mel, computed in float32 as Keras does."""
    f32 = torch.float32
    nyquist = torch.tensor(float(sampling_rate), dtype=f32) / 2.0
    linear = _linspace(torch.tensor(0.0, dtype=f32), nyquist, num_spectrogram_bins)[1:]
    bins_mel = _hertz_to_mel(linear).unsqueeze(1)
    low = _hertz_to_mel(torch.tensor(float(lower_edge_hertz), dtype=f32))
    high = _hertz_to_mel(torch.tensor(float(upper_edge_hertz), dtype=f32))
    edges = _linspace(low, high, num_mel_bins + 2).unfold(0, 3, 1)
    lower, center, upper = (edges[:, i].reshape(1, num_mel_bins) for i in range(3))
    lower_slopes = (bins_mel - lower) / (center - lower)
    upper_slopes = (upper - bins_mel) / (upper - center)
    weights = torch.clamp(torch.minimum(lower_slopes, upper_slopes), min=0.0)
    return F.pad(weights, (0, 0, 1, 0))


@registry.register("layer", "MelSpectrogram")
class MelSpectrogram(Layer):
    """Mel-scaled (decibel) spectrograms of raw audio: (samples,) or (batch, samples)
    -> (num_mel_bins, frames) or (batch, num_mel_bins, frames)."""

    def __init__(
        self,
        fft_length: int = 2048,
        sequence_stride: int = 512,
        sequence_length: int | None = None,
        window: str | None = "hann",
        sampling_rate: int = 16000,
        num_mel_bins: int = 128,
        min_freq: float = 20.0,
        max_freq: float | None = None,
        power_to_db: bool = True,
        top_db: float = 80.0,
        mag_exp: float = 2.0,
        min_power: float = 1e-10,
        ref_power: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if fft_length < self.sequence_length:
            raise _error(
                self,
                "fft_length >= sequence_length",
                fft_length=fft_length,
                sequence_length=self.sequence_length,
            )
        if window not in (None, "hann", "hamming"):
            raise _error(self, "window 'hann', 'hamming' or None", window=window)
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power

    def _window(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        n = self.sequence_length
        if self.window == "hann":
            return torch.hann_window(n, periodic=True, dtype=dtype, device=device)
        if self.window == "hamming":
            return torch.hamming_window(n, periodic=True, dtype=dtype, device=device)
        return torch.ones(n, dtype=dtype, device=device)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(inputs)
        if x.dtype not in (torch.float32, torch.float64):
            x = x.to(torch.float32)
        lead, samples = x.shape[:-1], x.shape[-1]
        spec = torch.stft(
            x.reshape(-1, samples),
            n_fft=self.fft_length,
            hop_length=self.sequence_stride,
            win_length=self.sequence_length,
            window=self._window(x.dtype, x.device),
            center=True,
            return_complex=True,
        ).transpose(-2, -1)  # (N, frames, bins)
        magnitude = torch.sqrt(spec.real.square() + spec.imag.square()) ** self.mag_exp
        matrix = linear_to_mel_weight_matrix(
            self.num_mel_bins,
            magnitude.shape[-1],
            self.sampling_rate,
            self.min_freq,
            self.max_freq,
        ).to(device=x.device, dtype=magnitude.dtype)
        mel = torch.tensordot(magnitude, matrix, dims=1)
        if self.power_to_db:
            db = 10.0 * torch.log10(torch.clamp(mel, min=self.min_power))
            ref = max(abs(float(self.ref_power)), self.min_power)
            db = db - 10.0 * torch.log10(torch.tensor(ref, dtype=db.dtype, device=db.device))
            mel = torch.maximum(db, db.max() - self.top_db)
        out = mel.transpose(-1, -2).reshape(*lead, self.num_mel_bins, -1)
        return out.to(self._dtype) if self._dtype.is_floating_point else out

    def compute_output_shape(self, input_shape: Any) -> tuple:
        steps = input_shape[-1]
        frames = (
            None if steps is None else (steps + self.sequence_stride + 1) // self.sequence_stride
        )
        return (*tuple(input_shape)[:-1], self.num_mel_bins, frames)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "fft_length": self.fft_length,
            "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length,
            "window": self.window,
            "sampling_rate": self.sampling_rate,
            "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "power_to_db": self.power_to_db,
            "top_db": self.top_db,
            "mag_exp": self.mag_exp,
            "min_power": self.min_power,
            "ref_power": self.ref_power,
        }


_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


@registry.register("layer", "STFTSpectrogram")
class STFTSpectrogram(Layer):
    """Spectrograms of multi-channel signals (batch, time, channels) with trainable STFT
    kernels. mode: 'log' (log magnitude), 'magnitude', 'psd', 'real', 'imag', 'angle' or
    'stft' (real and imaginary parts concatenated). Output (batch, frames, channels *
    bins), or (batch, frames, bins, channels) with expand_dims (channels_last)."""

    def __init__(
        self,
        mode: str = "log",
        frame_length: int = 256,
        frame_step: int | None = None,
        fft_length: int | None = None,
        window: Any = "hann",
        periodic: bool = False,
        scaling: str | None = "density",
        padding: str = "valid",
        expand_dims: bool = False,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise _error(self, "1 <= frame_step <= frame_length", frame_step=frame_step)
        if fft_length is not None and fft_length < frame_length:
            raise _error(self, "fft_length >= frame_length", fft_length=fft_length)
        if mode not in _MODES:
            raise _error(self, f"mode one of {_MODES}", mode=mode)
        if scaling not in (None, "density", "spectrum"):
            raise _error(self, "scaling None, 'density' or 'spectrum'", scaling=scaling)
        if padding not in ("valid", "same"):
            raise _error(self, "padding 'valid' or 'same'", padding=padding)
        fmt = config.image_data_format() if data_format is None else data_format
        if fmt not in ("channels_last", "channels_first"):
            raise _error(self, "data_format 'channels_last' or 'channels_first'", data_format=fmt)
        if isinstance(window, str):
            STFT("real", window, scaling, periodic)  # validates the window name
        self.mode, self.frame_length, self.frame_step = mode, frame_length, frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window, self.periodic, self.scaling = window, periodic, scaling
        self.padding, self.expand_dims, self.data_format = padding, expand_dims, fmt
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            init = STFT("real", self.window, self.scaling, self.periodic)
            self.real_kernel = self.add_weight(name="real_kernel", shape=shape, initializer=init)
        if self.mode != "real":
            init = STFT("imag", self.window, self.scaling, self.periodic)
            self.imag_kernel = self.add_weight(name="imag_kernel", shape=shape, initializer=init)
        self.built = True

    def _conv(self, x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """(B, C, T) signals -> (B, C, bins, frames)."""
        batch, channels, steps = x.shape
        flat = x.reshape(batch * channels, 1, steps)
        if self.padding == "same":
            out_len = -(-steps // self._frame_step)
            total = max((out_len - 1) * self._frame_step + self.frame_length - steps, 0)
            flat = F.pad(flat, (total // 2, total - total // 2))
        weight = kernel.to(x.dtype).permute(2, 1, 0)  # (bins, 1, frame_length)
        out = F.conv1d(flat, weight, stride=self._frame_step)
        return out.reshape(batch, channels, out.shape[1], out.shape[2])

    def _layout(self, out: torch.Tensor) -> torch.Tensor:
        batch, channels, bins, frames = out.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return out.permute(0, 3, 2, 1)
            return out.reshape(batch, channels * bins, frames).transpose(1, 2)
        if self.expand_dims:
            return out.transpose(2, 3)
        return out.reshape(batch, channels * bins, frames)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if not inputs.is_floating_point():
            raise _error(self, "float16, float32 or float64 inputs", dtype=str(inputs.dtype))
        x = inputs.transpose(1, 2) if self.data_format == "channels_last" else inputs
        real = self._conv(x, self.real_kernel) if self.mode != "imag" else None
        imag = self._conv(x, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._layout(real)
        if self.mode == "imag":
            return self._layout(imag)
        if self.mode == "angle":
            return self._layout(torch.atan2(imag, real))
        if self.mode == "stft":
            return self._layout(torch.cat([real, imag], dim=2))
        power = real.square() + imag.square()
        if self.mode == "psd":
            inner = F.pad(power[:, :, 1:-1, :], (0, 0, 1, 1))
            return self._layout(power + inner)
        eps = config.epsilon()
        magnitude = self._layout(torch.sqrt(torch.clamp(power, min=eps)))
        if self.mode == "magnitude":
            return magnitude
        return torch.log(torch.clamp(magnitude, min=eps))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        steps = input_shape[1] if self.data_format == "channels_last" else input_shape[-1]
        bins = self._fft_length // 2 + 1
        if self.mode == "stft":
            bins *= 2
        if steps is None:
            frames = None
        elif self.padding == "same":
            frames = -(-steps // self._frame_step)
        else:
            frames = (steps - self.frame_length) // self._frame_step + 1
        if self.expand_dims:
            if self.data_format == "channels_last":
                return (input_shape[0], frames, bins, channels)
            return (input_shape[0], channels, frames, bins)
        if self.data_format == "channels_last":
            return (input_shape[0], frames, bins * channels)
        return (input_shape[0], bins * channels, frames)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "mode": self.mode,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "window": self.window,
            "periodic": self.periodic,
            "scaling": self.scaling,
            "padding": self.padding,
            "data_format": self.data_format,
            "expand_dims": self.expand_dims,
        }
