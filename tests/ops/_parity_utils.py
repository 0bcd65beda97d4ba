"""Shared helpers of the lamina.ops parity tests: seeded inputs and a Keras-vs-Lamina comparison."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from lamina.ops.dtypes import standardize_dtype

RNG = np.random.default_rng(17)


class Case:
    """One call: positional and keyword arguments given identically to Keras and Lamina."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def fresh(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Deep copies, so an op that mutates its inputs can't leak into the other call."""
        return copy.deepcopy(self.args), copy.deepcopy(self.kwargs)

    def __repr__(self) -> str:
        def show(a: Any) -> str:
            if isinstance(a, (np.ndarray, torch.Tensor)):
                kind = "T" if isinstance(a, torch.Tensor) else "N"
                return f"{kind}{tuple(a.shape)}:{standardize_dtype(a.dtype)}"
            if isinstance(a, (list, tuple)):
                return "[" + ", ".join(show(v) for v in a) + "]"
            if isinstance(a, dict):
                return "{" + ", ".join(f"{k}: {show(v)}" for k, v in a.items()) + "}"
            return getattr(a, "__name__", repr(a))

        parts = [show(a) for a in self.args] + [f"{k}={show(v)}" for k, v in self.kwargs.items()]
        return f"Case({', '.join(parts)})"


def normal(shape: tuple[int, ...], dtype: str = "float32", scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(dtype)


def uniform(shape: tuple[int, ...], low: float, high: float, dtype: str = "float32") -> np.ndarray:
    return RNG.uniform(low, high, shape).astype(dtype)


def ints(shape: tuple[int, ...], low: int, high: int, dtype: str = "int32") -> np.ndarray:
    return RNG.integers(low, high, shape).astype(dtype)


def bools(shape: tuple[int, ...]) -> np.ndarray:
    return RNG.random(shape) > 0.5


def T(x: np.ndarray) -> torch.Tensor:  # noqa: N802 - short on purpose in case tables
    """The torch tensor of a NumPy array (same dtype)."""
    return torch.from_numpy(np.ascontiguousarray(x))


def _leaves(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _leaves(item)]
    if isinstance(x, dict):
        return [leaf for key in sorted(x) for leaf in _leaves(x[key])]
    return [x]


_TOL = {"float16": 2e-3, "bfloat16": 2e-2, "complex64": 1e-5, "float32": 1e-5, "float64": 1e-10}


def assert_same(
    got: Any,
    expected: Any,
    rtol: float | None = None,
    atol: float | None = None,
    values: bool = True,
) -> None:
    """Equal structure, standardized dtypes, shapes and (unless `values=False`) values."""
    got_leaves, exp_leaves = _leaves(got), _leaves(expected)
    assert len(got_leaves) == len(exp_leaves), (
        f"{len(got_leaves)} outputs, Keras gives {len(exp_leaves)}"
    )
    for g, e in zip(got_leaves, exp_leaves):
        if not isinstance(e, torch.Tensor):
            assert not isinstance(g, torch.Tensor) or g.dim() == 0, (type(g), type(e))
            np.testing.assert_allclose(
                np.asarray(g, dtype=np.float64), np.asarray(e, dtype=np.float64)
            )
            continue
        assert isinstance(g, torch.Tensor), f"expected a torch tensor, received {type(g).__name__}"
        dtype = standardize_dtype(e.dtype)
        assert standardize_dtype(g.dtype) == dtype, f"dtype {g.dtype}, Keras gives {e.dtype}"
        assert tuple(g.shape) == tuple(e.shape), (
            f"shape {tuple(g.shape)}, Keras gives {tuple(e.shape)}"
        )
        if not values:
            continue
        tol = _TOL.get(dtype, 0.0)
        g_np = (
            g.detach().resolve_conj().to(torch.float32 if dtype == "bfloat16" else g.dtype).numpy()
        )
        e_np = (
            e.detach().resolve_conj().to(torch.float32 if dtype == "bfloat16" else e.dtype).numpy()
        )
        np.testing.assert_allclose(
            g_np,
            e_np,
            rtol=tol if rtol is None else rtol,
            atol=tol if atol is None else atol,
            equal_nan=True,
        )
