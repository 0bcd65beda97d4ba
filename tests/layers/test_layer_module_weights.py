"""A layer's weights are every parameter and buffer of its module tree (issue 12).

Plain `torch.nn` modules held by a Lamina layer, and raw `nn.Parameter`s / buffers set on
it without `add_weight`, count in `weights`, `trainable_weights`, `count_params`,
`get_weights`/`set_weights` and `summary()`, and `trainable = False` freezes them in `fit`.
"""

import re

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


class TorchBody(layers.Layer):
    """A custom layer around a torch block, with one Lamina weight and raw tensors."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.body = torch.nn.Sequential(
            torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 2)
        )
        self.shift = torch.nn.Parameter(torch.zeros(2))
        self.register_buffer("offset", torch.full((2,), 0.5))
        self.register_buffer("cache", torch.ones(2), persistent=False)  # not state

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (2,), initializer="ones")

    def call(self, x):
        return self.body(x) * self.scale + self.shift + self.offset


def _model(**layer_kwargs):
    torch.manual_seed(0)
    return lamina.Sequential([lamina.Input((3,)), TorchBody(**layer_kwargs), layers.Dense(1)])


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _state_numel(module):
    return sum(t.numel() for t in module.state_dict().values())


def test_weights_are_the_whole_module_tree():
    model = _model()
    body = model.layers[0]
    state = body.state_dict(keep_vars=True)
    assert {id(w) for w in body.weights} == {id(t) for t in state.values()}
    assert len(body.weights) == len(state)
    # Lamina's own weight keeps the first place; the non-persistent buffer is not a weight.
    assert body.weights[0] is body.scale
    assert all(w is not body.cache for w in body.weights)
    params = sum(p.numel() for p in model.parameters())
    buffers = _state_numel(model) - params
    # Linear 15+5, BatchNorm 5+5 (+5+5+1 statistics), Linear 10+2, scale, shift, offset, Dense 3
    assert params == 20 + 10 + 12 + 2 + 2 + 3
    assert buffers == 11 + 2
    assert model.count_params() == params + buffers
    assert sum(w.numel() for w in model.trainable_weights) == params
    assert sum(w.numel() for w in model.non_trainable_weights) == buffers
    assert {id(w) for w in model.trainable_weights} == {id(p) for p in model.parameters()}


def test_summary_prints_every_parameter_and_buffer():
    model = _model()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    params = sum(p.numel() for p in model.parameters())
    buffers = _state_numel(model) - params

    def count(label):
        return int(re.search(rf"{label} params: ([\d,]+)", text).group(1).replace(",", ""))

    assert count("Total") == params + buffers
    assert count("Trainable") == params
    assert count("Non-trainable") == buffers
    row = next(line for line in lines if "torch_body" in line)
    assert f"{model.layers[0].count_params():,}" in row


def test_freezing_the_layer_stops_all_its_training():
    model = _model()
    body = model.layers[0]
    body.trainable = False
    assert not any(p.requires_grad for p in body.parameters())
    assert body.trainable_weights == []
    assert len(body.non_trainable_weights) == len(body.weights)
    assert {id(w) for w in model.trainable_weights} == {id(p) for p in model.layers[1].parameters()}
    before = {k: v.clone() for k, v in body.state_dict().items()}
    dense_before = model.layers[1].get_weights()[0].copy()
    x, y = _data()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    for k, v in body.state_dict().items():  # parameters and BatchNorm statistics alike
        torch.testing.assert_close(v, before[k], rtol=0, atol=0, msg=k)
    assert not np.allclose(model.layers[1].get_weights()[0], dense_before)


def test_unfreezing_restores_what_freezing_froze_only():
    model = _model()
    body = model.layers[0]
    body.body[0].bias.requires_grad_(False)  # frozen by the user, in torch
    assert all(w is not body.body[0].bias for w in body.trainable_weights)
    assert any(w is body.body[0].bias for w in body.non_trainable_weights)
    body.trainable = False
    body.trainable = True
    assert body.body[0].weight.requires_grad and body.shift.requires_grad
    assert not body.body[0].bias.requires_grad


def test_layer_built_frozen_does_not_train():
    model = _model(trainable=False)
    body = model.layers[0]
    assert not any(p.requires_grad for p in body.parameters())
    before = {k: v.clone() for k, v in body.state_dict().items()}
    x, y = _data()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for k, v in body.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0, msg=k)


def test_torch_modules_follow_the_layer_mode():
    model = _model()  # built from Input: a batch of one through BatchNorm1d, in inference
    body = model.layers[0]
    norm = body.body[2]
    assert not norm.training
    stats = norm.running_mean.clone()
    model(np.ones((4, 3), "float32"))  # a bare call runs in inference, as in Keras
    torch.testing.assert_close(norm.running_mean, stats, rtol=0, atol=0)
    model.train()
    assert norm.training
    body.trainable = False
    model.train()  # a frozen layer's torch norms keep their statistics
    assert not norm.training and body.body[0].training
    model.eval()
    body.trainable = True
    model.train()
    assert norm.training


def test_get_set_weights_round_trip_in_torch_layout():
    model = _model()
    body = model.layers[0]
    arrays = model.get_weights()
    assert len(arrays) == len(model.state_dict())
    # Foreign tensors keep torch's layout: Linear(3, 5).weight is (out, in).
    shapes = [a.shape for a in body.get_weights()]
    assert shapes[:5] == [(2,), (2,), (2,), (5, 3), (5,)]
    rng = np.random.default_rng(1)
    fresh = [rng.uniform(0.5, 1.5, size=a.shape).astype(a.dtype) for a in arrays]
    model.set_weights(fresh)
    for got, want in zip(model.get_weights(), fresh):
        np.testing.assert_array_equal(got, want)
    # The loaded values are the ones the forward pass uses: compare with plain torch.
    x = torch.from_numpy(_data(8)[0])
    ref = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 2)
    ).eval()
    ref.load_state_dict(body.body.state_dict())
    scale, shift, offset = (torch.from_numpy(a) for a in fresh[:3])
    dense_w, dense_b = (torch.from_numpy(a) for a in fresh[-2:])
    want = (ref(x) * scale + shift + offset) @ dense_w + dense_b
    torch.testing.assert_close(model.predict(x.numpy(), verbose=0), want.detach().numpy())


def test_set_weights_names_the_mismatch():
    model = _model()
    arrays = model.get_weights()
    arrays[3] = np.zeros((3, 5), "float32")
    with pytest.raises(ValueError, match=r"body\.0\.weight.*\(5, 3\)"):
        model.set_weights(arrays)


class TorchNet(lamina.Model):
    """A subclassed model holding torch modules directly."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)
        self.norm = torch.nn.BatchNorm1d(3)
        self.out = layers.Dense(1)

    def call(self, x):
        return self.out(self.norm(self.fc(x)))


def test_subclassed_model_counts_and_freezes_torch_modules():
    model = TorchNet()
    model(torch.zeros(2, 4))
    assert not model.norm.training  # the first call runs in inference
    torch.testing.assert_close(model.norm.running_mean, torch.zeros(3), rtol=0, atol=0)
    assert model.count_params() == _state_numel(model)
    model.trainable = False
    assert not any(p.requires_grad for p in model.parameters())
    assert model.trainable_weights == []
    model.trainable = True
    assert all(p.requires_grad for p in model.parameters())


def test_subclassed_model_built_from_a_shape_runs_torch_norms_in_inference():
    model = TorchNet()
    model.build((None, 4))  # one sample through BatchNorm1d: only legal in inference
    assert not model.norm.training
    torch.testing.assert_close(model.norm.running_var, torch.ones(3), rtol=0, atol=0)
    assert model.count_params() == _state_numel(model)
