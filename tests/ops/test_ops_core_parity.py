"""lamina.ops core ops (keras.ops.core, .math, .einops) against keras.ops on torch: values,
dtypes and shapes, including control flow, scatters, segment reductions and Fourier ops."""

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
I32 = ints((3, 4), -5, 6)
SIGNAL = normal((2, 32))
SIGNAL64 = normal((32,), "float64")
SPD = (lambda a: a @ a.T + 4 * np.eye(4))(normal((4, 4), "float64")).astype("float32")


def _pair(shape: tuple[int, ...], dtype: str = "float32") -> tuple[torch.Tensor, torch.Tensor]:
    return T(normal(shape, dtype)), T(normal(shape, dtype))


def _spectrum(signal: np.ndarray, length: int, stride: int, fft_length: int, **kwargs: Any) -> Any:
    return tuple(ops.stft(T(signal), length, stride, fft_length, **kwargs))


# Control-flow bodies (plain functions so both libraries get the very same callables).
def _add(a: Any, b: Any) -> Any:
    return a + b


def _affine_combine(a: Any, b: Any) -> Any:
    # (a1, b1) then (a2, b2): x -> a2 * (a1 * x + b1) + b2, an associative recurrence.
    return (a[0] * b[0], b[0] * a[1] + b[1])


def _pairwise(a: Any, b: Any) -> Any:
    return [a[0] + b[0], a[1] * b[1]]


def _cumsum_step(carry: Any, x: Any) -> Any:
    carry = carry + x
    return carry, carry * 2


def _nested_step(carry: Any, x: Any) -> Any:
    total, count = carry
    return (total + x["a"] * x["b"], count + 1), {"sq": x["a"] ** 2}


def _counter_step(carry: Any, _: Any) -> Any:
    return carry * 1.5, None


def _body_loop(i: Any, val: Any) -> Any:
    return val * 0.5 + i


def _row_norm(x: Any) -> Any:
    return torch.sqrt(torch.sum(x * x, dim=-1))


def _two_outputs(x: Any) -> Any:
    return {"s": x.sum(), "m": x.max()}


def _while_cond(i: Any, x: Any) -> Any:
    return i < 5


def _while_body(i: Any, x: Any) -> Any:
    return i + 1, x * 2 + 1


def _true_branch() -> Any:
    return torch.tensor(F) * 2


def _false_branch() -> Any:
    return torch.tensor(F) - 1


def _branch_sin(x: Any, y: Any) -> Any:
    return torch.sin(x) + y


def _branch_mul(x: Any, y: Any) -> Any:
    return x * y


def _branch_neg(x: Any, y: Any) -> Any:
    return -x


SEG_IDS = T(np.array([0, 0, 2, 1, 2, 2], "int32"))
SEG_UNSORTED = np.array([3, 0, 3, 1, 1, 0], "int64")
SEG_DATA = normal((6, 3))

CORE_PARITY: dict[str, list[Case]] = {
    "ops.associative_scan": [
        C(_add, T(normal((7,)))),
        C(_add, T(normal((6, 3))), axis=1),
        C(_add, T(normal((5, 2))), reverse=True),
        C(_affine_combine, (T(uniform((9,), 0.5, 1.0)), T(normal((9,))))),
        C(_pairwise, [T(normal((8, 2))), T(uniform((8, 2), 0.5, 1.5))]),
    ],
    "ops.cast": [
        C(T(F), "int32"),
        C(F64, "float16"),
        C(T(I32), "bool"),
        C(3, "float32"),
        C([1.5, 2.5], "int8"),
        C(T(F), "float32"),
    ],
    "ops.cdist": [
        C(T(normal((3, 4))), T(normal((5, 4)))),
        C(normal((2, 3, 4), "float64"), normal((2, 6, 4), "float64")),
    ],
    "ops.cond": [
        C(True, _true_branch, _false_branch),
        C(T(np.array(False)), _true_branch, _false_branch),
    ],
    "ops.convert_to_tensor": [
        C(F),
        C([1, 2, 3]),
        C(2.5),
        C(T(I32), "float32"),
        C(np.arange(4, dtype="uint8"), "int16"),
        C(True),
    ],
    "ops.erf": [C(T(F)), C(F64), C(T(I32))],
    "ops.erfc": [C(T(F)), C(F64), C(T(I32))],
    "ops.erfinv": [C(T(uniform((3, 4), -0.9, 0.9))), C(uniform((5,), -0.9, 0.9, "float64"))],
    "ops.extract_sequences": [
        C(T(normal((2, 10))), 3, 2),
        C(normal((12,), "float64"), 4, 4),
        C(T(ints((2, 2, 9), 0, 9)), 5, 1),
    ],
    "ops.fft": [C(_pair((3, 8))), C(_pair((5,), "float64"))],
    "ops.fft2": [C(_pair((2, 4, 6))), C(_pair((3, 3), "float64"))],
    "ops.fori_loop": [C(0, 5, _body_loop, T(F)), C(2, 4, _body_loop, F64)],
    "ops.ifft2": [C(_pair((2, 4, 6))), C(_pair((3, 3), "float64"))],
    "ops.in_top_k": [
        C(T(np.array([2, 5, 3, 0])), T(normal((4, 6))), 3),
        C(np.array([1, 0], "int32"), np.array([[0.1, 0.9, 0.9], [0.5, 0.5, 0.1]], "float32"), 1),
    ],
    "ops.irfft": [
        C(_pair((3, 5))),
        C(_pair((5,), "float64"), fft_length=8),
        C(_pair((2, 6)), fft_length=7),
    ],
    "ops.istft": [
        C(_spectrum(SIGNAL, 8, 4, 8), 8, 4, 8),
        C(_spectrum(SIGNAL, 8, 2, 16), 8, 2, 16),
        C(_spectrum(SIGNAL, 8, 4, 8, center=False), 8, 4, 8, center=False),
        C(_spectrum(SIGNAL, 6, 3, 8, window="hamming"), 6, 3, 8, window="hamming"),
        C(_spectrum(SIGNAL, 8, 4, 8), 8, 4, 8, length=20),
        C(_spectrum(SIGNAL, 8, 4, 8, window=None), 8, 4, 8, window=None),
        C(_spectrum(SIGNAL64, 8, 4, 8), 8, 4, 8),
        C(_spectrum(normal((2, 2, 40)), 8, 4, 8), 8, 4, 8),
        C(_spectrum(normal((2, 2, 40)), 6, 2, 10, center=False), 6, 2, 10, center=False),
        C(
            _spectrum(SIGNAL, 8, 4, 12, window=None, center=False),
            8,
            4,
            12,
            window=None,
            center=False,
            length=24,
        ),
    ],
    "ops.logdet": [C(T(SPD)), C(SPD.astype("float64"))],
    "ops.logsumexp": [
        C(T(F)),
        C(F64, axis=0),
        C(T(F), axis=1, keepdims=True),
        C(T(normal((2, 3, 4))), axis=(0, 2)),
    ],
    "ops.map": [C(_row_norm, T(normal((5, 3)))), C(_two_outputs, T(normal((4, 3), "float64")))],
    "ops.rearrange": [
        C(T(normal((2, 3, 4, 5))), "b h w c -> b c h w"),
        C(normal((2, 3, 4, 5)), "b h w c -> (b h) w c"),
        C(T(normal((2, 4, 6, 3))), "b (h1 h) (w1 w) c -> (b h1 w1) h w c", h1=2, w1=3),
        C(T(ints((2, 4, 6, 3), 0, 9)), "b (h h1) (w w1) c -> b h w (c h1 w1)", h1=2, w1=2),
        C(T(normal((2, 3, 4))), "b h w -> b (h w)"),
    ],
    "ops.rfft": [
        C(T(normal((3, 8)))),
        C(normal((7,), "float64"), fft_length=10),
        C(T(normal((2, 9))), fft_length=6),
    ],
    "ops.rsqrt": [
        C(T(uniform((3, 4), 0.1, 4.0))),
        C(uniform((3,), 0.1, 4.0, "float64")),
        C(T(ints((3,), 1, 9))),
    ],
    "ops.saturate_cast": [
        C(T(np.array([-300.0, -1.5, 0.4, 200.0, 300.0, np.inf, -np.inf], "float32")), "uint8"),
        C(T(np.array([-300, -1, 100, 300], "int32")), "int8"),
        C(np.array([1e10, -1e10, 3.7], "float64"), "int16"),
        C(T(np.array([1e6, -1e6, 0.5], "float32")), "float16"),
        C(T(np.array([-3, 0, 9], "int32")), "bool"),
        C(T(np.array([0, 200, 255], "uint8")), "int8"),
    ],
    "ops.scan": [
        C(_cumsum_step, T(np.zeros(3, "float32")), T(normal((5, 3)))),
        C(_cumsum_step, T(np.zeros((), "float64")), T(normal((6,), "float64")), reverse=True),
        C(
            _nested_step,
            (T(np.zeros(2, "float32")), T(np.array(0, "int32"))),
            {"a": T(normal((4, 2))), "b": T(normal((4, 2)))},
        ),
        C(_counter_step, T(np.ones(2, "float32")), None, length=4),
    ],
    "ops.scatter": [
        C(T(np.array([[0, 1], [2, 3], [0, 1]])), T(normal((3,))), (3, 4)),
        C(np.array([[1], [0]], "int32"), normal((2, 4)), (3, 4)),
        C(T(np.array([[[0, 0]], [[1, 2]]])), T(ints((2, 1), 1, 5)), (2, 3)),
    ],
    "ops.scatter_update": [
        C(T(F), T(np.array([[0, 1], [2, 3]])), T(normal((2,)))),
        C(F64, np.array([[1], [0]]), normal((2, 4), "float64")),
        C(T(F), T(np.array([[0, 1], [0, 1], [2, 2]])), T(normal((3,))), reduction="add"),
        C(T(F), T(np.array([[0, 1], [0, 1], [2, 2]])), T(normal((3,))), reduction="max"),
        C(T(F), T(np.array([[0, 1], [0, 1], [2, 2]])), T(normal((3,))), reduction="min"),
        C(T(F), T(np.array([[0, 1], [0, 2], [2, 2]])), T(normal((3,))), reduction="mul"),
        C(T(I32), T(np.array([[0, 0], [1, 1]])), T(np.array([7, 8], "int32"))),
    ],
    "ops.segment_max": [
        C(T(SEG_DATA), SEG_IDS),
        C(SEG_DATA, SEG_UNSORTED, num_segments=5),
        C(T(ints((6, 2), -9, 9)), SEG_IDS, 3),
        C(T(SEG_DATA), T(np.array([0, 1, -1, 1, 4, 0], "int32")), num_segments=3),
    ],
    "ops.segment_min": [
        C(T(SEG_DATA), SEG_IDS),
        C(SEG_DATA, SEG_UNSORTED, num_segments=5),
        C(T(ints((6, 2), -9, 9)), SEG_IDS, 3),
    ],
    "ops.segment_prod": [
        C(T(SEG_DATA), SEG_IDS),
        C(SEG_DATA, SEG_UNSORTED, num_segments=5),
        C(T(ints((6, 2), -4, 4)), SEG_IDS, 3),
    ],
    "ops.segment_sum": [
        C(T(SEG_DATA), SEG_IDS),
        C(SEG_DATA, SEG_UNSORTED, num_segments=5),
        C(T(ints((6, 2), -9, 9)), SEG_IDS, 3),
        C(T(normal((6,), "float64")), SEG_IDS, sorted=True),
        C(T(SEG_DATA), T(np.array([0, 1, -1, 1, 4, 0], "int32")), num_segments=3),
    ],
    "ops.shape": [C(T(F)), C(T(normal((2, 3, 1))))],
    "ops.slice": [
        C(T(F), (1, 0), (2, 3)),
        C(F64, [0, 2], [3, 2]),
        C(T(normal((4, 5, 6))), T(np.array([1, 2, 0])), (2, 2, 6)),
    ],
    "ops.slice_update": [
        C(T(F), (1, 1), T(normal((2, 2)))),
        C(F64, [0, 0], normal((1, 4), "float64")),
        C(T(I32), (2, 0), T(ints((1, 3), 50, 60))),
    ],
    "ops.stft": [
        C(T(SIGNAL), 8, 4, 8),
        C(T(SIGNAL), 8, 2, 16, window="hamming"),
        C(T(SIGNAL), 6, 3, 8, center=False),
        C(T(normal((2, 2, 24))), 8, 4, 8, window=None),
        C(T(SIGNAL64), 8, 4, 8, window=T(uniform((8,), 0.5, 1.0, "float64"))),
    ],
    "ops.stop_gradient": [C(T(F)), C(T(I32))],
    "ops.switch": [
        C(0, [_branch_sin, _branch_mul, _branch_neg], T(F), T(F64)),
        C(T(np.array(5)), [_branch_sin, _branch_mul, _branch_neg], T(F), T(F)),
        C(-2, [_branch_sin, _branch_mul], T(F), 2.0),
    ],
    "ops.top_k": [
        C(T(normal((3, 6))), 2),
        C(normal((7,), "float64"), 7),
        C(T(ints((2, 5), -9, 9)), 3),
        C(T(normal((3, 6))), 4, sorted=False),
    ],
    "ops.unstack": [C(T(F)), C(T(F), axis=1), C(T(normal((2, 3, 4))), axis=-1)],
    "ops.vectorized_map": [
        C(_row_norm, T(normal((5, 3)))),
        C(_two_outputs, T(normal((4, 3), "float64"))),
    ],
    "ops.view_as_complex": [C(T(normal((3, 2)))), C(normal((2, 4, 2), "float64"))],
    "ops.view_as_real": [
        C(T((normal((3,)) + 1j * normal((3,))).astype("complex64"))),
        C((normal((2, 2)) + 1j * normal((2, 2))).astype("complex64")),
    ],
    "ops.while_loop": [
        C(_while_cond, _while_body, (T(np.array(0)), T(F))),
        C(_while_cond, _while_body, [0, T(F64)], maximum_iterations=3),
        C(lambda x: x.sum() < 100, lambda x: x * 2, T(uniform((3,), 1.0, 2.0))),
    ],
}

# Results that are not tensors: Python values compared directly.
PLAIN = {
    "ops.convert_to_numpy": [C(T(F)), C(T(I32)), C([1, 2]), C(T(normal((3,), "float16")))],
    "ops.dtype": [C(T(F)), C(T(I32)), C(T(bools((2,)))), C(torch.zeros(2, dtype=torch.bfloat16))],
    "ops.is_tensor": [C(T(F)), C(F), C(3), C([1.0])],
}
CORE_PARITY.update(PLAIN)


def _plain_equal(got: Any, expected: Any) -> None:
    assert type(got) is type(expected), (type(got), type(expected))
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    else:
        assert got == expected


@pytest.mark.parametrize("name", sorted(CORE_PARITY))
def test_core_op_matches_keras(name: str) -> None:
    fn_name = name.split(".", 1)[1]
    for case in CORE_PARITY[name]:
        k_args, k_kwargs = case.fresh()
        expected = getattr(keras.ops, fn_name)(*k_args, **k_kwargs)
        l_args, l_kwargs = case.fresh()
        got = getattr(ops, fn_name)(*l_args, **l_kwargs)
        assert getattr(ops.core, fn_name) is getattr(ops, fn_name)
        try:
            if name in PLAIN:
                _plain_equal(got, expected)
            else:
                assert_same(got, expected, rtol=1e-5, atol=1e-5)
        except AssertionError as error:
            raise AssertionError(f"{name} {case}: {error}") from error


def _log1pexp_factory(lib: Any) -> Any:
    @lib.ops.custom_gradient
    def log1pexp(x: Any) -> Any:
        e = lib.ops.exp(x)

        def grad(*args: Any, upstream: Any = None) -> Any:
            return lib.ops.multiply(upstream, 1.0 - 1.0 / lib.ops.add(1, e)) * 3.0

        return lib.ops.log(1 + e), grad

    return log1pexp


CORE_PARITY["ops.custom_gradient"] = [C(F), C(F64)]


@pytest.mark.parametrize("case", CORE_PARITY["ops.custom_gradient"], ids=repr)
def test_custom_gradient_matches_keras(case: Case) -> None:
    import lamina

    results = []
    for lib in (keras, lamina):
        x = torch.tensor(case.args[0], requires_grad=True)
        y = _log1pexp_factory(lib)(x)
        y.sum().backward()
        results.append((y.detach(), x.grad))
    assert_same(results[1], results[0])
    # The custom rule (3x the true derivative) is what autograd used.
    np.testing.assert_allclose(results[1][1].numpy(), 3 / (1 + np.exp(-case.args[0])), rtol=1e-5)


def test_control_flow_and_scatter_ops_are_differentiable() -> None:
    x = torch.tensor(normal((5, 3)), requires_grad=True)
    _, ys = ops.scan(_cumsum_step, torch.zeros(3), x)
    total = (
        ys.sum() + ops.associative_scan(_add, x).sum() + ops.segment_max(x, SEG_IDS[:5], 3).sum()
    )
    total = (
        total
        + ops.scatter_update(x, [[0, 1]], x[1:2, 0]).sum()
        + ops.slice_update(x, (0, 0), x[:1] * 2).sum()
    )
    total = total + ops.vectorized_map(_row_norm, x).sum() + ops.logsumexp(x)
    total.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert not ops.stop_gradient(x).requires_grad


def test_associative_scan_keeps_the_input_dtype() -> None:
    # Keras's torch backend interleaves into float32 buffers, so float64 and int scans
    # come back float32 there; Lamina keeps the dtype (as Keras's JAX backend does).
    x = normal((9, 2), "float64")
    got = ops.associative_scan(_add, x)
    assert ops.dtype(got) == "float64"
    np.testing.assert_allclose(got.numpy(), np.cumsum(x, axis=0), rtol=1e-12)
    keras_value = keras.ops.associative_scan(_add, T(x))
    np.testing.assert_allclose(got.numpy(), keras_value.numpy(), rtol=1e-5, atol=1e-5)
    parts = {"a": ints((7,), -3, 3), "b": bools((7,))}
    out = ops.associative_scan(
        lambda p, q: {"a": p["a"] + q["a"], "b": p["b"] | q["b"]}, parts, reverse=True
    )
    assert ops.dtype(out["a"]) == "int32" and ops.dtype(out["b"]) == "bool"
    np.testing.assert_array_equal(out["a"].numpy(), np.cumsum(parts["a"][::-1])[::-1])
    np.testing.assert_array_equal(
        out["b"].numpy(), np.logical_or.accumulate(parts["b"][::-1])[::-1]
    )


def test_saturate_cast_saturates_float64_to_int32() -> None:
    # Keras clips float64 with float32 limits, so 1e10 overflows to int32's minimum there.
    got = ops.saturate_cast(np.array([1e10, -1e10, 3.7, np.inf]), "int32")
    np.testing.assert_array_equal(got.numpy(), [2**31 - 1, -(2**31), 3, 2**31 - 1])
    assert ops.dtype(got) == "int32"


def test_empty_integer_segments_hold_the_dtype_limits() -> None:
    # Keras's torch backend casts +-inf to the int dtype for empty segments (undefined:
    # 0, or int32's minimum for segment_min); Lamina fills the reduction's identity, the
    # dtype's lowest value for max and highest for min, as Keras's JAX and TF backends do.
    data = T(np.array([[3, -2], [5, 7], [1, 1]], "int8"))
    ids = T(np.array([0, 2, 2]))
    np.testing.assert_array_equal(
        ops.segment_max(data, ids, 4).numpy(), [[3, -2], [-128, -128], [5, 7], [-128, -128]]
    )
    np.testing.assert_array_equal(
        ops.segment_min(data, ids, 4).numpy(), [[3, -2], [127, 127], [1, 1], [127, 127]]
    )
    np.testing.assert_array_equal(
        ops.segment_prod(data, ids, 4).numpy(), [[3, -2], [1, 1], [5, 7], [1, 1]]
    )
    np.testing.assert_array_equal(
        ops.segment_sum(data, ids, 4).numpy(), [[3, -2], [0, 0], [6, 8], [0, 0]]
    )
    assert ops.dtype(ops.segment_max(data, ids, 4)) == "int8"
    floats = ops.segment_max(T(np.array([1.0, 2.0], "float32")), T(np.array([0, 2])), 3)
    np.testing.assert_array_equal(floats.numpy(), [1.0, -np.inf, 2.0])


def test_bad_arguments_name_what_was_expected() -> None:
    with pytest.raises(ValueError, match="Expected reduction in .*received: reduction='avg'"):
        ops.scatter_update(F, [[0, 0]], [1.0], reduction="avg")
    with pytest.raises(
        ValueError, match="Expected a pattern 'inputs -> outputs', received: pattern='b h w'"
    ):
        ops.rearrange(F, "b h w")
    with pytest.raises(
        TypeError, match="Expected a float32 or float64 signal, received: x.dtype=int32"
    ):
        ops.stft(T(ints((16,), 0, 3)), 8, 4, 8)
    with pytest.raises(ValueError, match="Expected a \\(real, imaginary\\) pair"):
        ops.fft(T(F))
    with pytest.raises(
        ValueError, match="Expected 1-D segment_ids, received: segment_ids.shape=\\(2, 3\\)"
    ):
        ops.segment_sum(F, T(np.zeros((2, 3), "int32")))
    with pytest.raises(
        ValueError, match="Expected unroll to be a positive int or a bool, received: unroll=0"
    ):
        ops.scan(_cumsum_step, T(np.zeros(3, "float32")), T(F), unroll=0)
    with pytest.raises(
        ValueError, match="Expected a last dimension of size 2, received: x.shape=\\(3, 4\\)"
    ):
        ops.view_as_complex(F)
    with pytest.raises(ValueError, match="Expected inputs of rank >= 2, received: x.ndim=1"):
        ops.cdist(F[0], F)


def test_every_keras_name_of_this_group_is_exported_once() -> None:
    # Keras's core/math/einops ops live in lamina.ops.core; numpy a..h and linalg in their
    # submodules; all of them are the same objects at lamina.ops's top level.
    numpy_ah = sorted(n for n in dir(keras.ops.numpy) if not n.startswith("_") and n < "i")
    for name in numpy_ah:
        assert getattr(ops, name) is getattr(ops.numpy, name), name
    for name in (n for n in dir(keras.ops.linalg) if not n.startswith("_")):
        assert getattr(ops, name) is getattr(ops.linalg, name), name
    core_names = set(CORE_PARITY)
    assert len(core_names) == 46
    for key in core_names:
        assert getattr(ops, key[4:]) is getattr(ops.core, key[4:]), key
        assert hasattr(keras.ops, key[4:]), key
