"""The benchmark's data and its two workloads, defined once per peer.

Imports only NumPy at module level: the Keras worker (`peer_keras.py`) also runs
in the separate JAX venv, which has no torch. Each builder imports its framework.

- MLP (the courses' 5-layer net): Flatten 784 -> Dense 200 -> 100 -> 60 -> 30 (ReLU)
  -> Dense 10 softmax; RMSprop(lr=0.001, rho=0.9, eps=1e-7).
- CNN: Conv2D(32, 3x3, relu) -> Conv2D(32, 3x3, relu) -> MaxPool 2x2 -> Dropout 0.25
  -> Flatten -> Dense 256 relu -> Dropout 0.25 -> Dense 10 softmax; Adam(lr=0.001, eps=1e-7).
Both: categorical cross-entropy on one-hot labels, accuracy, batch 128.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BATCH_SIZE = 128
NUM_CLASSES = 10
WORKLOADS = ("mlp", "cnn")
# input shape per workload, as Keras/Lamina see it (NHWC for images)
INPUT_SHAPES: dict[str, tuple[int, ...]] = {"mlp": (28, 28), "cnn": (28, 28, 1)}
OPTIMIZERS: dict[str, tuple[str, dict[str, float]]] = {
    "mlp": ("RMSprop", {"learning_rate": 0.001, "rho": 0.9, "epsilon": 1e-7}),
    "cnn": ("Adam", {"learning_rate": 0.001, "epsilon": 1e-7}),
}
# Extra keyword arguments of Lamina's `model.compile(...)`, per workload. The benchmark's
# fits are short (a few epochs), so jit_compile='auto' (the default) stays eager; a long
# run compiles the MLP by itself, so the MLP is measured compiled (jit_compile=True). The
# CNN keeps the default: compiled it measured 0.85x the eager step here, and 'auto' times
# both and keeps the eager step.
LAMINA_COMPILE: dict[str, dict[str, Any]] = {"mlp": {"jit_compile": True}, "cnn": {}}

# The CNN's convolutions as (in channels, out channels, input height/width, kernel), valid padding.
CNN_CONVS: tuple[tuple[int, int, int, int], ...] = ((1, 32, 28, 3), (32, 32, 26, 3))
# The CNN's dense layers as (inputs, outputs).
CNN_DENSES: tuple[tuple[int, int], ...] = ((32 * 12 * 12, 256), (256, NUM_CLASSES))
MLP_DENSES: tuple[tuple[int, int], ...] = ((784, 200), (200, 100), (100, 60), (60, 30), (30, 10))


@dataclass
class Data:
    """MNIST-shaped arrays: uint8 images (N, 28, 28) and int64 labels, plus where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def load_data(seed: int = 0) -> Data:
    """The real MNIST via `lamina.datasets.mnist`, else random data of the same shapes."""
    try:
        from lamina.datasets import mnist

        (xa, ya), (xb, yb) = mnist.load_data()
        return Data(
            xa, ya.astype(np.int64), xb, yb.astype(np.int64), "MNIST (lamina.datasets.mnist)"
        )
    except Exception as err:  # lamina not importable yet, or the dataset package missing
        rng = np.random.default_rng(seed)
        reason = f"{type(err).__name__}: {err}".splitlines()[0][:120]
        return Data(
            rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8),
            rng.integers(0, NUM_CLASSES, 60000).astype(np.int64),
            rng.integers(0, 256, (10000, 28, 28), dtype=np.uint8),
            rng.integers(0, NUM_CLASSES, 10000).astype(np.int64),
            f"random uint8 images of MNIST's shapes (MNIST not loadable: {reason})",
        )


def save_npz(data: Data, path: str | os.PathLike[str]) -> None:
    """Hand the exact arrays to a subprocess worker (uncompressed, no pickle)."""
    np.savez(
        path, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test, y_test=data.y_test
    )


def load_npz(path: str | os.PathLike[str]) -> Data:
    with np.load(Path(path), allow_pickle=False) as f:
        return Data(f["x_train"], f["y_train"], f["x_test"], f["y_test"], f"npz {path}")


def prepare(images: np.ndarray, labels: np.ndarray, workload: str) -> tuple[np.ndarray, np.ndarray]:
    """Keras-side arrays: images scaled to [0, 1] float32 in the workload's shape, one-hot float32 labels."""
    x = images.astype(np.float32).reshape((-1, *INPUT_SHAPES[workload]))
    x /= np.float32(255.0)  # in place: no second full-size temporary
    y = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    return x, y


# ------------------------------------------------------------ Keras and Lamina
def build_keras_style(k: Any, workload: str) -> Any:
    """The workload as a compiled Sequential model of `k` (the `keras` module or `lamina`)."""
    L = k.layers
    if workload == "mlp":
        body = [L.Flatten(input_shape=INPUT_SHAPES["mlp"])]
        body += [L.Dense(n, activation="relu") for n in (200, 100, 60, 30)]
        body += [L.Dense(NUM_CLASSES, activation="softmax")]
    elif workload == "cnn":
        body = [
            L.Conv2D(32, (3, 3), activation="relu", input_shape=INPUT_SHAPES["cnn"]),
            L.Conv2D(32, (3, 3), activation="relu"),
            L.MaxPooling2D((2, 2)),
            L.Dropout(0.25),
            L.Flatten(),
            L.Dense(256, activation="relu"),
            L.Dropout(0.25),
            L.Dense(NUM_CLASSES, activation="softmax"),
        ]
    else:
        raise ValueError(f"Expected a workload in {WORKLOADS}, received: workload={workload!r}")
    model = k.Sequential(body)
    opt_name, opt_kwargs = OPTIMIZERS[workload]
    optimizer = getattr(k.optimizers, opt_name)(**opt_kwargs)
    return model, optimizer


# ------------------------------------------------------------------- PyTorch
def build_torch(workload: str) -> Any:
    """The workload as a PyTorch user writes it: nn.Sequential, logits out (softmax is in the loss)."""
    from torch import nn

    if workload == "mlp":
        sizes = (784, 200, 100, 60, 30)
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(30, NUM_CLASSES))
    if workload == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
            nn.Flatten(),
            nn.Linear(32 * 12 * 12, 256),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(256, NUM_CLASSES),
        )
    raise ValueError(f"Expected a workload in {WORKLOADS}, received: workload={workload!r}")


def torch_optimizer(workload: str, params: Any, foreach: bool | None = None) -> Any:
    """torch.optim with the same hyperparameters (RMSprop's rho is torch's alpha)."""
    import torch

    name, kw = OPTIMIZERS[workload]
    if name == "RMSprop":
        return torch.optim.RMSprop(
            params, lr=kw["learning_rate"], alpha=kw["rho"], eps=kw["epsilon"], foreach=foreach
        )
    return torch.optim.Adam(params, lr=kw["learning_rate"], eps=kw["epsilon"], foreach=foreach)


# --------------------------------------------------------------------- FLOPs
def conv_forward_flops(c_in: int, c_out: int, size: int, k: int) -> int:
    """FLOPs of one sample through a valid k x k convolution: 2 * multiply-adds."""
    out = size - k + 1
    return 2 * out * out * c_out * c_in * k * k


def train_flops_per_sample(workload: str) -> dict[str, int]:
    """Forward and training FLOPs per sample of the convolutions and dense layers.

    Forward = 2 * MACs per layer. Backward = 2 x forward (weight gradient + input
    gradient), except that the first layer needs no input gradient. Bias adds,
    activations, pooling, dropout, the loss and the optimizer are not counted.
    """
    if workload == "cnn":
        layers = [conv_forward_flops(*c) for c in CNN_CONVS]
        layers += [2 * a * b for a, b in CNN_DENSES]
    elif workload == "mlp":
        layers = [2 * a * b for a, b in MLP_DENSES]
    else:
        raise ValueError(f"Expected a workload in {WORKLOADS}, received: workload={workload!r}")
    forward = sum(layers)
    return {"forward": forward, "train": 3 * forward - layers[0]}
