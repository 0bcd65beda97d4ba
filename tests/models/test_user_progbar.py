"""A ProgbarLogger passed to fit/evaluate draws the only progress bar (as in Keras)."""

from __future__ import annotations

import numpy as np

import lamina


def _model():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse", jit_compile=False)
    return model


def test_one_bar_with_a_user_progbar_logger(capsys):
    x, y = np.ones((16, 3), "float32"), np.ones((16, 1), "float32")
    _model().fit(x, y, epochs=2, batch_size=8, verbose=1)
    own = capsys.readouterr().out
    _model().fit(
        x, y, epochs=2, batch_size=8, verbose=1, callbacks=[lamina.callbacks.ProgbarLogger()]
    )
    user = capsys.readouterr().out
    assert own.count("Epoch 1/2") == 1 and own.count("Epoch 2/2") == 1
    assert user.count("Epoch 1/2") == 1 and user.count("Epoch 2/2") == 1
    model = _model()
    model.evaluate(x, y, verbose=1, callbacks=[lamina.callbacks.ProgbarLogger()])
    assert capsys.readouterr().out.count("/step") == 1  # one bar, one final line
