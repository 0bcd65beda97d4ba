"""`dense`: a fully connected layer's arithmetic for one input vector, unit by unit.

As Keras's Dense stores it, `weights` is (inputs, units): unit j's weights are column j,
and z[j] = x[0]*w[0, j] + ... + x[n-1]*w[n-1, j] + b[j], then the activation.
"""

from __future__ import annotations

from typing import Any, TextIO

import numpy as np

from lamina.explain.activation import apply, check_activation, softmax_line, unit_line
from lamina.explain.printing import (
    StepPrinter,
    check_count,
    join_terms,
    number,
    product,
    tidy,
)
from lamina.explain.windows import as_array


def dense(
    x: Any,
    weights: Any,
    bias: Any = None,
    activation: str | None = None,
    *,
    max_steps: int | None = 4,
    max_terms: int | None = 30,
    verbose: bool = True,
    file: TextIO | None = None,
) -> np.ndarray:
    """Each unit's weighted sum `0.5*0.2 + -1*0.4 + 0.1 = -0.2`, then its activation.

    x: (inputs,). weights: (inputs, units). bias: (units,) or None. activation: None,
    'relu', 'sigmoid', 'tanh', 'softmax', ... Returns the (units,) output. max_steps: how
    many units to print (None for all); max_terms: the longest sum printed whole;
    file: the stream (stdout by default); verbose=False only computes.
    """
    v = as_array("x", x)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"Expected x of shape (inputs,), received: x.shape={v.shape}")
    w = as_array("weights", weights)
    n = v.shape[0]
    if w.ndim != 2 or w.shape[0] != n or w.shape[1] == 0:
        raise ValueError(
            f"Expected weights of shape ({n}, units) for {n} inputs, "
            f"received: weights.shape={w.shape}"
        )
    units = w.shape[1]
    b = np.zeros(units) if bias is None else as_array("bias", bias)
    if b.shape != (units,):
        raise ValueError(
            f"Expected a bias of shape ({units},), one per unit, received: bias.shape={b.shape}"
        )
    act = check_activation(activation)
    check_count("max_terms", max_terms, minimum=1)
    z = v @ w + b
    out = apply(act, z)

    scale = np.abs(v) @ np.abs(w) + np.abs(b)
    shown_z = np.array([tidy(zj, sj) for zj, sj in zip(z, scale)])
    printer = StepPrinter(verbose, file, max_steps)
    symbols = [f"x[{i}]*w[{i}, j]" for i in range(n)]
    formula = " + ".join(symbols) if n <= 3 else f"{symbols[0]} + ... + {symbols[-1]}"
    tail = (" + b[j]" if bias is not None else "") + (f", then {act}" if act else "")
    printer.line(f"dense: {n} inputs -> {units} units; z[j] = {formula}{tail}")
    for j in range(printer.limit(units)):
        printer.line(f"unit {j}:")
        terms = [product(xi, wi) for xi, wi in zip(v, w[:, j])]
        if bias is not None:
            terms.append(number(b[j]))
        printer.line(f"{join_terms(terms, max_terms)} = {number(shown_z[j])}")
        if act and act != "softmax":
            printer.line(unit_line(act, shown_z[j], out[j]))
    printer.finish(units, "unit")
    if act == "softmax":
        printer.line(softmax_line(shown_z, out, max_terms))
    return out
