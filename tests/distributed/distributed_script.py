"""Helpers of tests/test_distributed.py, and a script for a torchrun-style launch.

    RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 python distributed_script.py OUT
(one command per rank) trains `make_model()` on `make_data()` and writes OUT/rank<r>.json
with the rank's logs, weights and local metric states.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import lamina
from lamina import callbacks, layers

BATCH = 32
EPOCHS = 2


def make_data(n: int = 203, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n is not a multiple of BATCH: the last global batch is split unevenly across 2 ranks."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x, y


def make_model(seed: int = 0) -> lamina.Sequential:
    """A small MLP with plain SGD, no dropout: a DDP step must equal a single-process step."""
    lamina.utils.set_random_seed(seed)
    model = lamina.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(8,)),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.SGD(learning_rate=0.1),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


def _states(model: lamina.Model) -> dict[str, list]:
    return {
        m.name: [t.detach().cpu().double().reshape(-1).tolist() for t in m.state_tensors()]
        for m in model.metrics
    }


@lamina.saving.register_serializable(package="lamina_tests")
class RecordLogs(callbacks.Callback):
    """Writes folder/rank<r>.json: per epoch, the logs every rank received and this rank's
    own (unreduced) metric states, after the last training batch and after validation."""

    def __init__(self, folder: str) -> None:
        super().__init__()
        self.folder = folder
        self.epochs: list[dict] = []
        self._last: dict = {}

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._last = {"train_logs": dict(logs or {}), "train_states": _states(self.model)}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs.append(
            {**self._last, "logs": dict(logs or {}), "val_states": _states(self.model)}
        )

    def on_train_end(self, logs: dict | None = None) -> None:
        rank = lamina.distributed.rank()
        out = {
            "rank": rank,
            "world_size": lamina.distributed.world_size(),
            "epochs": self.epochs,
            "weights": [w.tolist() for w in self.model.get_weights()],
        }
        with open(os.path.join(self.folder, f"rank{rank}.json"), "w") as f:
            json.dump(out, f)


@lamina.saving.register_serializable(package="lamina_tests")
class DieOnRank(callbacks.Callback):
    """Kills rank `rank` abruptly (no Python error) after batch `batch` of the first epoch."""

    def __init__(self, rank: int = 1, batch: int = 2) -> None:
        super().__init__()
        self.rank, self.batch = rank, batch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if lamina.distributed.rank() == self.rank and batch == self.batch:
            os._exit(3)


@lamina.saving.register_serializable(package="lamina_tests")
class RaiseOnRank(callbacks.Callback):
    """Raises a ValueError on rank `rank` when the first epoch begins."""

    def __init__(self, rank: int = 1) -> None:
        super().__init__()
        self.rank = rank

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if lamina.distributed.rank() == self.rank:
            raise ValueError(f"Expected to fail on rank {self.rank}, received: a test")


def main(folder: str) -> None:
    x, y = make_data()
    xv, yv = make_data(61, seed=1)
    model = make_model()
    if lamina.distributed.rank() == 1:
        lamina.utils.set_random_seed(123)  # other initial weights: DDP must broadcast rank 0's
        model.set_weights([np.random.normal(size=w.shape) for w in model.get_weights()])
    model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
        validation_data=(xv, yv),
        callbacks=[RecordLogs(folder)],
    )


if __name__ == "__main__":
    main(sys.argv[1])
