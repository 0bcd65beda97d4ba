"""lamina.ops numpy ops a..h against keras.ops (torch backend): values, dtypes, shapes and
broadcasting on seeded inputs, NumPy arrays, weak Python scalars and mixed dtypes."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch
from _parity_utils import Case, T, assert_same, bools, ints, normal, uniform

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import ops  # noqa: E402

C = Case
F = normal((3, 4))
F64 = normal((3, 4), "float64")
F16 = normal((3, 4), "float16")
ROW = normal((4,))
I32 = ints((3, 4), -5, 6)
I64 = ints((3, 4), -5, 6, "int64")
I8 = ints((3, 4), -5, 6, "int8")
U8 = ints((3, 4), 0, 9, "uint8")
B = bools((3, 4))
UNIT = uniform((3, 4), -0.9, 0.9)
ABOVE1 = uniform((3, 4), 1.1, 3.0)
POS = uniform((3, 4), 0.5, 3.0)
NZ_I32 = ints((3, 4), 1, 7)
RNG_PERM = np.random.default_rng(3).permutation(12).reshape(3, 4).astype("int32")

UNARY_FLOAT = [C(T(F)), C(F64), C(T(I32)), C(I64), C(T(F16))]
UNARY_ALL = [*UNARY_FLOAT, C(T(B)), C(T(I8)), C(U8)]
BINARY = [
    C(T(F), T(normal((3, 4)))),
    C(F, ROW),  # NumPy inputs, broadcasting
    C(T(I32), T(F)),  # int32 with float32
    C(T(I8), 3),  # int8 with a weak Python int
    C(T(F16), 2.5),  # float16 with a weak Python float
    C(T(I32), 1.5),  # int with a weak Python float
    C(T(U8), T(I8)),  # uint8 with int8
    C(T(F64), T(F)),
    C(2, T(I8)),  # scalar first
]
COMPARE = [*BINARY, C(T(B), T(bools((3, 4))))]
BITWISE = [
    C(T(I32), T(ints((3, 4), -5, 6))),
    C(T(I8), 3),
    C(T(U8), T(I8)),
    C(T(B), T(bools((3, 4)))),
    C(I64, 7),
]
SHIFTS = [
    C(T(I32), T(ints((3, 4), 0, 4))),
    C(T(I8), 2),
    C(T(U8), 1),
    C(I64, T(ints((4,), 0, 3, "int64"))),
]

NUMPY_PARITY: dict[str, list[Case]] = {
    "ops.abs": UNARY_ALL,
    "ops.absolute": UNARY_ALL,
    "ops.add": BINARY,
    "ops.all": [
        C(T(B)),
        C(T(B), axis=0),
        C(F, axis=1, keepdims=True),
        C(T(I32), axis=(0, 1)),
        C(T(B), axis=()),
    ],
    "ops.allclose": [
        C(T(F), T(F + 1e-7)),
        C(T(F), T(F + 1e-3)),
        C(F, ROW),
        C(T(I32), T(I32)),
        C(T(F), T(F + 1e-3), rtol=1e-2, atol=1e-2),
        C(T(I8), 3),
    ],
    "ops.amax": [
        C(T(F)),
        C(F64, axis=0),
        C(T(I32), axis=1, keepdims=True),
        C(T(F), axis=(0, 1)),
        C(T(F), axis=[]),
    ],
    "ops.amin": [C(T(F)), C(F64, axis=0), C(T(I32), axis=-1, keepdims=True), C(T(I8), axis=(0, 1))],
    "ops.angle": [C(T(F)), C(F64), C(T(normal((3,)) + 1j * normal((3,))).to(torch.complex64))],
    "ops.any": [C(T(B)), C(T(B), axis=0), C(F, axis=1, keepdims=True), C(T(I32), axis=(0, 1))],
    "ops.append": [C(T(F), T(ROW)), C(F, F64, axis=0), C(T(I32), T(F), axis=1), C(T(I8), T(U8))],
    "ops.arange": [
        C(5),
        C(1, 7, 2),
        C(0.5, 4.0),
        C(2, 10, 1.5),
        C(3, dtype="float16"),
        C(10, 0, -3),
        C(np.float64(1.0), 4),
        C(np.int8(4)),
    ],
    "ops.arccos": [C(T(UNIT)), C(UNIT.astype("float64"))],
    "ops.arccosh": [C(T(ABOVE1)), C(ABOVE1.astype("float64")), C(T(NZ_I32))],
    "ops.arcsin": [C(T(UNIT)), C(UNIT.astype("float64")), C(T(I32 % 2))],
    "ops.arcsinh": UNARY_FLOAT,
    "ops.arctan": UNARY_FLOAT,
    "ops.arctan2": BINARY,
    "ops.arctanh": [C(T(UNIT)), C(UNIT.astype("float64"))],
    "ops.argmax": [C(T(F)), C(F64, axis=0), C(T(I32), axis=1, keepdims=True), C(T(B), axis=-1)],
    "ops.argmin": [C(T(F)), C(F64, axis=0), C(T(I32), axis=1, keepdims=True), C(T(B))],
    "ops.argpartition": [
        C(T(np.array([[5, 1, 4, 2, 3], [0, 9, 7, 8, 6]], "int32")), 2),
        C(np.array([[5, 1, 4, 2, 3], [0, 9, 7, 8, 6]], "int32"), 1, axis=0),
        C(T(RNG_PERM), 4, axis=None),
        C(T(RNG_PERM.astype("int64")), 0),
    ],
    "ops.argsort": [C(T(F)), C(F64, axis=0), C(T(I32), axis=None), C(T(B))],
    "ops.array": [
        C(F),
        C([1, 2, 3]),
        C([1.5, 2]),
        C(F, dtype="float16"),
        C(T(I32), dtype="int64"),
        C(True),
    ],
    "ops.array_split": [
        C(T(normal((7, 3))), 3),
        C(normal((7, 3)), 2, axis=1),
        C(T(I32), 4, axis=-1),
    ],
    "ops.average": [
        C(T(F)),
        C(F64, axis=0),
        C(T(I32), axis=1),
        C(T(F), axis=-1, weights=T(POS)),
        C(T(F), axis=-1, weights=T(POS[0])),
        C(T(ROW), weights=T(POS[0])),
        C(T(I32), axis=-1, weights=T(NZ_I32)),
    ],
    "ops.bartlett": [C(7), C(1), C(10)],
    "ops.bincount": [
        C(T(ints((10,), 0, 5))),
        C(ints((10,), 0, 5), minlength=8),
        C(T(ints((10,), 0, 5)), weights=T(normal((10,)))),
        C(T(ints((2, 6), 0, 4)), minlength=5),
        C(T(ints((2, 6), 0, 4)), weights=T(normal((2, 6), "float64")), minlength=5),
    ],
    "ops.bitwise_and": BITWISE,
    "ops.bitwise_invert": [C(T(I32)), C(T(I8)), C(T(U8)), C(T(B)), C(I64)],
    "ops.bitwise_left_shift": SHIFTS,
    "ops.bitwise_not": [C(T(I32)), C(T(I8)), C(T(U8)), C(T(B))],
    "ops.bitwise_or": BITWISE,
    "ops.bitwise_right_shift": SHIFTS,
    "ops.bitwise_xor": BITWISE,
    "ops.blackman": [C(7), C(1), C(12)],
    "ops.broadcast_to": [C(T(ROW), (3, 4)), C(ROW, [2, 3, 4]), C(T(I8[:1]), (5, 4))],
    "ops.cbrt": UNARY_ALL,
    "ops.ceil": [*UNARY_ALL, C(T(F * 3))],
    "ops.clip": [
        C(T(F), -0.5, 0.5),
        C(F64, -1, 1),
        C(T(I32), -2, 3),
        C(T(I8), -2, 3),
        C(T(B), 0, 1),
        C(T(F16), -0.5, 0.5),
        C(T(I32), -1.5, 2.5),
    ],
    "ops.concatenate": [
        C([T(F), T(normal((2, 4)))]),
        C([F, F64], axis=1),
        C([T(I32), T(F), T(I8)], axis=-1),
        C((T(I8), T(U8))),
    ],
    "ops.conj": [C(T(F)), C(T((normal((3,)) + 1j * normal((3,))).astype("complex64"))), C(I32)],
    "ops.conjugate": [
        C(T(F)),
        C(T((normal((3,)) + 1j * normal((3,))).astype("complex64"))),
        C(F64),
    ],
    "ops.copy": [C(T(F)), C(F64), C(T(I8)), C(T(B))],
    "ops.corrcoef": [
        C(T(normal((3, 8)))),
        C(normal((2, 6), "float64")),
        C(T(ints((3, 8), 0, 9))),
        C(T(ints((3, 8), 0, 9, "int64"))),
    ],
    "ops.correlate": [
        C(T(normal((8,))), T(normal((3,)))),
        C(normal((8,)), normal((3,)), mode="same"),
        C(T(normal((5,))), T(normal((3,))), mode="full"),
        C(T(normal((3,))), T(normal((6,))), mode="valid"),
        C(T(ints((6,), 0, 5)), T(ints((3,), 0, 5)), mode="full"),
        C(T(ints((6,), 0, 5, "int64")), T(ints((3,), 0, 5, "int64"))),
    ],
    "ops.cos": UNARY_FLOAT,
    "ops.cosh": UNARY_FLOAT,
    "ops.count_nonzero": [
        C(T(I32)),
        C(I8, axis=0),
        C(T(F), axis=1),
        C(T(B), axis=(0, 1)),
        C(T(I32), axis=()),
    ],
    "ops.cross": [
        C(T(normal((4, 3))), T(normal((4, 3)))),
        C(normal((4, 3)), normal((1, 3))),
        C(T(ints((2, 3), -3, 3)), T(normal((2, 3)))),
        C(T(normal((3, 5))), T(normal((3, 5))), axis=0),
    ],
    "ops.cumprod": [
        C(T(uniform((3, 4), 0.5, 1.5))),
        C(F64, axis=0),
        C(T(I8), axis=1),
        C(T(B), axis=0),
        C(T(I32), axis=1, dtype="float32"),
    ],
    "ops.cumsum": [
        C(T(F)),
        C(F64, axis=0),
        C(T(I8), axis=1),
        C(T(B), axis=0),
        C(T(I32), axis=-1, dtype="int64"),
        C(T(F16), axis=0),
    ],
    "ops.deg2rad": UNARY_FLOAT,
    "ops.diag": [C(T(F)), C(T(ROW)), C(F64, k=1), C(T(I32), k=-1), C(T(ROW), k=2)],
    "ops.diagflat": [C(T(F)), C(T(ROW), k=1), C(I32, k=-2)],
    "ops.diagonal": [
        C(T(F)),
        C(T(normal((2, 3, 4))), offset=1, axis1=1, axis2=2),
        C(T(normal((2, 3, 4))), axis1=-1, axis2=0),
        C(I32, offset=-1),
    ],
    "ops.diff": [C(T(F)), C(F64, n=2, axis=0), C(T(I32), axis=-1), C(T(B))],
    "ops.digitize": [
        C(T(F), T(np.array([-1.0, 0.0, 1.0], "float32"))),
        C(F64, np.array([-0.5, 0.5])),
        C(T(I32), T(np.array([-2, 0, 3], "int32"))),
        C(T(B), T(np.array([0, 1], "int32"))),
    ],
    "ops.divide": BINARY,
    "ops.divide_no_nan": [
        *BINARY,
        C(T(F), T(np.where(B, 0.0, F).astype("float32"))),
        C(T(I32), T(I8)),
    ],
    "ops.dot": [
        C(T(F), T(normal((4, 2)))),
        C(ROW, ROW),
        C(T(I32), T(ints((4,), -3, 3))),
        C(T(F), 2.0),
        C(T(I8), T(ints((4, 2), -3, 3, "int8"))),
        C(T(normal((2, 3, 4))), T(normal((4, 5)))),
        C(F64, normal((4,))),
    ],
    "ops.dsplit": [C(T(normal((2, 3, 6))), 3), C(normal((2, 3, 6)), [1, 4])],
    "ops.dstack": [C([T(F), T(normal((3, 4)))]), C([ROW, ROW]), C([T(I32), T(F)])],
    "ops.einsum": [
        C("ij,jk->ik", T(F), T(normal((4, 2)))),
        C("ij->j", F64),
        C("bij,bjk->bik", T(normal((2, 3, 4))), T(normal((2, 4, 5)))),
        C("ij,ij->i", T(I8), T(I8)),
        C("ii->i", T(normal((3, 3)))),
    ],
    "ops.empty": [C((2, 3)), C([4], dtype="int32"), C((2, 2), dtype="float16")],
    "ops.empty_like": [C(T(F)), C(I32), C(T(F), dtype="int8")],
    "ops.equal": COMPARE,
    "ops.exp": UNARY_ALL,
    "ops.exp2": UNARY_ALL,
    "ops.expand_dims": [C(T(F), 0), C(F64, -1), C(T(I32), (0, 2)), C(T(ROW), [-1, 0])],
    "ops.expm1": UNARY_ALL,
    "ops.eye": [C(3), C(3, 4), C(4, 3, k=1), C(3, k=-1, dtype="int32"), C(2, 5, k=3)],
    "ops.fabs": UNARY_ALL,
    "ops.flip": [C(T(F)), C(F64, axis=0), C(T(I32), axis=(0, 1)), C(T(normal((2, 3, 4))), axis=-1)],
    "ops.fliplr": [C(T(F)), C(I32)],
    "ops.flipud": [C(T(F)), C(ROW)],
    "ops.floor": [*UNARY_ALL, C(T(F * 3))],
    "ops.floor_divide": [
        C(T(F), T(POS)),
        C(F, 0.7),
        C(T(I32), T(NZ_I32)),
        C(T(I8), 3),
        C(T(-I32), 2),
        C(T(I32), T(POS)),
        C(T(U8), T(NZ_I32.astype("int8"))),
    ],
    "ops.fmax": [*BINARY, C(T(np.where(B, np.nan, F).astype("float32")), T(normal((3, 4))))],
    "ops.fmin": [*BINARY, C(T(np.where(B, np.nan, F).astype("float32")), T(normal((3, 4))))],
    "ops.fmod": [C(T(F), T(POS)), C(F, 0.7), C(T(I32), T(NZ_I32)), C(T(I8), 3), C(T(-F64), 1.5)],
    "ops.full": [
        C((2, 3), 1.5),
        C([3], 7, dtype="int32"),
        C((2, 3), 2),
        C((2, 4), T(ROW[:4])),
        C((2, 2), True, dtype="bool"),
    ],
    "ops.full_like": [C(T(F), 2), C(I32, 3), C(T(F), 1.5, dtype="float64"), C(T(I8), 4.7)],
    "ops.gcd": [C(T(I32), T(NZ_I32)), C(I64, 6), C(T(I8), T(ints((3, 4), 1, 9, "int8")))],
    "ops.geomspace": [
        C(1.0, 1000.0, 4),
        C(2, 64, 6),
        C(1.0, 256.0, 8, endpoint=False),
        C(-1.0, -100.0, 3),
        C(1, 32, 6, dtype="float64"),
    ],
    "ops.get_item": [
        C(T(F), 1),
        C(T(F), (slice(None), 2)),
        C(T(normal((2, 3, 4))), (Ellipsis, None, slice(1, 3))),
        C(T(F), T(B)),
        C(T(I32), T(np.array([2, 0], "int64"))),
    ],
    "ops.greater": COMPARE,
    "ops.greater_equal": COMPARE,
    "ops.hamming": [C(7), C(1), C(12)],
    "ops.hanning": [C(7), C(1), C(12)],
    "ops.heaviside": [
        *BINARY[:4],
        C(T(I32), T(I64)),
        C(T(np.where(B, 0.0, F).astype("float32")), 0.5),
    ],
    "ops.histogram": [
        C(T(normal((50,)))),
        C(T(normal((50,))), bins=4, range=(-1.0, 1.0)),
        C(T(normal((50,), "float64")), bins=7),
    ],
    "ops.hsplit": [C(T(normal((2, 6))), 3), C(normal((2, 6, 2)), [1, 4]), C(T(normal((6,))), 2)],
    "ops.hstack": [C([T(F), T(normal((3, 2)))]), C([ROW, ROW]), C([T(I32), T(F)])],
    "ops.hypot": [*BINARY[:5], C(T(I32), T(I8)), C(T(I64), T(I64))],
}

# Values that only exist uninitialized: compare dtype and shape alone.
SHAPE_ONLY = {"ops.empty", "ops.empty_like"}


def _same_partition(got: torch.Tensor, expected: torch.Tensor, case: Case) -> None:
    """Partitions aren't unique: the kth smallest lead in sorted order, the rest as a set."""
    assert_same(got, expected, values=False)
    x = torch.as_tensor(case.args[0])
    kth, axis = case.args[1], case.kwargs.get("axis", -1)
    if axis is None:
        x, axis = x.reshape(-1), -1
    values_got = torch.take_along_dim(x, got.long(), dim=axis).movedim(axis, -1)
    values_exp = torch.take_along_dim(x, expected.long(), dim=axis).movedim(axis, -1)
    torch.testing.assert_close(values_got[..., : kth + 1], values_exp[..., : kth + 1])
    torch.testing.assert_close(
        values_got[..., kth + 1 :].sort(-1).values, values_exp[..., kth + 1 :].sort(-1).values
    )


CUSTOM = {"ops.argpartition": _same_partition}


@pytest.mark.parametrize("name", sorted(NUMPY_PARITY))
def test_numpy_op_matches_keras(name: str) -> None:
    fn_name = name.split(".", 1)[1]
    for case in NUMPY_PARITY[name]:
        k_args, k_kwargs = case.fresh()
        expected = getattr(keras.ops, fn_name)(*k_args, **k_kwargs)
        l_args, l_kwargs = case.fresh()
        got = getattr(ops, fn_name)(*l_args, **l_kwargs)
        try:
            if name in CUSTOM:
                CUSTOM[name](got, expected, case)
            else:
                assert_same(got, expected, values=name not in SHAPE_ONLY)
        except AssertionError as error:
            raise AssertionError(f"{name} {case}: {error}") from error


def test_count_nonzero_keeps_numpy_axis_order() -> None:
    # Keras's torch backend transposes multi-axis results ((3, 4) becomes (4, 3)); Lamina
    # keeps NumPy's (and Keras's other backends') layout.
    x = ints((2, 3, 4), -1, 2)
    got = ops.count_nonzero(x, axis=0)
    assert ops.dtype(got) == "int32"
    np.testing.assert_array_equal(got.numpy(), np.count_nonzero(x, axis=0))
    np.testing.assert_array_equal(
        ops.count_nonzero(x, axis=(0, 2)).numpy(), np.count_nonzero(x, axis=(0, 2))
    )


def test_cross_defaults_to_the_last_axis() -> None:
    # torch.cross without dim picks the first size-3 axis (Keras torch inherits that);
    # NumPy and Keras's docs use the last axis.
    a, b = normal((3, 3)), normal((3, 3))
    np.testing.assert_allclose(ops.cross(a, b).numpy(), np.cross(a, b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        ops.cross(a, b, axis=0).numpy(), np.cross(a, b, axis=0), rtol=1e-5, atol=1e-6
    )


def test_argpartition_orders_floats_by_value() -> None:
    # Keras's torch backend casts the input to int32 first, so 0.1 and 0.3 tie; Lamina
    # partitions the float values themselves.
    x = normal((4, 6))
    got = ops.argpartition(x, 2).numpy()
    parted = np.take_along_axis(x, got, axis=-1)
    np.testing.assert_allclose(parted[:, 2], np.sort(x, axis=-1)[:, 2])
    assert (parted[:, :2] <= parted[:, 2:3]).all() and (parted[:, 3:] >= parted[:, 2:3]).all()
    assert ops.dtype(ops.argpartition(x, 1)) == "int32"


def test_ops_work_under_autograd() -> None:
    x = torch.tensor(normal((3, 4)), requires_grad=True)
    y = ops.add(ops.cumsum(ops.exp(x), axis=1), ops.clip(x, -0.5, 0.5))
    y = ops.average(
        ops.concatenate([y, ops.flip(x, axis=0)], axis=1), weights=ops.arange(8.0), axis=-1
    )
    ops.dot(y, ops.divide_no_nan(ops.amax(x, axis=1), 2.0)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert ops.einsum("ij,ij->", x, x).requires_grad


# Every dtype pair (and weak Python int/float) through the binary ops: result dtypes and
# values equal Keras's, and where Keras's torch backend refuses a pair, Lamina does too.
MATRIX_DTYPES: list[Any] = [
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64", int, float,
]  # fmt: skip
MATRIX_OPS = [
    "add", "arctan2", "bitwise_and", "bitwise_left_shift", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "divide", "divide_no_nan", "equal", "floor_divide", "fmax", "fmin", "fmod", "gcd", "greater",
    "greater_equal", "heaviside", "hypot", "allclose", "append", "dot", "digitize",
]  # fmt: skip


def _operand(dtype: Any, seed: int) -> Any:
    if dtype is int:
        return 3
    if dtype is float:
        return 0.75
    gen = np.random.default_rng(seed)
    if dtype == "bool":
        return torch.from_numpy(gen.random((2, 3)) > 0.5)
    if "int" in dtype:
        return torch.from_numpy(gen.integers(1, 5, (2, 3)).astype(dtype))
    values = torch.from_numpy(gen.uniform(0.5, 2.0, (2, 3)))
    return values.to(getattr(torch, dtype))


def _call(fn: Any, args: list[Any]) -> Any:
    try:
        return fn(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
    except (RuntimeError, TypeError, ValueError) as error:
        return error


@pytest.mark.parametrize("op", MATRIX_OPS)
def test_binary_op_dtype_matrix_matches_keras(op: str) -> None:
    for i, a in enumerate(MATRIX_DTYPES):
        for j, b in enumerate(MATRIX_DTYPES):
            if a in (int, float) and b in (int, float):
                continue
            args = [_operand(a, i), _operand(b, 100 + j)]
            expected = _call(getattr(keras.ops, op), args)
            got = _call(getattr(ops, op), args)
            where = f"{op}({getattr(a, '__name__', a)}, {getattr(b, '__name__', b)})"
            if isinstance(expected, Exception):
                assert isinstance(got, Exception), (
                    f"{where}: Keras raises {expected!r}, Lamina returns"
                )
                continue
            assert not isinstance(got, Exception), f"{where}: {got!r}"
            low = {"float16", "bfloat16"} & {a, b}
            try:
                assert_same(got, expected, rtol=1e-2 if low else None, atol=1e-2 if low else None)
            except AssertionError as error:
                raise AssertionError(f"{where}: {error}") from error


UNARY_MATRIX_OPS = [
    "abs", "absolute", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "cbrt", "ceil",
    "conj", "conjugate", "copy", "cos", "cosh", "deg2rad", "exp", "exp2", "expm1", "fabs", "floor",
    "bitwise_invert", "bitwise_not", "all", "any", "amax", "amin", "argmax", "argmin", "argsort", "average",
    "count_nonzero", "cumprod", "cumsum", "diff", "corrcoef", "diag", "diagflat", "flip", "fliplr", "flipud",
    "array", "broadcast_to",
]  # fmt: skip


@pytest.mark.parametrize("op", UNARY_MATRIX_OPS)
def test_unary_op_dtype_matrix_matches_keras(op: str) -> None:
    extra = [(1, 2, 3)] if op == "broadcast_to" else []
    for i, dtype in enumerate(MATRIX_DTYPES[:-2]):
        args = [_operand(dtype, i), *extra]
        expected = _call(getattr(keras.ops, op), args)
        got = _call(getattr(ops, op), args)
        if isinstance(expected, Exception):
            assert isinstance(got, Exception), (
                f"{op}({dtype}): Keras raises {expected!r}, Lamina returns"
            )
            continue
        assert not isinstance(got, Exception), f"{op}({dtype}): {got!r}"
        low = dtype in ("float16", "bfloat16")
        try:
            assert_same(got, expected, rtol=1e-2 if low else None, atol=1e-2 if low else None)
        except AssertionError as error:
            raise AssertionError(f"{op}({dtype}): {error}") from error


def test_average_weights_along_any_axis_like_numpy() -> None:
    # Keras's torch backend divides by the weights' sum over the last axis whatever `axis`
    # is, so weighted averages over other axes fail there; Lamina follows NumPy.
    x, w = normal((3, 4)), uniform((3, 4), 0.5, 2.0)
    for axis, weights in [(0, w), (0, w[:, 0]), (1, w), (1, w[0]), (None, w)]:
        got = ops.average(x, axis=axis, weights=weights)
        np.testing.assert_allclose(
            got.numpy(), np.average(x, axis=axis, weights=weights), rtol=1e-5, atol=1e-6
        )


def test_bad_arguments_name_what_was_expected() -> None:
    with pytest.raises(TypeError, match="Expected an integer N, received: N=2.5"):
        ops.eye(2.5)
    with pytest.raises(ValueError, match="Expected a non-negative int bins, received: bins=-1"):
        ops.histogram(normal((5,)), bins=-1)
    with pytest.raises(ValueError, match="Expected a 1-D input, received: x.shape=\\(3, 4\\)"):
        ops.histogram(F)
    with pytest.raises(
        ValueError,
        match="Expected a positive int indices_or_sections, received: indices_or_sections=0",
    ):
        ops.array_split(F, 0)
    with pytest.raises(
        ValueError, match="Expected two different axes, received: axis1=0, axis2=-2"
    ):
        ops.diagonal(F, axis1=0, axis2=-2)
    with pytest.raises(
        ValueError, match="Expected mode 'valid', 'same' or 'full', received: mode='wide'"
    ):
        ops.correlate(ROW, ROW, mode="wide")
    with pytest.raises(ValueError, match="Expected axis=0 .*received: axis=1"):
        ops.geomspace(1.0, 10.0, axis=1)


def test_amax_amin_keep_all_dims_with_axis_none() -> None:
    # Keras's torch backend drops keepdims when axis is None (a 0-d result); Lamina keeps
    # the (1, 1) shape as NumPy, Keras's other backends and its own all/any/argmax do.
    got_max, got_min = ops.amax(F, keepdims=True), ops.amin(T(I32), keepdims=True)
    assert tuple(got_max.shape) == (1, 1) and tuple(got_min.shape) == (1, 1)
    assert got_max.item() == F.max() and got_min.item() == I32.min()
    assert ops.dtype(got_min) == "int32"
