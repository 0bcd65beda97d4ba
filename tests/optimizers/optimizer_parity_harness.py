"""Five updates of the same float32 weights from the same gradients, by a Keras 3 optimizer
(torch backend, the oracle) and by Lamina's: the shared harness of the parity tests."""

from __future__ import annotations

import os

import numpy as np
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(17)
# A Dense kernel, a bias and a rank-3 weight; the gradients of five steps (the third step
# has one large gradient, so the clipping variants clip).
NAMES = ["dense/kernel", "dense/bias", "conv/kernel"]
WEIGHTS = [
    RNG.normal(size=(4, 3)).astype("float32"),
    RNG.normal(size=(3,)).astype("float32"),
    RNG.normal(size=(2, 3, 5)).astype("float32"),
]
GRADS = [[RNG.normal(size=w.shape).astype("float32") for w in WEIGHTS] for _ in range(5)]
GRADS[2][0] = GRADS[2][0] * 20.0


def keras_module():
    import keras

    return keras


def build(module, spec):
    """The optimizer `spec` describes, built from `module` (Keras or Lamina)."""
    return spec(module)


def run_keras(spec, grads=GRADS):
    keras = keras_module()
    opt = spec(keras)
    variables = [keras.Variable(w.copy(), name=n.split("/")[-1]) for w, n in zip(WEIGHTS, NAMES)]
    for v, n in zip(variables, NAMES):
        v._path = n  # Keras's path (what OptimizerMap and Muon's exclusions read)
    for step in grads:
        opt.apply([keras.ops.convert_to_tensor(g) for g in step], variables)
    opt.finalize_variable_values(variables)
    return [np.array(v.numpy()) for v in variables], opt


def run_lamina(spec, grads=GRADS):
    import lamina

    opt = spec(lamina)
    params = [torch.nn.Parameter(torch.tensor(w.copy())) for w in WEIGHTS]
    for p, n in zip(params, NAMES):
        p.path = n
    for step in grads:
        opt.apply([torch.tensor(g) for g in step], params)
    opt.finalize_variable_values(params)
    return [p.detach().numpy().copy() for p in params], opt


def max_gap(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))
