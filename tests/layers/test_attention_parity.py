"""Keras 3 (torch backend) as the oracle for Lamina's attention layers.

Each case builds the Keras layer and the Lamina layer with the same arguments, gives
Keras's layer random weights and copies them into Lamina, then compares outputs (and
attention scores) for the same seeded query/value/key, masks and call arguments, the
weights' paths and shapes, parameter counts, output shapes and configs. Every layer
also runs through the shared layer harness (MultiHeadAttention and GroupQueryAttention,
which take `(query, value)` as two arguments, through a list-taking subclass).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from tests.layer_harness import run_layer_test  # noqa: E402

# (constructor kwargs, query shape, value shape, key shape or None, call kwargs); in the
# call kwargs "mask:(shape)" makes a random boolean attention mask of that shape, and
# "fully_masked" also blanks one query row (Keras's two paths treat it differently).
QKV_PARITY: dict[str, list[tuple]] = {
    "layers.MultiHeadAttention": [
        ({"num_heads": 2, "key_dim": 3}, (2, 4, 5), (2, 6, 5), None, {}),
        (
            {"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_shape": 7},
            (2, 4, 5),
            (2, 6, 3),
            (2, 6, 8),
            {},
        ),
        ({"num_heads": 3, "key_dim": 2}, (2, 4, 5), (2, 6, 5), None, {"scores": True}),
        ({"num_heads": 2, "key_dim": 3}, (2, 4, 5), (2, 4, 5), None, {"use_causal_mask": True}),
        (
            {"num_heads": 2, "key_dim": 3},
            (2, 4, 5),
            (2, 5, 5),
            None,
            {"use_causal_mask": True, "scores": True},
        ),
        ({"num_heads": 2, "key_dim": 3}, (2, 4, 5), (2, 6, 5), None, {"mask": True}),
        (
            {"num_heads": 2, "key_dim": 3},
            (2, 4, 5),
            (2, 6, 5),
            None,
            {"mask": True, "fully_masked": True},
        ),
        (
            {"num_heads": 2, "key_dim": 3},
            (2, 4, 5),
            (2, 6, 5),
            None,
            {"mask": True, "fully_masked": True, "scores": True},
        ),
        (
            {"num_heads": 2, "key_dim": 3, "dropout": 0.3},
            (2, 4, 5),
            (2, 6, 5),
            None,
            {"mask": True, "fully_masked": True},
        ),
        (
            {"num_heads": 2, "key_dim": 3, "use_bias": False, "use_gate": True},
            (2, 4, 5),
            (2, 6, 5),
            None,
            {"mask": True, "use_causal_mask": True},
        ),
        ({"num_heads": 2, "key_dim": 3, "sliding_window": 2}, (2, 4, 5), (2, 6, 5), None, {}),
        (
            {"num_heads": 2, "key_dim": 3, "attention_axes": (1, 2)},
            (2, 3, 4, 5),
            (2, 3, 2, 5),
            None,
            {"scores": True},
        ),
        ({"num_heads": 2, "key_dim": 3}, (2, 3, 4, 5), (2, 3, 2, 5), None, {}),
        ({"num_heads": 2, "key_dim": 3, "attention_axes": 2}, (2, 3, 4, 5), (2, 3, 2, 5), None, {}),
    ],
    "layers.GroupQueryAttention": [
        (
            {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
            (2, 4, 6),
            (2, 5, 6),
            None,
            {},
        ),
        (
            {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
            (2, 4, 6),
            (2, 5, 6),
            (2, 5, 3),
            {"mask": True, "scores": True},
        ),
        (
            {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 1, "use_gate": True},
            (2, 4, 6),
            (2, 4, 6),
            None,
            {"use_causal_mask": True},
        ),
        (
            {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 2, "use_bias": False},
            (2, 4, 6),
            (2, 5, 6),
            None,
            {"mask": True, "fully_masked": True},
        ),
        (
            {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 2, "sliding_window": 2},
            (2, 4, 6),
            (2, 5, 6),
            None,
            {"scores": True},
        ),
    ],
}

# (constructor kwargs, [query, value(, key)] shapes, call kwargs); "masks" gives random
# [query_mask, value_mask] with one value row all masked.
LIST_PARITY: dict[str, list[tuple]] = {
    "layers.Attention": [
        ({}, [(2, 4, 3), (2, 5, 3)], {}),
        ({"use_scale": True}, [(2, 4, 3), (2, 5, 3), (2, 5, 3)], {"masks": True}),
        ({"use_scale": True}, [(2, 4, 3), (2, 5, 3)], {"use_causal_mask": True, "masks": True}),
        (
            {"score_mode": "concat", "use_scale": True},
            [(2, 4, 3), (2, 5, 3), (2, 5, 3)],
            {"return_attention_scores": True, "masks": True},
        ),
        ({"score_mode": "concat"}, [(2, 4, 3), (2, 5, 3)], {"use_causal_mask": True}),
        ({"dropout": 0.2}, [(3, 2, 4, 3), (3, 2, 5, 3)], {"return_attention_scores": True}),
    ],
    "layers.AdditiveAttention": [
        ({}, [(2, 4, 3), (2, 5, 3)], {}),
        ({"use_scale": False}, [(2, 4, 3), (2, 5, 3), (2, 5, 3)], {"masks": True}),
        ({}, [(2, 4, 3), (2, 5, 3)], {"use_causal_mask": True, "return_attention_scores": True}),
    ],
}
PARITY_KEYS = sorted([*QKV_PARITY, *LIST_PARITY])


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _check_config(k_layer, l_layer) -> None:
    """Configs of the unbuilt layers (Keras rewrites attention_axes when building)."""
    drop = ("dtype", "name")
    k_config = {k: v for k, v in k_layer.get_config().items() if k not in drop}
    l_config = {k: v for k, v in l_layer.get_config().items() if k not in drop}
    assert set(l_config) == set(k_config), set(l_config) ^ set(k_config)
    assert _plain(l_config) == _plain(k_config)


def _paths(layer, prefix: str = "") -> list[str]:
    """Weight paths below the layer, Keras style: 'query/kernel'."""
    out = [prefix + s.name for s in layer._weight_specs]
    for child in layer.children():
        if isinstance(child, layers.Layer):
            out += _paths(child, f"{prefix}{child.name}/")
    return out


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else keras.ops.convert_to_numpy(t)


def _compare_qkv(name: str, kwargs: dict, qs, vs, ks, call: dict, seed: int) -> None:
    rng = np.random.default_rng(seed)
    q, v = (rng.normal(size=s).astype(np.float32) for s in (qs, vs))
    k = None if ks is None else rng.normal(size=ks).astype(np.float32)
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(qs, vs, ks)
    weights = [rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    extra = {}
    if call.get("use_causal_mask"):
        extra["use_causal_mask"] = True
    if call.get("scores"):
        extra["return_attention_scores"] = True
    if call.get("mask"):
        mask = rng.uniform(size=(qs[0], qs[1], vs[1])) > 0.3
        if call.get("fully_masked"):
            mask[0, 1] = False
        extra["attention_mask"] = mask
    l_layer = getattr(layers, name)(**kwargs)
    args = [torch.from_numpy(q), torch.from_numpy(v)] + ([] if k is None else [torch.from_numpy(k)])
    l_layer(*args)
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in weights]
    assert _paths(l_layer) == ["/".join(w.path.split("/")[1:]) for w in k_layer.weights]
    l_layer.set_weights(weights)
    assert l_layer.count_params() == k_layer.count_params()
    l_extra = {a: torch.from_numpy(b) if isinstance(b, np.ndarray) else b for a, b in extra.items()}
    k_args = [q, v] + ([] if k is None else [k])
    want = k_layer(*k_args, **extra)
    with torch.no_grad():
        got = l_layer(*args, **l_extra)
    if call.get("scores"):
        assert isinstance(got, tuple) and len(got) == 2
        for g, w in zip(got, want):
            np.testing.assert_allclose(_numpy(g), _numpy(w), rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(_numpy(got), _numpy(want), rtol=1e-5, atol=1e-5)
    shapes = [(None, *qs[1:]), (None, *vs[1:])] + ([] if ks is None else [(None, *ks[1:])])
    assert tuple(l_layer.compute_output_shape(*shapes)) == tuple(
        k_layer.compute_output_shape(*shapes)
    )
    _check_config(getattr(keras.layers, name)(**kwargs), l_layer)


@pytest.mark.parametrize("name", sorted(QKV_PARITY))
def test_query_value_attention_matches_keras(name):
    for i, case in enumerate(QKV_PARITY[name]):
        _compare_qkv(name.split(".")[-1], *case, seed=i)


def _compare_list(name: str, kwargs: dict, shapes: list, call: dict, seed: int) -> None:
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=s).astype(np.float32) for s in shapes]
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_layer.build(shapes)
    weights = [rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
    k_layer.set_weights(weights)
    l_layer = getattr(layers, name)(**kwargs)
    l_layer([torch.from_numpy(x) for x in xs])
    assert [s.name for s in l_layer._weight_specs] == [w.name for w in k_layer.weights]
    l_layer.set_weights(weights)
    assert l_layer.count_params() == k_layer.count_params()
    extra = {a: b for a, b in call.items() if a != "masks"}
    k_mask = l_mask = None
    if call.get("masks"):
        q_mask = rng.uniform(size=shapes[0][:-1]) > 0.3
        v_mask = rng.uniform(size=shapes[1][:-1]) > 0.3
        v_mask[1] = False
        k_mask = [q_mask, v_mask]
        l_mask = [torch.from_numpy(q_mask), torch.from_numpy(v_mask)]
    want = k_layer(xs, mask=k_mask, **extra)
    with torch.no_grad():
        got = l_layer([torch.from_numpy(x) for x in xs], mask=l_mask, **extra)
    if extra.get("return_attention_scores"):
        for g, w in zip(got, want):
            np.testing.assert_allclose(_numpy(g), _numpy(w), rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(_numpy(got), _numpy(want), rtol=1e-5, atol=1e-5)
    none = [(None, *s[1:]) for s in shapes]
    assert tuple(l_layer.compute_output_shape(none)) == tuple(k_layer.compute_output_shape(none))
    _check_config(getattr(keras.layers, name)(**kwargs), l_layer)


@pytest.mark.parametrize("name", sorted(LIST_PARITY))
def test_list_attention_matches_keras(name):
    for i, case in enumerate(LIST_PARITY[name]):
        _compare_list(name.split(".")[-1], *case, seed=i)


def test_parity_tables_cover_every_attention_name():
    assert PARITY_KEYS == [
        "layers.AdditiveAttention",
        "layers.Attention",
        "layers.GroupQueryAttention",
        "layers.MultiHeadAttention",
    ]


def test_self_attention_over_an_embedding_mask_matches_keras():
    """The query's and value's own masks (Embedding(mask_zero=True)) reach the attention."""
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0]])
    k_emb = keras.layers.Embedding(10, 4, mask_zero=True)
    k_mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    k_in = keras.Input((5,), dtype="int32")
    k_x = k_emb(k_in)
    k_model = keras.Model(k_in, k_mha(k_x, k_x))
    l_in = layers.Input((5,), dtype="int64")
    l_emb = layers.Embedding(10, 4, mask_zero=True)
    l_mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    l_x = l_emb(l_in)
    l_model = lamina.Model(l_in, l_mha(l_x, l_x))
    l_model.set_weights(k_model.get_weights())
    want = _numpy(k_model(ids))
    got = l_model(torch.from_numpy(ids)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_symbolic_scores_shapes():
    q, v = layers.Input((4, 6)), layers.Input((7, 6))
    out, scores = layers.MultiHeadAttention(2, 3)(q, v, return_attention_scores=True)
    assert tuple(out.shape) == (None, 4, 6) and tuple(scores.shape) == (None, 2, 4, 7)
    out, scores = layers.GroupQueryAttention(3, 4, 2)(q, v, return_attention_scores=True)
    assert tuple(out.shape) == (None, 4, 6) and tuple(scores.shape) == (None, 4, 4, 7)
    q2, v2 = layers.Input((3, 4, 6)), layers.Input((3, 2, 6))
    mha = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    out, scores = mha(q2, v2, return_attention_scores=True)
    eager = mha(torch.zeros(1, 3, 4, 6), torch.zeros(1, 3, 2, 6), return_attention_scores=True)
    assert tuple(scores.shape) == (None, *eager[1].shape[1:]) == (None, 2, 3, 4, 3, 2)
    out, scores = layers.Attention()([q, v], return_attention_scores=True)
    assert tuple(out.shape) == (None, 4, 6) and tuple(scores.shape) == (None, 4, 7)


class _ListMHA(layers.MultiHeadAttention):
    """MultiHeadAttention called on [query, value] (the harness passes one list)."""

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, list):
            return super().__call__(*inputs, **kwargs)
        return super().__call__(inputs, *args, **kwargs)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if isinstance(query_shape, list) and isinstance(query_shape[0], (tuple, list)):
            return super().compute_output_shape(*query_shape)
        return super().compute_output_shape(query_shape, value_shape, key_shape)


class _ListGQA(layers.GroupQueryAttention):
    """GroupQueryAttention called on [query, value]."""

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, list):
            return super().__call__(*inputs, **kwargs)
        return super().__call__(inputs, *args, **kwargs)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if isinstance(query_shape, list) and isinstance(query_shape[0], (tuple, list)):
            return super().compute_output_shape(*query_shape)
        return super().compute_output_shape(query_shape, value_shape, key_shape)


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _mha_reference(x, w):
    q_in, v_in = x
    qk, qb, kk, kb, vk, vb, ok, ob = w
    q = np.einsum("btd,dnh->btnh", q_in, qk) + qb
    k = np.einsum("bsd,dnh->bsnh", v_in, kk) + kb
    v = np.einsum("bsd,dnh->bsnh", v_in, vk) + vb
    p = _softmax(np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1]))
    return np.einsum("btnh,nhd->btd", np.einsum("bnts,bsnh->btnh", p, v), ok) + ob


def _attention_reference(x, w):
    q, v = x
    return _softmax(q @ np.swapaxes(v, -1, -2)) @ v


def _additive_reference(x, w):
    q, v = x
    return _softmax((w[0] * np.tanh(q[:, :, None] + v[:, None])).sum(-1)) @ v


HARNESS = [
    (
        _ListMHA,
        {"num_heads": 2, "key_dim": 3},
        [(2, 4, 5), (2, 3, 5)],
        (2, 4, 5),
        3 * 36 + 35,
        _mha_reference,
    ),
    (
        _ListGQA,
        {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
        [(2, 4, 5), (2, 3, 5)],
        (2, 4, 5),
        5 * 4 + 4 + 2 * (5 * 2 + 2) + 4 * 5 + 5,
        None,
    ),
    (layers.Attention, {}, [(2, 4, 3), (2, 5, 3)], (2, 4, 3), 0, _attention_reference),
    (layers.AdditiveAttention, {}, [(2, 4, 3), (2, 5, 3)], (2, 4, 3), 3, _additive_reference),
]


@pytest.mark.parametrize("case", HARNESS, ids=[c[0].__name__ for c in HARNESS])
def test_attention_layers_pass_the_harness(case):
    cls, kwargs, in_shapes, out_shape, params, reference = case
    run_layer_test(
        cls,
        kwargs,
        input_shape=in_shapes,
        expected_output_shape=out_shape,
        expected_num_params=params,
        reference=reference,
        rtol=1e-4,
        atol=1e-5,
        compiled_fit=cls is _ListMHA,
    )


@pytest.mark.parametrize("masked", [False, True])
def test_attention_dropout_is_inverted_dropout_on_the_weights(masked):
    """Training calls drop attention weights and scale the kept ones by 1/(1-rate), as
    Keras: averaged over many samples the output is the inference output (SDPA's dropout
    without a mask, the explicit path with one). One sample repeated 4000 times."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n = 4000
    q = torch.from_numpy(rng.normal(size=(1, 3, 4)).astype(np.float32)).expand(n, 3, 4)
    v = torch.from_numpy(rng.normal(size=(1, 5, 4)).astype(np.float32)).expand(n, 5, 4)
    mask = torch.from_numpy(rng.uniform(size=(1, 3, 5)) > 0.3).expand(n, 3, 5) if masked else None
    mha, att = layers.MultiHeadAttention(2, 2, dropout=0.4), layers.Attention(dropout=0.4)
    att_mask = None if mask is None else [None, mask[:, 0]]
    for call in [
        lambda t: mha(q, v, attention_mask=mask, training=t),
        lambda t: att([q, v], mask=att_mask, training=t),
    ]:
        with torch.no_grad():
            want, runs = call(False), call(True)
        assert not torch.allclose(runs[0], want[0])
        np.testing.assert_allclose(runs.mean(0).numpy(), want[0].numpy(), atol=0.06)


@pytest.mark.parametrize(
    "name,args",
    [
        ("MultiHeadAttention", (2, 3)),
        ("GroupQueryAttention", (2, 2, 1)),
        ("Attention", ()),
        ("AdditiveAttention", ()),
    ],
)
def test_automatic_names_match_keras(name, args):
    import re

    base = re.compile(r"_\d+$")
    k_name = base.sub("", getattr(keras.layers, name)(*args).name)
    assert base.sub("", getattr(layers, name)(*args).name) == k_name
