"""lamina.ops.linalg against keras.ops.linalg (torch backend): values, dtypes and shapes of
decompositions, solves, norms and jvp on seeded well-conditioned matrices."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from _parity_utils import Case, T, assert_same, ints, normal

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import ops  # noqa: E402

C = Case


def spd(n: int, batch: tuple[int, ...] = (), dtype: str = "float32") -> np.ndarray:
    a = normal((*batch, n, n), "float64")
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def well(n: int, batch: tuple[int, ...] = (), dtype: str = "float32") -> np.ndarray:
    return (normal((*batch, n, n), "float64") + 3 * np.eye(n)).astype(dtype)


def tri(n: int, lower: bool, batch: tuple[int, ...] = ()) -> np.ndarray:
    a = well(n, batch)
    return np.tril(a) if lower else np.triu(a)


CHOL = np.linalg.cholesky(spd(4).astype("float64")).astype("float32")
RECT = normal((5, 3))
RANK2 = (normal((4, 2)) @ normal((2, 4))).astype("float32")


def _square(x: torch.Tensor) -> torch.Tensor:
    return x * x


def _sin_and_aux(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.sin(x), x.sum()


def _two_inputs(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x * y + torch.exp(x)


LINALG_PARITY: dict[str, list[Case]] = {
    "ops.cholesky": [C(T(spd(4))), C(spd(3, (2,), "float64")), C(T(spd(3)), upper=True)],
    "ops.cholesky_inverse": [
        C(T(CHOL)),
        C(CHOL.astype("float64")),
        C(T(np.ascontiguousarray(CHOL.T)), upper=True),
    ],
    "ops.det": [C(T(well(4))), C(well(3, (2,), "float64")), C(T(RANK2))],
    "ops.eigh": [C(T(spd(4))), C(spd(3, (2,), "float64"))],
    "ops.inv": [C(T(well(4))), C(well(3, (2,), "float64"))],
    "ops.lstsq": [
        C(T(RECT), T(normal((5, 2)))),
        C(RECT.astype("float64"), normal((5,), "float64")),
        C(T(RECT), T(normal((5, 2))), rcond=1e-3),
    ],
    "ops.lu_factor": [C(T(well(4))), C(well(3, (2,), "float64"))],
    "ops.matrix_rank": [
        C(T(RANK2)),
        C(T(well(4))),
        C(RANK2.astype("float64"), tol=0.5),
        C(T(normal((2, 3, 5)))),
    ],
    "ops.norm": [
        C(T(normal((5,)))),
        C(T(normal((3, 4)))),
        C(normal((3, 4), "float64"), ord="fro"),
        C(T(normal((3, 4))), ord=2),
        C(T(normal((3, 4))), ord=1, axis=0),
        C(T(normal((3, 4))), ord=np.inf, axis=-1, keepdims=True),
        C(T(normal((2, 3, 4))), ord="nuc", axis=(1, 2)),
        C(T(ints((3, 4), -5, 5))),
        C(T(ints((5,), -5, 5, "int64")), ord=1),
        C(T(normal((3, 4), "float16")), axis=1),
    ],
    "ops.pinv": [C(T(RECT)), C(RANK2.astype("float64")), C(T(RECT), rcond=0.5)],
    "ops.qr": [C(T(RECT)), C(RECT.astype("float64"), mode="complete"), C(T(normal((2, 3, 4))))],
    "ops.solve": [
        C(T(well(4)), T(normal((4, 2)))),
        C(well(3, (2,), "float64"), normal((2, 3, 1), "float64")),
    ],
    "ops.solve_triangular": [
        C(T(tri(4, False)), T(normal((4, 2)))),
        C(T(tri(4, True)), T(normal((4,))), lower=True),
        C(T(tri(3, True, (2,))), T(normal((2, 3, 2))), lower=True),
    ],
    "ops.svd": [
        C(T(RECT)),
        C(RECT.astype("float64"), full_matrices=False),
        C(T(normal((2, 3, 4))), compute_uv=False),
    ],
}


def _compare_eig(got, expected, case):  # noqa: ANN001, ANN202
    # Eigenvectors are unique up to a complex phase: compare eigenvalues and A v = w v.
    assert_same(got[0], expected[0])
    assert_same(got[1], expected[1], values=False)
    a = torch.as_tensor(case.args[0]).to(got[1].dtype)
    torch.testing.assert_close(a @ got[1], got[1] * got[0][..., None, :], rtol=1e-4, atol=1e-4)


def _compare_jvp(got, expected, case):  # noqa: ANN001, ANN202
    assert_same(got, expected)


LINALG_PARITY["ops.eig"] = [C(T(well(4))), C(well(3, (2,), "float64"))]
LINALG_PARITY["ops.jvp"] = [
    C(_square, (T(normal((3,))),), (T(normal((3,))),)),
    C(_sin_and_aux, (T(normal((2, 3))),), (T(np.ones((2, 3), "float32")),), has_aux=True),
    C(
        _two_inputs,
        (T(normal((4,), "float64")), T(normal((4,), "float64"))),
        (T(normal((4,), "float64")), T(normal((4,), "float64"))),
    ),
]
CUSTOM = {"ops.eig": _compare_eig}


@pytest.mark.parametrize("name", sorted(LINALG_PARITY))
def test_linalg_op_matches_keras(name: str) -> None:
    fn_name = name.split(".", 1)[1]
    for case in LINALG_PARITY[name]:
        k_args, k_kwargs = case.fresh()
        expected = getattr(keras.ops.linalg, fn_name)(*k_args, **k_kwargs)
        l_args, l_kwargs = case.fresh()
        got = getattr(ops.linalg, fn_name)(*l_args, **l_kwargs)
        assert getattr(ops, fn_name) is getattr(ops.linalg, fn_name)
        try:
            if name in CUSTOM:
                CUSTOM[name](got, expected, case)
            else:
                assert_same(got, expected, rtol=1e-4, atol=1e-4)
        except AssertionError as error:
            raise AssertionError(f"{name} {case}: {error}") from error


def test_linalg_is_differentiable() -> None:
    a = torch.tensor(spd(3), requires_grad=True)
    b = torch.tensor(normal((3, 2)))
    loss = ops.det(a) + ops.norm(ops.solve(a, b)) + ops.cholesky(a).sum() + ops.inv(a).sum()
    loss.backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


def test_bad_qr_mode_names_what_was_expected() -> None:
    with pytest.raises(
        ValueError, match="Expected mode 'reduced' or 'complete', received: mode='r'"
    ):
        ops.qr(normal((3, 3)), mode="r")
