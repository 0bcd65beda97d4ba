"""Inputs of the classic networks: array-likes in, float32 tensors inside, the caller's kind out.

Hopfield networks and RBMs take NumPy arrays, lists or torch tensors. Each method converts its
input once, checks its values (bipolar or binary states, the unit count), computes in torch, and
returns a tensor for a tensor input and a NumPy array otherwise, so NumPy users never see torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ArrayLike = Any  # np.ndarray, torch.Tensor, nested lists


def as_states(values: ArrayLike, name: str, units: int) -> tuple[torch.Tensor, bool, bool]:
    """(float32 tensor of shape (batch, units), input was a tensor, input was one vector).

    A vector of `units` values is taken as a batch of one; the flag lets the caller return a
    vector again."""
    was_tensor = isinstance(values, torch.Tensor)
    if was_tensor:
        tensor = values.detach().to(device="cpu", dtype=torch.float32)
    else:
        array = np.asarray(values)
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
        ):
            raise TypeError(
                f"Expected {name} to be numbers (an array, list or tensor), "
                f"received: {name}.dtype={array.dtype}"
            )
        tensor = torch.as_tensor(array.astype(np.float32, copy=False))
    single = tensor.ndim == 1
    if single:
        tensor = tensor[None]
    if tensor.ndim != 2 or tensor.shape[1] != units:
        raise ValueError(
            f"Expected {name} of shape ({units},) or (batch, {units}), "
            f"received: {name}.shape={tuple(values.shape if was_tensor else np.shape(values))}"
        )
    if not torch.isfinite(tensor).all():
        raise ValueError(f"Expected finite {name}, received: {name} with NaN or inf values")
    return tensor, was_tensor, single


def check_values(tensor: torch.Tensor, name: str, allowed: tuple[float, float]) -> None:
    """Raises unless every entry is one of `allowed` (bipolar (-1, 1) or binary (0, 1))."""
    bad = (tensor != allowed[0]) & (tensor != allowed[1])
    if bad.any():
        row, col = (int(i) for i in bad.nonzero()[0])
        kind = "bipolar" if allowed == (-1.0, 1.0) else "binary"
        raise ValueError(
            f"Expected {kind} {name} (every value {allowed[0]:g} or {allowed[1]:g}), "
            f"received: {name}[{row}, {col}]={float(tensor[row, col]):g}"
        )


def check_unit_interval(tensor: torch.Tensor, name: str) -> None:
    """Raises unless every entry lies in [0, 1] (binary states or probabilities)."""
    bad = (tensor < 0) | (tensor > 1)
    if bad.any():
        row, col = (int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"Expected {name} in [0, 1] (binary values or probabilities), "
            f"received: {name}[{row}, {col}]={float(tensor[row, col]):g}"
        )


def to_output(tensor: torch.Tensor, was_tensor: bool, single: bool) -> Any:
    """The result in the caller's kind: a tensor for a tensor input (on the device the network
    computes on), else a NumPy array."""
    if single:
        tensor = tensor[0]
    return tensor if was_tensor else tensor.cpu().numpy()


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """`value` as an int >= minimum (bools refused), or a ValueError in the project's words."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"Expected {name} to be an integer >= {minimum}, received: {name}={value!r}"
        )
    return int(value)


def non_negative(value: Any, name: str) -> float:
    """`value` as a float >= 0, or a ValueError in the project's words."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"Expected {name} to be a number >= 0, received: {name}={value!r}")
    if not value >= 0 or not np.isfinite(value):
        raise ValueError(f"Expected {name} to be a number >= 0, received: {name}={value!r}")
    return float(value)


def generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator on `device` seeded with `seed`; when None, seeded by a draw from torch's
    global generator, so `lamina.utils.set_random_seed` still makes the run repeatable."""
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    return torch.Generator(device=device).manual_seed(int(seed))
