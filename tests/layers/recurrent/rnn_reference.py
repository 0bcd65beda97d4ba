"""NumPy step loops for SimpleRNN, LSTM and GRU with Keras's weights and mask semantics.

Written from Keras 3's equations (weights in Keras's layouts, gates i,f,c,o and z,r,h),
independently of Lamina's code: the tests' reference.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def simple_rnn_step(x, states, weights, activation=np.tanh):
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else 0.0
    h = activation(x @ kernel + bias + states[0] @ recurrent)
    return h, [h]


def lstm_step(x, states, weights):
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else 0.0
    h, c = states
    z = x @ kernel + h @ recurrent + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, [h, c]


def gru_step(x, states, weights, reset_after=True):
    kernel, recurrent = weights[0], weights[1]
    units = recurrent.shape[0]
    h = states[0]
    if len(weights) > 2:
        bias = weights[2]
        b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * units))
    else:
        b_in, b_rec = np.zeros(3 * units), np.zeros(3 * units)
    x_z, x_r, x_h = np.split(x @ kernel + b_in, 3, axis=-1)
    r_z, r_r, r_h = np.split(h @ recurrent + b_rec, 3, axis=-1)
    z = sigmoid(x_z + r_z)
    r = sigmoid(x_r + r_r)
    if reset_after:
        candidate = np.tanh(x_h + r * r_h)
    else:
        candidate = np.tanh(x_h + (r * h) @ recurrent[:, 2 * units :])
    h = z * h + (1 - z) * candidate
    return h, [h]


def run(step, x, states, mask=None, go_backwards=False, return_sequences=False, zero_output=False):
    """Keras's loop: masked steps keep the state and repeat the previous output."""
    x = np.asarray(x, dtype=np.float64)
    if go_backwards:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    states = [np.asarray(s, dtype=np.float64) for s in states]
    previous = np.zeros_like(states[0])
    outputs = []
    for t in range(x.shape[1]):
        out, new = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t][:, None]
            out = np.where(keep, out, 0.0 if zero_output else previous)
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        previous, states = out, new
        outputs.append(out)
    output = np.stack(outputs, axis=1) if return_sequences else outputs[-1]
    return output, states


def zeros(batch, units, count):
    return [np.zeros((batch, units)) for _ in range(count)]
