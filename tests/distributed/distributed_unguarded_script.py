"""README's `fit(distribute=2)` pasted into a script WITHOUT `if __name__ == "__main__":`.

Spawned workers import the main module, so each worker reaches `fit` while importing it
and fails there. tests/test_distributed.py runs this script and checks that the parent's
error carries the workers' reason (the missing guard), not a bare exit code.
"""

import numpy as np

import lamina
from lamina import layers

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 8)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
model = lamina.Sequential(
    [layers.Dense(4, activation="relu", input_shape=(8,)), layers.Dense(2, activation="softmax")]
)
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=False)
model.fit(x, y, batch_size=16, epochs=1, verbose=0, distribute=2)
