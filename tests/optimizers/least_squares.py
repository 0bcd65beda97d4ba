"""The shared problem of the optimizer tests: least squares on fixed data, run by Lamina's
optimizers, by NumPy re-implementations of Keras 3's update rules, and by Keras 3 itself."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from lamina import optimizers

# ----------------------------------------------------------------------------- problem
RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 4))
Y = RNG.normal(size=(8, 3))
W0 = [RNG.normal(size=(4, 3)), RNG.normal(size=(3,))]


def np_grads(w: list[np.ndarray]) -> list[np.ndarray]:
    """Gradients of 0.5 * mean_rows(sum((X w + b - Y)^2)), written out by hand."""
    r = X @ w[0] + w[1] - Y
    return [X.T @ r / len(X), r.sum(0) / len(X)]


def torch_params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.tensor(w)) for w in W0]


def torch_loss(params: list[torch.Tensor]) -> torch.Tensor:
    r = torch.tensor(X) @ params[0] + params[1] - torch.tensor(Y)
    return 0.5 * r.square().sum(1).mean()


def run_lamina(opt: optimizers.Optimizer, steps: int, params=None) -> list[torch.Tensor]:
    params = params if params is not None else torch_params()
    opt.build(params)
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(params).backward()
        opt.step()
    return params


# ------------------------------------------------------------- NumPy Keras 3 rules
class KerasRef:
    """Keras 3's update rules (keras/src/optimizers/*.py), one variable at a time."""

    def __init__(self, name: str, lr: float, weight_decay=None, torch_epsilon=False, **hp):
        self.name, self.lr, self.wd, self.hp, self.it = name, lr, weight_decay, hp, 0
        self.torch_eps = (
            torch_epsilon  # place epsilon where torch does (to isolate that difference)
        )
        self.slots: dict = {}
        self.u_product = 1.0

    def slot(self, key, i, like, value=0.0):
        return self.slots.setdefault((key, i), np.full_like(like, value))

    def apply(self, ws: list[np.ndarray], gs: list[np.ndarray]) -> None:
        hp, lr, t = self.hp, self.lr, self.it + 1
        if self.name == "Nadam":
            self.u_product *= hp["beta_1"] * (1 - 0.5 * 0.96**t)
        for i, (w, g) in enumerate(zip(ws, gs)):
            if self.wd:
                w -= w * self.wd * lr
            getattr(self, self.name)(i, w, g, hp, lr, t)
        self.it += 1

    def SGD(self, i, w, g, hp, lr, t):
        if hp.get("momentum", 0.0):
            m = self.slot("m", i, w)
            m[...] = hp["momentum"] * m - lr * g
            w += hp["momentum"] * m - lr * g if hp.get("nesterov") else m
        else:
            w -= lr * g

    def RMSprop(self, i, w, g, hp, lr, t):
        rho, eps = hp["rho"], hp["epsilon"]
        v = self.slot("v", i, w)
        v[...] = rho * v + (1 - rho) * g * g
        if hp.get("centered"):
            a = self.slot("a", i, w)
            a[...] = rho * a + (1 - rho) * g
            v = v - a * a
        inc = lr * g / (np.sqrt(v) + eps if self.torch_eps else np.sqrt(v + eps))
        if hp.get("momentum", 0.0):
            m = self.slot("m", i, w)
            m[...] = hp["momentum"] * m + inc
            w -= m
        else:
            w -= inc

    def Adam(self, i, w, g, hp, lr, t):
        b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
        m, v = self.slot("m", i, w), self.slot("v", i, w)
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        if hp.get("amsgrad"):
            vh = self.slot("vh", i, w)
            vh[...] = np.maximum(vh, v)
            v = vh
        if self.torch_eps:
            eps = eps * math.sqrt(1 - b2**t)
        w -= m * alpha / (np.sqrt(v) + eps)

    AdamW = Adam

    def Adadelta(self, i, w, g, hp, lr, t):
        rho, eps = hp["rho"], hp["epsilon"]
        acc_g, acc_d = self.slot("g", i, w), self.slot("d", i, w)
        acc_g[...] = rho * acc_g + (1 - rho) * g * g
        delta = -np.sqrt(acc_d + eps) * g / np.sqrt(acc_g + eps)
        acc_d[...] = rho * acc_d + (1 - rho) * delta * delta
        w += lr * delta

    def Adagrad(self, i, w, g, hp, lr, t):
        acc = self.slot("acc", i, w, hp["initial_accumulator_value"])
        acc += g * g
        eps = hp["epsilon"]
        w -= lr * g / (np.sqrt(acc) + eps if self.torch_eps else np.sqrt(acc + eps))

    def Adamax(self, i, w, g, hp, lr, t):
        b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
        m, u = self.slot("m", i, w), self.slot("u", i, w)
        m += (g - m) * (1 - b1)
        if self.torch_eps:
            u[...] = np.maximum(b2 * u, np.abs(g) + eps)
            w -= lr * m / ((1 - b1**t) * u)
        else:
            u[...] = np.maximum(b2 * u, np.abs(g))
            w -= lr * m / ((1 - b1**t) * (u + eps))

    def Nadam(self, i, w, g, hp, lr, t):
        b1, b2, eps = hp["beta_1"], hp["beta_2"], hp["epsilon"]
        m, v = self.slot("m", i, w), self.slot("v", i, w)
        u_t, u_t1 = b1 * (1 - 0.5 * 0.96**t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_prod_t1 = self.u_product * u_t1
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - u_prod_t1) + (1 - u_t) * g / (1 - self.u_product)
        w -= lr * m_hat / (np.sqrt(v / (1 - b2**t)) + eps)


def run_numpy(ref: KerasRef, steps: int, clip=None) -> list[np.ndarray]:
    ws = [w.copy() for w in W0]
    for _ in range(steps):
        gs = np_grads(ws)
        ref.apply(ws, clip(gs) if clip else gs)
    return ws


# ------------------------------------------------------------------ Keras 3 itself
def import_keras():
    """Keras 3, the oracle (torch backend); skips the test when it is not installed."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def run_keras(keras, name: str, kwargs: dict, steps: int) -> list[np.ndarray]:
    opt = getattr(keras.optimizers, name)(**kwargs)
    variables = [keras.Variable(w.copy(), dtype="float64") for w in W0]
    for _ in range(steps):
        grads = np_grads([np.array(v.numpy()) for v in variables])
        opt.apply_gradients(
            zip([keras.ops.convert_to_tensor(g, "float64") for g in grads], variables)
        )
    return [np.array(v.numpy()) for v in variables]
