"""Freezing and fine-tuning (issue 18): `trainable = False` on a layer or a nested model.

A frozen layer gets no gradient and no update (not even momentum or weight decay from an
optimizer built before the freeze), leaves `trainable_weights`, and its BatchNormalization
runs in inference mode even under `training=True` (Keras's rule). `summary()` counts match
Keras 3's. Which layers train is fixed at `compile()`: `fit` after a change of `trainable`
without a new `compile()` raises (lamina/models/trainable_state.py). A frozen-backbone
model trained by `fit` ends with the weights plain torch gives (same data, same SGD/Adam).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def _seeded():
    """Fixed initial weights: a random draw could leave every ReLU of the tiny backbone dead."""
    lamina.utils.set_random_seed(0)
    keras.utils.set_random_seed(0)


def _backbone(lib, name="backbone"):
    """Conv -> BatchNorm -> pooling -> Dense: a small image feature extractor."""
    L = lib.layers
    inputs = L.Input((6, 6, 2))
    h = L.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    h = L.BatchNormalization(name="bn")(h)
    h = L.GlobalAveragePooling2D(name="gap")(h)
    h = L.Dense(5, activation="relu", name="proj")(h)
    return lib.Model(inputs, h, name=name)


def _classifier(lib, frozen=True):
    """A nested backbone and a new head, the transfer-learning shape."""
    L = lib.layers
    backbone = _backbone(lib)
    backbone.trainable = not frozen
    inputs = L.Input((6, 6, 2))
    h = backbone(inputs)
    h = L.Dropout(0.0, name="drop")(h)
    outputs = L.Dense(3, name="head")(h)
    return lib.Model(inputs, outputs, name="classifier")


def _random_weights(k_model, seed=0):
    """Random weights for a Keras model, with non-trivial BatchNorm statistics."""
    rng = np.random.default_rng(seed)
    out = []
    for w in k_model.weights:
        a = rng.normal(scale=0.5, size=tuple(w.shape)).astype("float32")
        out.append(np.abs(a) + 0.5 if "moving_variance" in w.path else a)
    return out


def _same_weights(k_model, m_model, seed=0):
    weights = _random_weights(k_model, seed)
    k_model.set_weights(weights)
    m_model.set_weights(weights)


def _data(n=32, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 6, 2)).astype("float32")
    return x, rng.integers(0, 3, size=n)


def _weights_of(layer):
    return [w.copy() for w in layer.get_weights()]


def _assert_unchanged(layer, before):
    for got, want in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def _changed(layer, before):
    return any(not np.allclose(got, want) for got, want in zip(layer.get_weights(), before))


# ------------------------------------------------------------------- counts and summary
def _summary_lines(model, **kw):
    lines: list[str] = []
    model.summary(print_fn=lambda s, **_: lines.extend(s.splitlines()), **kw)
    return lines


def _totals(lines):
    return [ln.strip() for ln in lines if "params:" in ln]


def _trainable_column(lines):
    """(layer name, Trainable cell) per row, nested rows included."""
    rows = []
    for line in lines:
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            if "(" in cells[0]:
                rows.append((cells[0].replace("└", "").split()[0], cells[-1]))
    return rows


@pytest.mark.parametrize("case", ["nested_frozen", "inner_layer_frozen", "head_frozen"])
def test_counts_and_summary_match_keras(case, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # Keras's table (rich) wraps at the console width
    models = {}
    for lib in (keras, lamina):
        model = _classifier(lib, frozen=case == "nested_frozen")
        if case == "inner_layer_frozen":
            model.get_layer("backbone").get_layer("bn").trainable = False
        if case == "head_frozen":
            model.get_layer("head").trainable = False
        models[lib] = model
    k, m = models[keras], models[lamina]
    assert len(m.trainable_weights) == len(k.trainable_weights)
    assert len(m.non_trainable_weights) == len(k.non_trainable_weights)
    # (Lamina's tensors are in torch's layout: compare the sizes)
    assert [int(np.prod(w.shape)) for w in m.trainable_weights] == [
        int(np.prod(w.shape)) for w in k.trainable_weights
    ]
    assert _totals(_summary_lines(m)) == _totals(_summary_lines(k))
    expanded = {"show_trainable": True, "expand_nested": True, "line_length": 140}
    m_rows = _trainable_column(_summary_lines(m, **expanded))
    k_rows = _trainable_column(_summary_lines(k, **expanded))
    # Keras names the auto-made InputLayers by a global counter: compare the other rows
    assert [r for r in m_rows if not r[0].startswith("input")] == [
        r for r in k_rows if not r[0].startswith("input")
    ]
    assert len(m_rows) == len(k_rows) == 9


def test_summary_layer_range_and_positions():
    model = _classifier(lamina)
    lines = _summary_lines(model, layer_range=("backbone", "drop"))
    names = [r[0] for r in _trainable_column(lines)]
    assert names == ["backbone", "drop"]
    narrow = _summary_lines(model, line_length=60, positions=[0.4, 0.6, 0.8, 1.0])
    assert all(len(ln) <= 61 for ln in narrow if ln.startswith(("│", "┃")))
    with pytest.raises(ValueError, match="layer_range"):
        model.summary(layer_range=("nope", "head"))


# ------------------------------------------------------------------- no gradient, no update
def test_frozen_nested_backbone_gets_no_gradient_and_no_update():
    model = _classifier(lamina)
    backbone, head = model.get_layer("backbone"), model.get_layer("head")
    assert backbone.trainable_weights == [] and len(model.trainable_weights) == 2
    assert not any(p.requires_grad for p in backbone.parameters())
    before, head_before = _weights_of(backbone), _weights_of(head)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    _assert_unchanged(backbone, before)  # kernels and the BatchNorm statistics alike
    assert all(p.grad is None for p in backbone.parameters())
    assert _changed(head, head_before)


# ------------------------------------------------------------------- compile() after a change
def _compiled(frozen=False, optimizer="sgd", **kw):
    model = _classifier(lamina, frozen=frozen)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", **kw)
    return model


def test_fit_after_freezing_without_compile_says_so():
    model = _compiled()
    x, y = _data()
    model.fit(x, y, batch_size=8, verbose=0)
    model.get_layer("backbone").trainable = False
    expected = (
        r"expected model\.compile\(\) after changing `trainable`.*received: layers whose "
        r"trainable changed since compile: \[backbone \(trainable=False\)\]"
    )
    with pytest.raises(RuntimeError, match=expected):
        model.fit(x, y, verbose=0)
    with pytest.raises(RuntimeError, match=r"before train_on_batch\(\)"):
        model.train_on_batch(x[:8], y[:8])
    model.evaluate(x, y, verbose=0)  # evaluating and predicting need no compile()
    model.predict(x, verbose=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, verbose=0)


def test_unfreezing_without_compile_says_so_and_names_the_top_layer():
    model = _compiled(frozen=True)
    x, y = _data()
    model.fit(x, y, batch_size=8, verbose=0)
    backbone = model.get_layer("backbone")
    backbone.trainable = True
    backbone.get_layer("bn").trainable = False  # fine-tuning keeps BatchNorm frozen
    with pytest.raises(
        RuntimeError, match=r"changed since compile: \[backbone \(trainable=True\)\]"
    ):
        model.fit(x, y, verbose=0)
    backbone.trainable = False
    backbone.get_layer("conv").trainable = True  # the nested model's flag is as compiled
    with pytest.raises(RuntimeError, match=r"changed since compile: \[conv \(trainable=True\)\]"):
        model.fit(x, y, verbose=0)


def test_changes_that_train_nothing_new_need_no_compile():
    model = _compiled()
    x, y = _data()
    model.get_layer("drop").trainable = False  # no weights
    backbone = model.get_layer("backbone")
    backbone.trainable = False
    backbone.trainable = True  # back as compiled
    model.fit(x, y, batch_size=8, verbose=0)


def _model_for(optimizer):
    model = _classifier(lamina, frozen=False)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: lamina.optimizers.SGD(0.05, momentum=0.9, weight_decay=0.1),
        lambda: lamina.optimizers.AdamW(0.01, weight_decay=0.1),
        lambda: lamina.optimizers.RMSprop(0.01, momentum=0.5),
    ],
    ids=["sgd_momentum_decay", "adamw", "rmsprop_momentum"],
)
def test_an_optimizer_built_before_the_freeze_leaves_frozen_weights_alone(make_optimizer):
    """The same optimizer object compiled again: its momentum and weight decay stop for the
    frozen weights; unfreezing and compiling again trains them again (SGD's buffers)."""
    optimizer = make_optimizer()
    model = _model_for(optimizer)
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)  # momentum built up for every weight
    backbone = model.get_layer("backbone")
    backbone.trainable = False
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    before = _weights_of(backbone)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    _assert_unchanged(backbone, before)
    backbone.trainable = True
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, verbose=0)
    assert not np.allclose(backbone.get_layer("conv").get_weights()[0], before[0])


def test_compiled_step_is_rebuilt_after_compile():
    """jit_compile=True: the compiled step of the unfrozen model is not reused; the new one
    differentiates only the head (the weights it holds are the trainable ones)."""
    model = _compiled(optimizer="adam", jit_compile=True)
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    first = model._step_fn.compiled
    assert first is not None and len(first.params) == 8
    backbone = model.get_layer("backbone")
    backbone.trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=True)
    before, head = _weights_of(backbone), model.get_layer("head")
    head_before = _weights_of(head)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    second = model._step_fn.compiled
    assert second is not None and second is not first and len(second.params) == 2
    _assert_unchanged(backbone, before)
    assert _changed(head, head_before)


# ------------------------------------------------------------------- frozen BatchNormalization
def _bn_stats(model):
    bn = model.get_layer("backbone").get_layer("bn")
    return bn.moving_mean.detach().clone(), bn.moving_variance.detach().clone()


@pytest.mark.parametrize("frozen", [True, False])
def test_fine_tuning_keeps_a_frozen_backbones_batchnorm_statistics(frozen):
    model = _classifier(lamina, frozen=frozen)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    mean, var = _bn_stats(model)
    x, y = _data()
    model.fit(x * 3 + 1, y, batch_size=8, epochs=2, verbose=0)
    new_mean, new_var = _bn_stats(model)
    if frozen:
        torch.testing.assert_close(new_mean, mean, rtol=0, atol=0)
        torch.testing.assert_close(new_var, var, rtol=0, atol=0)
    else:
        assert not torch.equal(new_mean, mean) and not torch.equal(new_var, var)


@pytest.mark.parametrize("where", ["nested_model", "layer"])
def test_frozen_batchnorm_forward_matches_keras_with_training_true(where):
    """Same weights, `training=True`: a frozen BatchNormalization normalizes with its moving
    statistics in Keras 3 and in Lamina; unfrozen, both use the batch's."""
    k, m = _classifier(keras, frozen=False), _classifier(lamina, frozen=False)
    _same_weights(k, m)
    x, _ = _data(8)
    k_train = keras.ops.convert_to_numpy(k(x, training=True))
    m_train = m(x, training=True).detach().numpy()
    np.testing.assert_allclose(m_train, k_train, rtol=1e-5, atol=1e-5)
    for model in (k, m):
        backbone = model.get_layer("backbone")
        target = backbone if where == "nested_model" else backbone.get_layer("bn")
        target.trainable = False
    k_frozen = keras.ops.convert_to_numpy(k(x, training=True))
    m_frozen = m(x, training=True).detach().numpy()
    np.testing.assert_allclose(m_frozen, k_frozen, rtol=1e-5, atol=1e-5)
    k_infer = keras.ops.convert_to_numpy(k(x, training=False))
    np.testing.assert_allclose(m_frozen, k_infer, rtol=1e-5, atol=1e-5)
    assert not np.allclose(k_frozen, k_train, atol=1e-3)  # the check can fail


# ------------------------------------------------------------------- parity with plain torch
class TorchTwin(torch.nn.Module):
    """The classifier in plain torch (NCHW), loaded from Lamina's weights."""

    def __init__(self, weights: list[np.ndarray]) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4, eps=1e-3)
        self.proj = torch.nn.Linear(4, 5)
        self.head = torch.nn.Linear(5, 3)
        kernel, bias, gamma, beta, mean, var, pw, pb, hw, hb = (torch.tensor(w) for w in weights)
        with torch.no_grad():
            self.conv.weight.copy_(kernel.permute(3, 2, 0, 1))
            self.conv.bias.copy_(bias)
            self.bn.weight.copy_(gamma)
            self.bn.bias.copy_(beta)
            self.bn.running_mean.copy_(mean)
            self.bn.running_var.copy_(var)
            self.proj.weight.copy_(pw.T)
            self.proj.bias.copy_(pb)
            self.head.weight.copy_(hw.T)
            self.head.bias.copy_(hb)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn(torch.relu(self.conv(x.permute(0, 3, 1, 2)))).mean((2, 3))
        return self.head(torch.relu(self.proj(h)))

    def keras_head_weights(self) -> list[np.ndarray]:
        return [self.head.weight.detach().T.numpy(), self.head.bias.detach().numpy()]


@pytest.mark.parametrize(
    "optimizer,jit_compile",
    [("sgd", False), ("adam", False)],
    ids=["sgd", "adam"],
)
def test_frozen_backbone_fit_matches_plain_torch(optimizer, jit_compile):
    """Lightning-style: the frozen part in eval mode with requires_grad off, only the head
    in the torch optimizer; 8 steps over fixed batches give the same weights."""
    model = _classifier(lamina, frozen=True)
    weights = _random_weights(_classifier(keras))
    model.set_weights(weights)
    twin = TorchTwin(weights)
    backbone_before = _weights_of(model.get_layer("backbone"))
    if optimizer == "sgd":
        opt = lamina.optimizers.SGD(0.1, momentum=0.9)
        torch_opt = torch.optim.SGD(twin.head.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = lamina.optimizers.Adam(0.01)
        torch_opt = torch.optim.Adam(twin.head.parameters(), lr=0.01, eps=1e-7)
    for module in (twin.conv, twin.bn, twin.proj):
        module.eval().requires_grad_(False)
    loss = lamina.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=opt, loss=loss, jit_compile=jit_compile)
    x, y = _data(32)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(2):
        for i in range(0, 32, 8):
            torch_opt.zero_grad()
            torch.nn.functional.cross_entropy(twin(xt[i : i + 8]), yt[i : i + 8]).backward()
            torch_opt.step()
    _assert_unchanged(model.get_layer("backbone"), backbone_before)
    for got, want in zip(model.get_layer("head").get_weights(), twin.keras_head_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(twin.keras_head_weights()[0], weights[-2], atol=1e-3)
