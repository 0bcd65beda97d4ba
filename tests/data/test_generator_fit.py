"""fit on a Python generator with steps_per_epoch reads the generator across epochs, as Keras
does: every epoch trains its steps, and the batches come in the generator's order."""

from __future__ import annotations

import numpy as np

import lamina as keras


def _model(seed: int = 0) -> keras.Sequential:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_generator_with_steps_per_epoch_trains_every_epoch_like_the_same_batches_as_arrays():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = rng.normal(size=(48, 3)).astype("float32")

    def batches():
        while True:
            for i in range(0, 48, 8):
                yield x[i : i + 8], y[i : i + 8]

    by_generator = _model()
    history = by_generator.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    by_arrays = _model()
    for a, b in zip(by_generator.get_weights(), _model().get_weights()):
        assert not np.allclose(a, b), "the generator fit did not train"
    by_arrays.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)  # the same 6 batches
    for a, b in zip(by_generator.get_weights(), by_arrays.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert len(history.history["loss"]) == 2 and history.history["loss"][1] > 0
