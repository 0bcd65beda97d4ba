"""keras.ops.numpy i..z against Keras 3 (torch backend): values, dtypes and shapes.

Every case runs twice: with the NumPy arrays as written and with them as torch tensors.
Python scalars stay scalars (weak types), so mixed-dtype promotion is checked too.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import ops  # noqa: E402

R = np.random.default_rng(17)


def F(*shape: int, dtype: str = "float32", lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    return R.uniform(lo, hi, shape).astype(dtype)


def P(*shape: int, dtype: str = "float32") -> np.ndarray:
    return F(*shape, dtype=dtype, lo=0.1, hi=3.0)


def I(*shape: int, dtype: str = "int32", lo: int = -5, hi: int = 6) -> np.ndarray:  # noqa: E743
    return R.integers(lo, hi, shape).astype(dtype)


def B(*shape: int) -> np.ndarray:
    return R.random(shape) > 0.5


def NAN(*shape: int) -> np.ndarray:
    x = F(*shape)
    x[R.random(shape) < 0.3] = np.nan
    x[0] = np.nan  # a slice that is all NaN
    return x


SPECIAL = np.array([1.5, -np.inf, np.nan, np.inf, -0.0, 2.0], dtype="float32")
CPLX = (F(3, 2) + 1j * F(3, 2)).astype("complex64")


def c(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


UNARY_FLOAT = [c(F(3, 4)), c(P(2, 3, dtype="float64")), c(I(5)), c(1.5)]
UNARY_POS = [c(P(3, 4)), c(P(4, dtype="float64")), c(I(5, lo=1)), c(2.0)]
BINARY = [
    c(F(3, 4), F(4)),
    c(I(3, 4), F(3, 1)),
    c(I(2, 3, dtype="int8"), 3),
    c(F(2, 3), 2.5),
    c(I(2, 3), 1.5),
    c(F(2, 3, dtype="float16"), F(2, 3)),
    c(I(4, dtype="uint8", lo=0), I(4, dtype="int8")),
]
BINARY_CMP = BINARY + [c(B(3), B(3)), c(I(3, 2), 2)]
REDUCE = [
    c(F(3, 4, 5)),
    c(F(3, 4, 5), axis=1),
    c(F(3, 4, 5), axis=(0, 2), keepdims=True),
    c(I(4, 5), axis=-1),
    c(F(3, 4), keepdims=True),
]
NANS = NAN(3, 4)
NAN_REDUCE = [c(NANS), c(NANS, axis=1), c(NANS, axis=0, keepdims=True), c(F(3, 4), axis=(0, 1))]

OPS_PARITY: dict[str, list[Any]] = {
    "ops.i0": [c(F(3, 4)), c(I(4)), c(F(3, dtype="float64"))],
    "ops.identity": [c(3), c(4, dtype="int32"), c(2, dtype="bfloat16")],
    "ops.imag": [c(CPLX), c(CPLX.astype("complex128"))],
    "ops.real": [c(CPLX), c(F(3))],
    "ops.inner": [c(F(3, 4), F(5, 4)), c(I(3, 4), I(4)), c(I(3), F(3)), c(F(3), 2.0)],
    "ops.isclose": [
        c(F(3, 4), F(3, 4)),
        c(SPECIAL, SPECIAL, equal_nan=True),
        c(I(4), I(4)),
        c(F(4), 0.5, atol=1.0),
    ],
    "ops.isfinite": [c(SPECIAL), c(I(3))],
    "ops.isin": [c(I(6), I(3)), c(F(5), F(5)[:2]), c(B(4), B(2)), c(I(5), I(3), invert=True)],
    "ops.isinf": [c(SPECIAL), c(I(3))],
    "ops.isnan": [c(SPECIAL), c(I(3))],
    "ops.isneginf": [c(SPECIAL)],
    "ops.isposinf": [c(SPECIAL)],
    "ops.isreal": [c(CPLX), c(F(3))],
    "ops.kaiser": [c(8, 5.0), c(5, 0.5)],
    "ops.kron": [c(F(2, 3), F(2, 2)), c(I(2), I(3)), c(I(2, 2), F(2, 2))],
    "ops.lcm": [c(I(3, 4, lo=1), I(4, lo=1)), c(I(4, dtype="int8", lo=1), 4)],
    "ops.ldexp": [c(F(3), I(3)), c(F(2, 3), I(3, dtype="int8"))],
    "ops.left_shift": [c(I(3, lo=0), I(3, lo=0, hi=4)), c(I(3, dtype="int8", lo=0, hi=4), 2)],
    "ops.right_shift": [c(I(3, lo=0, hi=100), I(3, lo=0, hi=4)), c(I(3, dtype="uint8", lo=0), 1)],
    "ops.less": BINARY_CMP,
    "ops.less_equal": BINARY_CMP,
    "ops.not_equal": BINARY_CMP,
    "ops.linspace": [
        c(0, 1, 7),
        c(0.0, 10.0, 5, endpoint=False),
        c(F(3), F(3), 4),
        c(0, 9, 4, retstep=True),
        c(1, 9, 5, dtype="int32"),
    ],
    "ops.log": UNARY_POS,
    "ops.log10": UNARY_POS,
    "ops.log1p": UNARY_POS,
    "ops.log2": UNARY_POS,
    "ops.logaddexp": [
        c(F(3, 4), F(4)),
        c(I(3), F(3)),
        c(F(3, dtype="float16"), F(3, dtype="float16")),
        c(F(3), 1),
    ],
    "ops.logaddexp2": [c(F(3, 4), F(4)), c(I(3), I(3)), c(F(3), 1.0)],
    "ops.logical_and": BINARY_CMP,
    "ops.logical_or": BINARY_CMP,
    "ops.logical_xor": BINARY_CMP,
    "ops.logical_not": [c(B(3, 2)), c(F(4)), c(I(3))],
    "ops.logspace": [
        c(0, 2, 5),
        c(0.0, 3.0, 4, base=2),
        c(0, 2, 4, endpoint=False),
        c(F(2), F(2), 3),
    ],
    "ops.matmul": [
        c(F(2, 3, 4), F(4, 5)),
        c(I(3, 4, dtype="int8"), I(4, 2, dtype="int8")),
        c(I(3, 4), F(4, 2)),
        c(F(3), F(3)),
        c(B(2, 3), B(3, 2)),
        c(F(2, 3, dtype="float16"), F(3, 2, dtype="float16")),
    ],
    "ops.max": REDUCE[:-1] + [c(F(3, 4), axis=0, initial=0.5), c(B(3, 2), axis=0)],
    "ops.min": REDUCE[:-1] + [c(F(3, 4), axis=0, initial=-0.5), c(I(3, 2, dtype="uint8", lo=0))],
    "ops.maximum": BINARY,
    "ops.minimum": BINARY,
    "ops.mean": REDUCE + [c(B(3, 4), axis=0), c(F(3, 4, dtype="float16")), c(I(3, dtype="int64"))],
    "ops.median": [
        c(F(4, 5)),
        c(F(4, 6), axis=1),
        c(I(4, 6), axis=0, keepdims=True),
        c(F(2, 3, 4), axis=(0, 2)),
    ],
    "ops.meshgrid": [c(F(3), F(4)), c(I(2), I(3), indexing="ij"), c(F(2), F(3), F(4))],
    "ops.mod": [
        c(F(3, 4), P(4)),
        c(I(3, 4), I(4, lo=1)),
        c(I(3, dtype="int8"), 3),
        c(F(3), 0.7),
        c(B(3), B(3) | True),
    ],
    "ops.moveaxis": [c(F(2, 3, 4), 0, -1), c(F(2, 3, 4), [0, 1], [2, 0])],
    "ops.multiply": BINARY + [c(B(3), I(3))],
    "ops.nan_to_num": [c(SPECIAL), c(SPECIAL, nan=1.0, posinf=5.0, neginf=-5.0), c(I(3))],
    "ops.nanargmax": [c(NANS), c(NANS, axis=1), c(NANS, axis=0, keepdims=True), c(I(3, 4), axis=1)],
    "ops.nanargmin": [c(NANS), c(NANS, axis=1), c(NANS, axis=1, keepdims=True), c(I(3, 4), axis=0)],
    "ops.nancumprod": [
        c(NANS),
        c(NANS, axis=1),
        c(I(3, 4, lo=1, hi=3), axis=0),
        c(NANS, axis=0, dtype="float64"),
    ],
    "ops.nancumsum": [c(NANS), c(NANS, axis=1), c(I(3, 4), axis=0), c(B(3, 2), axis=0)],
    "ops.nanmax": NAN_REDUCE + [c(I(3, 4), axis=1)],
    "ops.nanmin": NAN_REDUCE + [c(I(3, 4), axis=0)],
    "ops.nanmean": NAN_REDUCE + [c(I(3, 4), axis=0)],
    "ops.nanmedian": NAN_REDUCE + [c(NANS, axis=())],
    "ops.nanpercentile": [
        c(NANS, 30.0),
        c(NANS, [10.0, 90.0], axis=1),
        c(NANS, 50.0, axis=1, keepdims=True),
    ],
    "ops.nanprod": NAN_REDUCE + [c(I(3, 4, dtype="int8", lo=1, hi=3), axis=1)],
    "ops.nanquantile": [
        c(NANS, 0.3),
        c(NANS, [0.1, 0.9], axis=1),
        c(NANS, 0.5, axis=1, keepdims=True),
    ],
    "ops.nanstd": NAN_REDUCE,
    "ops.nansum": NAN_REDUCE + [c(B(3, 4), axis=0), c(I(3, 4, dtype="int8"))],
    "ops.nanvar": NAN_REDUCE + [c(I(3, 4), axis=1)],
    "ops.ndim": [c(F(2, 3, 4)), c(3.0)],
    "ops.negative": [c(F(3)), c(I(3, dtype="int8"))],
    "ops.nextafter": [c(F(4), F(4)), c(F(3), 0.0), c(I(3), F(3))],
    "ops.nonzero": [c(I(3, 4)), c(B(5))],
    "ops.ones": [c((2, 3)), c(3, dtype="int32"), c([2, 1], dtype="bool")],
    "ops.ones_like": [c(F(2, 3)), c(I(3), dtype="float16")],
    "ops.outer": [c(F(3), F(4)), c(I(2, 2), I(3)), c(I(3), F(2))],
    "ops.pad": [
        c(F(2, 3), ((1, 2), (0, 1))),
        c(I(2, 3), ((1, 1), (2, 0)), constant_values=7),
        c(F(2, 4), ((1, 1), (2, 2)), mode="reflect"),
        c(F(4), (2, 1)),
        c(F(1, 2, 4, 3), ((0, 0), (1, 1), (2, 0), (0, 0)), mode="reflect"),
    ],
    "ops.percentile": [
        c(F(4, 5), 30.0),
        c(F(4, 5), [10.0, 90.0], axis=1),
        c(I(4, 5), 50, axis=0, keepdims=True),
        c(F(4, 5), 40.0, method="nearest"),
    ],
    "ops.power": [
        c(P(3, 4), F(4)),
        c(I(3, lo=0, hi=4), I(3, lo=0, hi=3)),
        c(F(3), 2),
        c(I(3), 2.0),
        c(I(3, dtype="int8"), 2),
    ],
    "ops.prod": REDUCE[:-1]
    + [c(I(3, 4, dtype="int8", lo=1, hi=3), axis=0), c(B(3, 2)), c(F(3, 2), dtype="float64")],
    "ops.ptp": [c(F(3, 4)), c(F(3, 4), axis=0), c(I(3, 4), axis=1, keepdims=True)],
    "ops.quantile": [
        c(F(4, 5), 0.3),
        c(F(4, 5), [0.1, 0.9], axis=1),
        c(F(2, 3, 4), 0.5, axis=(0, 2), keepdims=True),
        c(I(4, 5), 0.25, axis=1),
        *[c(F(6), 0.4, method=m) for m in ("lower", "higher", "nearest", "midpoint")],
    ],
    "ops.rad2deg": [c(F(3)), c(I(3, dtype="int64")), c(I(3))],
    "ops.ravel": [c(F(2, 3)), c(I(2, 2, 2))],
    "ops.reciprocal": [c(P(3)), c(P(3, dtype="float64"))],
    "ops.repeat": [c(F(2, 3), 2), c(F(2, 3), 2, axis=1)],
    "ops.reshape": [c(F(2, 6), (3, -1)), c(F(2, 6), 12), c(I(4), [2, 2])],
    "ops.roll": [c(F(2, 5), 2), c(F(2, 5), 1, axis=1), c(F(3, 4), (1, 2), axis=(0, 1))],
    "ops.rot90": [c(F(2, 3)), c(F(2, 3), k=2), c(F(2, 3, 4), k=-1, axes=(1, 2))],
    "ops.round": [
        c(F(3, 4) * 10),
        c(F(4) * 10, decimals=1),
        c(I(4)),
        c(F(3, dtype="float64") * 5, decimals=-1),
    ],
    "ops.searchsorted": [
        c(np.sort(F(6)), F(4)),
        c(np.sort(F(6)), F(3), side="right"),
        c(np.arange(5, dtype="int32"), I(3)),
    ],
    "ops.select": [c([B(4), B(4)], [F(4), F(4)]), c([B(3)], [I(3)], default=-1)],
    "ops.sign": [c(F(4)), c(I(4)), c(SPECIAL)],
    "ops.signbit": [c(SPECIAL), c(I(4))],
    "ops.sin": UNARY_FLOAT,
    "ops.sinc": UNARY_FLOAT,
    "ops.sinh": UNARY_FLOAT,
    "ops.size": [c(F(2, 3)), c(I(4))],
    "ops.slogdet": [c(F(3, 3)), c(F(2, 4, 4, dtype="float64"))],
    "ops.sort": [c(F(3, 4)), c(F(3, 4), axis=0), c(I(3, 4), axis=None), c(B(5))],
    "ops.split": [c(F(6, 4), 3), c(F(6, 4), [1, 4]), c(F(2, 6), 2, axis=1)],
    "ops.sqrt": UNARY_POS + [c(I(3, dtype="int64", lo=1))],
    "ops.square": [c(F(3)), c(I(3)), c(B(3)), c(I(3, dtype="int8"))],
    "ops.squeeze": [c(F(1, 3, 1)), c(F(1, 3, 1), axis=0), c(F(1, 3, 1), axis=(0, 2))],
    "ops.stack": [c([F(2, 3), F(2, 3)]), c([I(3), I(3)], axis=1)],
    "ops.std": REDUCE + [c(B(3, 4))],
    "ops.subtract": BINARY + [c(B(3), F(3)), c(I(3), B(3))],
    "ops.sum": REDUCE[:-1]
    + [
        c(I(3, 4, dtype="int8")),
        c(B(3, 4), axis=1),
        c(I(3, dtype="uint8", lo=0)),
        c(F(3, 4), axis=()),
    ],
    "ops.swapaxes": [c(F(2, 3, 4), 0, 2)],
    "ops.take": [
        c(F(3, 4), [0, 2, 1]),
        c(F(3, 4), [0, -1], axis=1),
        c(F(3, 4), I(2, 2, lo=-4, hi=4), axis=1),
        c(F(3, 4), [[1], [5]]),
        c(F(3, 4), np.array([2, 0]), axis=0),
    ],
    "ops.take_along_axis": [
        c(F(3, 4), np.argsort(F(3, 4), axis=1), axis=1),
        c(F(3, 4), np.array([[0, -1, 2, 1]]), axis=0),
        c(F(3, 4), np.array([5, 0]), axis=None),
    ],
    "ops.tan": UNARY_FLOAT,
    "ops.tanh": UNARY_FLOAT,
    "ops.tensordot": [
        c(F(2, 3, 4), F(3, 4, 5)),
        c(F(2, 3), F(3, 4), axes=1),
        c(F(2, 3), F(2, 4), axes=([0], [0])),
        c(I(2, 3), I(3, 2), axes=1),
        c(F(3, 2), F(3), axes=(0, 0)),
    ],
    "ops.tile": [c(F(2, 3), 2), c(F(2, 3), (2, 1, 2)), c(I(3), [2, 2])],
    "ops.trace": [
        c(F(3, 3)),
        c(I(3, 4, dtype="int8"), offset=1),
        c(F(2, 3, 3), axis1=1, axis2=2),
        c(B(3, 3)),
    ],
    "ops.transpose": [c(F(2, 3, 4)), c(F(2, 3, 4), axes=(1, 0, 2))],
    "ops.trapezoid": [c(F(3, 5)), c(F(3, 5), x=np.sort(F(5))), c(F(3, 5), dx=0.5, axis=0)],
    "ops.tri": [c(3), c(3, 4, 1, dtype="int32"), c(4, k=-1)],
    "ops.tril": [c(F(3, 4)), c(F(3, 4), k=-1), c(I(2, 3, 3), k=1)],
    "ops.triu": [c(F(3, 4)), c(F(3, 4), k=-1), c(I(2, 3, 3), k=1)],
    "ops.true_divide": [
        c(F(3, 4), P(4)),
        c(I(3), I(3, lo=1)),
        c(I(3), 2),
        c(F(3), 2),
        c(I(3, dtype="int8"), 2.0),
    ],
    "ops.trunc": [c(F(4) * 3), c(I(3))],
    "ops.unique": [
        c(I(10, lo=0, hi=5)),
        c(I(10, lo=0, hi=5), return_index=True, return_inverse=True, return_counts=True),
        c(I(10, lo=0, hi=5), size=7, fill_value=-1),
        c(I(10, lo=0, hi=5), size=2, return_counts=True),
        c(I(5, 2, lo=0, hi=2), axis=0, return_counts=True),
    ],
    "ops.unravel_index": [
        c(I(4, lo=0, hi=12), (3, 4)),
        c(I(3, dtype="int64", lo=0, hi=24), (2, 3, 4)),
    ],
    "ops.vander": [c(F(4)), c(I(4), N=3, increasing=True)],
    "ops.var": REDUCE + [c(B(3, 4)), c(F(3, 4), axis=())],
    "ops.vdot": [c(F(4), F(4)), c(I(4), I(4)), c(I(3), F(3))],
    "ops.view": [c(F(2, 4), "int32"), c(I(2, 4, dtype="int8"), "uint8"), c(F(2, 4), "int16")],
    "ops.vsplit": [c(F(4, 3), 2), c(F(4, 3), [1, 3])],
    "ops.vstack": [c([F(2, 3), F(1, 3)]), c([I(3), I(3)])],
    "ops.where": [c(B(3, 4), F(3, 4), F(4)), c(B(3), I(3), 0.5), c(B(2, 3)), c(I(3), F(3), F(3))],
    "ops.zeros": [c((2, 3)), c(3, dtype="int8")],
    "ops.zeros_like": [c(F(2, 3)), c(I(3), dtype="bool")],
}
UNARY_NAMES = {"ops.sin", "ops.sinc", "ops.sinh", "ops.tan", "ops.tanh"}


def _tensors(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, list) and any(isinstance(v, np.ndarray) for v in value):
        return [_tensors(v) for v in value]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _std(dtype: Any) -> str:
    return keras.backend.standardize_dtype(dtype)


def assert_same(expected: Any, got: Any, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Same structure, shapes, Keras dtype names and values (NaNs in the same places)."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)), f"expected a sequence, got {type(got)}"
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            assert_same(e, g, rtol, atol)
        return
    if not isinstance(expected, torch.Tensor):
        assert not isinstance(got, torch.Tensor) or got.ndim == 0
        np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=rtol, atol=atol)
        return
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got)}"
    assert _std(got.dtype) == _std(expected.dtype), f"dtype {got.dtype} != {expected.dtype}"
    assert tuple(got.shape) == tuple(expected.shape), f"shape {got.shape} != {expected.shape}"
    e = keras.ops.convert_to_numpy(expected)
    g = got.detach().cpu()
    g = (g.float() if g.dtype == torch.bfloat16 else g).numpy()
    if e.dtype == np.float16:
        rtol, atol = 1e-3, 1e-3
    np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("tensors", [False, True], ids=["numpy", "torch"])
@pytest.mark.parametrize("name", sorted(OPS_PARITY))
def test_numpy_op_matches_keras(name: str, tensors: bool) -> None:
    op = name.split(".", 1)[1]
    for args, kwargs in OPS_PARITY[name]:
        if tensors:
            args = tuple(_tensors(a) for a in args)
        expected = getattr(keras.ops, op)(*_copy(args), **kwargs)
        got = getattr(ops, op)(*_copy(args), **kwargs)
        assert_same(expected, got)
        assert getattr(ops.numpy, op) is getattr(ops, op)


def test_vectorize_matches_keras() -> None:
    x, y = F(3, 4), F(4)

    def fn(a: Any, b: Any) -> Any:
        return a * 2 + b

    assert_same(keras.ops.vectorize(fn)(x, y), ops.vectorize(fn)(x, y))

    def dot(a: Any, b: Any) -> Any:
        return (a * b).sum()

    sig = "(n),(n)->()"
    assert_same(
        keras.ops.vectorize(dot, signature=sig)(x, y), ops.vectorize(dot, signature=sig)(x, y)
    )


OPS_PARITY["ops.vectorize"] = ["test_vectorize_matches_keras"]


# Where Lamina follows NumPy and Keras's torch backend does not (see the parity cases above
# for everything else these ops do).


def test_keepdims_without_axis_keeps_every_axis_as_numpy() -> None:
    x = F(3, 4)
    for op in ("max", "min", "sum", "prod"):
        got = getattr(ops, op)(x, keepdims=True)
        expected = getattr(np, op)(x, keepdims=True)
        assert tuple(got.shape) == expected.shape == (1, 1), op
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


def test_pad_int_width_and_symmetric_mode_follow_numpy() -> None:
    x = I(2, 3)
    np.testing.assert_array_equal(ops.pad(x, 1).numpy(), np.pad(x, 1))
    np.testing.assert_array_equal(ops.pad(x, (1, 2)).numpy(), np.pad(x, (1, 2)))
    y = F(3, 4)
    for widths in (((1, 2), (2, 1)), ((0, 3), (1, 0))):
        np.testing.assert_array_equal(
            ops.pad(y, widths, mode="symmetric").numpy(), np.pad(y, widths, mode="symmetric")
        )
    np.testing.assert_array_equal(
        ops.pad(y, ((1, 1), (2, 0)), mode="edge").numpy(), np.pad(y, ((1, 1), (2, 0)), mode="edge")
    )


def test_take_negative_index_without_axis_counts_from_the_flat_end() -> None:
    x = F(3, 4)
    np.testing.assert_array_equal(ops.take(x, [0, -1, -5]).numpy(), np.take(x, [0, -1, -5]))
    flat = np.array([1, -1, -12])
    np.testing.assert_array_equal(
        ops.take_along_axis(x, flat, axis=None).numpy(), np.take_along_axis(x, flat, axis=None)
    )


def test_imag_vdot_and_repeat_accept_what_numpy_does() -> None:
    x = F(2, 3)
    np.testing.assert_array_equal(ops.imag(x).numpy(), np.imag(x))
    np.testing.assert_allclose(ops.vdot(x, x).numpy(), np.vdot(x, x), rtol=1e-5)
    np.testing.assert_array_equal(
        ops.repeat(x, [1, 0, 2], axis=1).numpy(), np.repeat(x, [1, 0, 2], axis=1)
    )
    np.testing.assert_array_equal(ops.meshgrid(I(2), I(3))[0].numpy().shape, (3, 2))
    np.testing.assert_allclose(
        ops.linspace(np.zeros(2), np.ones(2), 5, axis=1).numpy(),
        np.linspace(np.zeros(2), np.ones(2), 5, axis=1),
        rtol=1e-6,
    )


def test_ops_are_differentiable() -> None:
    x = torch.tensor(F(3, 4), dtype=torch.float64, requires_grad=True)
    for fn in (
        lambda t: ops.pad(t, ((1, 1), (2, 0)), mode="reflect"),
        lambda t: ops.pad(t, ((1, 1), (2, 0)), mode="symmetric"),
        lambda t: ops.take(t, [0, 2], axis=1),
        lambda t: ops.where(t > 0, t, ops.square(t)),
        lambda t: ops.sort(t, axis=0),
    ):
        assert torch.autograd.gradcheck(fn, (x,))
    # Keras computes these in float32 even for float64 inputs: a looser check in float32.
    y = torch.tensor(F(3, 4), requires_grad=True)
    for fn in (
        lambda t: ops.maximum(t, 0.5),
        lambda t: ops.tensordot(t, t, axes=([1], [1])),
        lambda t: ops.quantile(t, 0.3, axis=1),
        lambda t: ops.nanmean(t, axis=0),
        lambda t: ops.logaddexp(t, 0.5),
        lambda t: ops.var(t, axis=0),
    ):
        with pytest.warns(UserWarning, match="double precision"):
            assert torch.autograd.gradcheck(fn, (y,), eps=1e-2, atol=1e-2, rtol=1e-2)


SWEEP_DTYPES = [
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
    "float64",
]  # fmt: skip
SWEEP_UNARY = (
    "i0 isfinite isinf isnan isneginf isposinf isreal log log10 log1p log2 logical_not "
    "nan_to_num negative rad2deg reciprocal round sign signbit sin sinc sinh sqrt square tan "
    "tanh trunc ravel sort nonzero size ones_like zeros_like max min mean median prod ptp std "
    "sum var trace nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin "
    "nanprod nanstd nansum nanvar transpose"
).split()
SWEEP_BINARY = (
    "isclose isin lcm ldexp left_shift right_shift less less_equal logaddexp logaddexp2 "
    "logical_and logical_or logical_xor maximum minimum mod multiply nextafter not_equal power "
    "subtract true_divide inner kron matmul outer vdot tensordot"
).split()


def _sweep_value(dtype: str) -> torch.Tensor:
    rng = np.random.default_rng(len(dtype))
    if dtype == "bool":
        return torch.from_numpy(rng.random((3, 4)) > 0.5)
    if "int" in dtype:
        return torch.from_numpy(
            rng.integers(0 if dtype == "uint8" else -3, 5, (3, 4)).astype(dtype)
        )
    values = torch.from_numpy(rng.uniform(0.1, 2.0, (3, 4)).astype("float32"))
    return values.to(getattr(torch, dtype))


def _sweep(names: list[str], operands: list[tuple[Any, ...]]) -> int:
    """Every op on every operand tuple Keras accepts; returns how many were compared."""
    compared = 0
    for name in names:
        for args in operands:
            try:
                expected = getattr(keras.ops, name)(*args)
            except Exception:  # Keras refuses this dtype combination; Lamina may take it
                continue
            got = getattr(ops, name)(*args)
            low = any(getattr(a, "dtype", None) in (torch.float16, torch.bfloat16) for a in args)
            assert_same(expected, got, *((2e-2, 2e-2) if low else (1e-5, 1e-6)))
            compared += 1
    return compared


def test_unary_ops_match_keras_on_every_dtype() -> None:
    operands = [(_sweep_value(d),) for d in SWEEP_DTYPES] + [(2,), (2.5,), (True,)]
    assert _sweep(SWEEP_UNARY, operands) > 500


def test_binary_ops_match_keras_on_every_dtype_pair_and_weak_scalars() -> None:
    values: list[Any] = [_sweep_value(d) for d in SWEEP_DTYPES] + [2, 1.5, True]
    operands = [
        (a, b)
        for a in values
        for b in values
        if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor)
    ]
    assert _sweep(SWEEP_BINARY, operands) > 2000
