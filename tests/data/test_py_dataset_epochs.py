"""fit runs a PyDataset's own epochs: on_epoch_begin/on_epoch_end once each, workers prefetching."""

from __future__ import annotations

import numpy as np

import lamina
from lamina.utils import PyDataset


class Counting(PyDataset):
    def __init__(self, x, y, batch, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch = x, y, batch
        self.begins = self.ends = 0

    def __len__(self):
        return len(self.x) // self.batch

    def __getitem__(self, i):
        s = slice(i * self.batch, (i + 1) * self.batch)
        return self.x[s], self.y[s]

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


def _fit(workers: int) -> tuple[Counting, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    data = Counting(x, y, 8, workers=workers, max_queue_size=3)
    lamina.utils.set_random_seed(1)
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse", jit_compile=False)
    history = model.fit(data, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    return data, model.get_weights()


def test_each_epoch_begins_and_ends_once_and_workers_change_nothing() -> None:
    one, w1 = _fit(1)
    three, w3 = _fit(3)
    assert (one.begins, one.ends) == (3, 3)
    assert (three.begins, three.ends) == (3, 3)
    for a, b in zip(w1, w3):
        np.testing.assert_array_equal(a, b)
