"""Lightning-style parity: the same model trained by `fit` and by a hand-written
PyTorch loop, from the same weights and batches, gives the same losses and weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lamina
from lamina import layers


class BatchLosses(lamina.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.running: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.running.append(logs["loss"])


def _data(n: int = 96, d: int = 12, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d)).astype("float32")
    y = rng.integers(0, k, size=n)
    return x, y


@pytest.mark.parametrize(
    "opt_name, make_torch_opt",
    [
        ("sgd", lambda p: torch.optim.SGD(p, lr=0.01)),
        ("adam", lambda p: torch.optim.Adam(p, lr=0.001, eps=1e-7)),
        ("rmsprop", lambda p: torch.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7)),
    ],
)
def test_fit_matches_hand_written_loop(opt_name, make_torch_opt):
    x, y = _data()
    y1h = np.eye(4, dtype="float32")[y]
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [
            layers.Dense(16, activation="tanh", input_shape=(12,)),
            layers.Dense(8, activation="relu"),
            layers.Dense(4, activation="softmax"),
        ]
    )
    weights = model.get_weights()

    ref = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
    with torch.no_grad():
        for lin, (k, b) in zip([ref[0], ref[2], ref[4]], zip(weights[0::2], weights[1::2])):
            lin.weight.copy_(torch.from_numpy(k.T))
            lin.bias.copy_(torch.from_numpy(b))
    opt = make_torch_opt(ref.parameters())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y1h)
    ref_running, total, seen = [], 0.0, 0
    for _ in range(2):
        total, seen = 0.0, 0
        for i in range(0, len(x), 32):
            xb, yb = xt[i : i + 32], yt[i : i + 32]
            loss = F.cross_entropy(ref(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
            seen += len(xb)
            ref_running.append(total / seen)

    model.compile(optimizer=opt_name, loss="categorical_crossentropy", device="cpu")
    cb = BatchLosses()
    history = model.fit(x, y1h, batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    np.testing.assert_allclose(cb.running, ref_running, rtol=0, atol=1e-5)
    assert history.history["loss"][-1] == pytest.approx(ref_running[-1], abs=1e-5)
    got = model.get_weights()
    np.testing.assert_allclose(got[0], ref[0].weight.detach().numpy().T, atol=1e-5)
    np.testing.assert_allclose(got[-1], ref[4].bias.detach().numpy(), atol=1e-5)
