# Keras's guide "Training & evaluation with the built-in methods", the endpoint-layer pattern
# (keras.io/guides/training_with_built_in_methods): a layer called on two tensors that adds the
# loss itself. tests/test_keras_examples.py runs it with only the import changed.
import keras
import numpy as np
from keras import ops


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)
        return ops.softmax(logits)


inputs = keras.Input(shape=(3,), name="inputs")
targets = keras.Input(shape=(10,), name="targets")
logits = keras.layers.Dense(10)(inputs)
predictions = LogisticEndpoint(name="predictions")(targets, logits)

model = keras.Model(inputs=[inputs, targets], outputs=predictions)
model.compile(optimizer="adam")  # No loss argument!

data = {
    "inputs": np.random.random((3, 3)),
    "targets": np.random.random((3, 10)),
}
epochs = 1
history = model.fit(data, epochs=epochs)
RESULT = {
    "keys": sorted(history.history),
    "loss": float(history.history["loss"][0]),
    "output_shape": tuple(predictions.shape),
}
