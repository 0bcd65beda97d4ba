"""Keras 3's `keras.ops.linalg` on `torch.linalg`, with the torch backend's conventions.

Decompositions return tuples of tensors as torch does (`qr` -> (q, r), `svd` -> (u, s, vh),
`eigh` -> (eigenvalues, eigenvectors)); `lu_factor`'s pivots are 0-based like SciPy's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import config
from lamina.ops.conversion import convert_to_tensor
from lamina.ops.dtypes import result_type, standardize_dtype, to_torch_dtype

__all__ = [
    "cholesky",
    "cholesky_inverse",
    "det",
    "eig",
    "eigh",
    "inv",
    "jvp",
    "lstsq",
    "lu_factor",
    "matrix_rank",
    "norm",
    "pinv",
    "qr",
    "solve",
    "solve_triangular",
    "svd",
]


def cholesky(x: Any, upper: bool = False) -> torch.Tensor:
    """The Cholesky factor of symmetric positive-definite matrices (lower, or upper if `upper`)."""
    return torch.linalg.cholesky(convert_to_tensor(x), upper=upper)


def cholesky_inverse(x: Any, upper: bool = False) -> torch.Tensor:
    """The inverse of `A` from its Cholesky factor `x` (lower, or upper if `upper`)."""
    return torch.cholesky_inverse(convert_to_tensor(x), upper=upper)


def det(x: Any) -> torch.Tensor:
    """The determinant of (a batch of) square matrices."""
    return torch.linalg.det(convert_to_tensor(x))


def eig(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex eigenvalues and eigenvectors of general square matrices."""
    return tuple(torch.linalg.eig(convert_to_tensor(x)))


def eigh(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Ascending eigenvalues and eigenvectors of symmetric (Hermitian) matrices."""
    return tuple(torch.linalg.eigh(convert_to_tensor(x)))


def inv(x: Any) -> torch.Tensor:
    """The inverse of (a batch of) square matrices."""
    return torch.linalg.inv(convert_to_tensor(x))


def lu_factor(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The packed LU factorization and 0-based pivot indices (int32) of square matrices."""
    lu, pivots = torch.linalg.lu_factor(convert_to_tensor(x))
    return lu, pivots - 1


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Vector or matrix norm of `x` over `axis`, as float (ints become floatx)."""
    x = convert_to_tensor(x)
    name = standardize_dtype(x.dtype)
    target = config.floatx() if name == "int64" else result_type(x.dtype, float)
    return torch.linalg.norm(x.to(to_torch_dtype(target)), ord=ord, dim=axis, keepdim=keepdims)


def qr(x: Any, mode: str = "reduced") -> tuple[torch.Tensor, torch.Tensor]:
    """The QR decomposition; `mode` 'reduced' or 'complete'."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"Expected mode 'reduced' or 'complete', received: mode={mode!r}")
    return tuple(torch.linalg.qr(convert_to_tensor(x), mode=mode))


def solve(a: Any, b: Any) -> torch.Tensor:
    """`x` with `a @ x = b` for square `a`."""
    return torch.linalg.solve(convert_to_tensor(a), convert_to_tensor(b))


def solve_triangular(a: Any, b: Any, lower: bool = False) -> torch.Tensor:
    """`x` with `a @ x = b` for triangular `a` (upper unless `lower`); `b` may be a vector."""
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    if b.dim() == a.dim() - 1:
        return torch.linalg.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """The singular value decomposition (u, s, vh), or only `s` when not `compute_uv`."""
    x = convert_to_tensor(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


def lstsq(a: Any, b: Any, rcond: float | None = None) -> torch.Tensor:
    """The least-squares solution of `a @ x = b`; `rcond` cuts small singular values."""
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    if rcond is not None:
        if a.device.type != "cpu":
            return torch.linalg.pinv(a, rtol=rcond) @ b
        return torch.linalg.lstsq(a, b, rcond=rcond, driver="gelsd").solution
    return torch.linalg.lstsq(a, b).solution


def matrix_rank(x: Any, tol: float | None = None) -> torch.Tensor:
    """The numerical rank (int32) of matrices; singular values at most `tol` count as zero."""
    return torch.linalg.matrix_rank(convert_to_tensor(x), atol=tol).to(torch.int32)


def pinv(x: Any, rcond: float | None = None) -> torch.Tensor:
    """The Moore-Penrose pseudo-inverse; singular values below `rcond` times the largest are cut."""
    return torch.linalg.pinv(convert_to_tensor(x), rtol=rcond)


def jvp(fun: Callable[..., Any], primals: Any, tangents: Any, has_aux: bool = False) -> Any:
    """`(fun(*primals), J @ tangents)` (plus `aux` if `has_aux`), forward-mode via `torch.func.jvp`."""
    return torch.func.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
