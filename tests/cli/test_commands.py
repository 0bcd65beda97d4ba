"""Every `lamina` command in-process through `lamina.cli.main` (the function the console
script calls), against the library called directly: model.summary, model.predict,
model.evaluate (and NumPy's argmax accuracy), lamina.report, load_model."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lamina as keras
from lamina import layers
from lamina.cli import main
from tests.cli.cli_helpers import parse_predictions

COMMANDS = ("examples", "run", "summary", "predict", "evaluate", "report", "convert", "serve")


def call(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(capsys, command):
    code, out, err = call(capsys, command, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"Usage: lamina {command} ")


@pytest.mark.parametrize("fmt", ["h5", "keras", "lamina"])
def test_summary_of_each_format_is_the_models_summary(capsys, saved, fmt):
    code, out, err = call(capsys, "summary", str(saved.files[fmt]))
    assert code == 0, err
    assert out == saved.summary


def evaluate_lines(out: str) -> dict[str, float]:
    rows = [line.split(": ") for line in out.splitlines()[1:]]
    return {key: float(value) for key, value in rows}


def test_evaluate_uses_one_hot_labels_for_a_categorical_loss(capsys, saved, mnist_test):
    x, y = mnist_test
    code, out, err = call(capsys, "evaluate", str(saved.files["h5"]), "--data", "mnist")
    assert code == 0, err
    assert out.splitlines()[0].startswith("mnist test set: 10,000 images, labels one-hot")
    want = saved.model.evaluate(
        x[:, :, :, None].astype("float32") / 255,
        np.eye(10, dtype="float32")[y],
        batch_size=256,
        verbose=0,
        return_dict=True,
    )
    got = evaluate_lines(out)
    assert set(got) == set(want) == {"loss", "accuracy"}
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=6e-5)


def flat_model(tmp_path: Path, compiled: bool) -> tuple[keras.Model, Path]:
    """Dense(10) on 784 flattened pixels: softmax with sparse labels, or bare logits."""
    keras.utils.set_random_seed(1)
    head = layers.Dense(10, activation="softmax" if compiled else None)
    model = keras.Sequential([layers.Input((784,)), head])
    if compiled:
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / f"flat_{compiled}.keras"
    model.save(path)
    return model, path


def test_evaluate_uses_class_indices_for_a_sparse_loss_and_flattens(capsys, tmp_path, mnist_test):
    x, y = mnist_test
    model, path = flat_model(tmp_path, compiled=True)
    code, out, err = call(capsys, "evaluate", str(path), "--limit", "500", "--batch-size", "100")
    assert code == 0, err
    assert "500 images, labels class indices" in out.splitlines()[0]
    want = model.evaluate(
        x[:500].reshape(500, 784).astype("float32") / 255, y[:500], verbose=0, return_dict=True
    )
    got = evaluate_lines(out)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=6e-5)


def test_evaluate_compiles_an_uncompiled_logits_model(capsys, tmp_path, mnist_test):
    x, y = mnist_test
    model, path = flat_model(tmp_path, compiled=False)
    code, out, err = call(capsys, "evaluate", str(path), "--limit", "1000")
    assert code == 0, err
    assert "uncompiled" in err and "from_logits=True" in err
    logits = model.predict(x[:1000].reshape(1000, 784).astype("float32") / 255, verbose=0)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    got = evaluate_lines(out)
    assert got["accuracy"] == pytest.approx(np.mean(logits.argmax(axis=1) == y[:1000]), abs=6e-5)
    assert got["loss"] == pytest.approx(-log_probs[np.arange(1000), y[:1000]].mean(), abs=6e-5)


def test_evaluate_refuses_a_model_that_does_not_read_28x28_images(capsys, tmp_path):
    model = keras.Sequential([layers.Input((32, 32, 3)), layers.Flatten(), layers.Dense(10)])
    model.save(tmp_path / "cifar.lamina")
    code, out, err = call(capsys, "evaluate", str(tmp_path / "cifar.lamina"))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "lamina: error: Expected a model that reads 28x28 images with 1 or 3 channels for "
        "--data mnist, received: input_shape=(None, 32, 32, 3)"
    ]


def test_predict_converts_resizes_and_names_the_classes(capsys, saved, mnist_test, tmp_path):
    x, _ = mnist_test
    big = tmp_path / "big_rgb.png"
    Image.fromarray(np.stack([x[5]] * 3, axis=-1)).resize((56, 56), Image.NEAREST).save(big)
    names = tmp_path / "names.txt"
    names.write_text("\n".join(f"digit {i}" for i in range(10)) + "\n")
    # the documented preprocessing: grayscale, bilinear resize to 28x28, / 255
    small = Image.open(big).convert("L").resize((28, 28), Image.BILINEAR)
    row = saved.model.predict(np.asarray(small, "float32")[None, :, :, None] / 255, verbose=0)[0]
    code, out, err = call(
        capsys,
        "predict",
        str(saved.files["lamina"]),
        str(big),
        "--top",
        "2",
        "--class-names",
        str(names),
    )
    assert code == 0, err
    top = np.argsort(-row)[:2]
    shown = parse_predictions(out)[str(big)]
    assert [label for label, _ in shown] == [f"digit {i}" for i in top]
    np.testing.assert_allclose([p for _, p in shown], row[top], atol=6e-5)


def test_predict_refuses_a_class_names_file_of_the_wrong_length(capsys, saved, tmp_path):
    image = tmp_path / "blank.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    names = tmp_path / "names.txt"
    names.write_text("cat\ndog\n")
    code, out, err = call(
        capsys, "predict", str(saved.files["h5"]), str(image), "--class-names", str(names)
    )
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"lamina: error: Expected 10 class names (one per line, as many as the model's "
        f"classes), received: 2 in {str(names)!r}"
    ]


def test_report_writes_the_html_page(capsys, saved, tmp_path):
    out_file = tmp_path / "page.html"
    code, out, err = call(
        capsys,
        "report",
        str(saved.files["lamina"]),
        "--data",
        "mnist",
        "--limit",
        "100",
        "--out",
        str(out_file),
    )
    assert code == 0, err
    assert out.strip() == f"Report written to {out_file}"
    page = out_file.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "tiny_mnist" in page and "No history given" in page
    assert "onfusion" in page  # the confusion matrix drawn from --data


@pytest.mark.parametrize("source, target", [("h5", "lamina"), ("lamina", "keras"), ("keras", "h5")])
def test_convert_round_trip_keeps_the_predictions(
    capsys, saved, mnist_test, tmp_path, source, target
):
    x, _ = mnist_test
    out_file = tmp_path / f"converted.{target}"
    code, out, err = call(capsys, "convert", str(saved.files[source]), str(out_file))
    assert code == 0, err
    batch = x[:32, :, :, None].astype("float32") / 255
    np.testing.assert_array_equal(
        keras.models.load_model(out_file).predict(batch, verbose=0),
        saved.model.predict(batch, verbose=0),
    )


def test_convert_refuses_to_replace_a_file_without_force(capsys, saved, tmp_path):
    target = tmp_path / "exists.lamina"
    target.write_bytes(b"keep me")
    code, _, err = call(capsys, "convert", str(saved.files["h5"]), str(target))
    assert code == 1 and "--force" in err and len(err.splitlines()) == 1
    assert target.read_bytes() == b"keep me"
    code, _, err = call(capsys, "convert", str(saved.files["h5"]), str(target), "--force")
    assert code == 0, err
    assert keras.models.load_model(target).count_params() == saved.model.count_params()


def test_convert_refuses_an_unknown_output_suffix(capsys, saved, tmp_path):
    code, _, err = call(capsys, "convert", str(saved.files["h5"]), str(tmp_path / "m.tflite"))
    assert code == 2 and len(err.splitlines()) == 1
    assert not (tmp_path / "m.tflite").exists()


def test_convert_exports_onnx_and_torch_programs_that_match_predict(
    capsys, saved, mnist_test, tmp_path
):
    ort = pytest.importorskip("onnxruntime")
    import torch

    x, _ = mnist_test
    batch = x[:5, :, :, None].astype("float32") / 255
    want = saved.model.predict(batch, verbose=0)
    code, out, err = call(capsys, "convert", str(saved.files["lamina"]), str(tmp_path / "m.onnx"))
    assert code == 0, err
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: batch})[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    code, out, err = call(capsys, "convert", str(saved.files["keras"]), str(tmp_path / "m.pt2"))
    assert code == 0, err
    with torch.no_grad():
        got = torch.export.load(tmp_path / "m.pt2").module()(torch.from_numpy(batch)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_convert_export_takes_the_steps_of_a_recurrent_model(capsys, tmp_path):
    import torch

    model = keras.Sequential([layers.Input((None, 2)), layers.GRU(3), layers.Dense(1)])
    model.save(tmp_path / "gru.lamina")
    code, _, err = call(capsys, "convert", str(tmp_path / "gru.lamina"), str(tmp_path / "a.pt2"))
    assert code == 1 and "input_signature" in err and len(err.splitlines()) == 1
    code, _, err = call(
        capsys,
        "convert",
        str(tmp_path / "gru.lamina"),
        str(tmp_path / "a.pt2"),
        "--input-shape",
        "6,2",
    )
    assert code == 0, err
    x = np.random.default_rng(0).random((4, 6, 2), dtype=np.float32)
    with torch.no_grad():
        got = torch.export.load(tmp_path / "a.pt2").module()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)
    for bad in ("6,x", "0,2", ""):
        code, _, err = call(
            capsys,
            "convert",
            str(tmp_path / "gru.lamina"),
            str(tmp_path / "b.pt2"),
            "--input-shape",
            bad,
        )
        assert code == 2 and "--input-shape" in err, (bad, err)
    assert not (tmp_path / "b.pt2").exists()


def write_examples(folder: Path) -> None:
    (folder / "side_effect.py").write_text(
        textwrap.dedent(
            '''\
            """A first line that wraps
            onto a second.

            Details that the listing leaves out.
            """
            open("RAN", "w").close()
            '''
        )
    )
    (folder / "_helper.py").write_text('"""Not an example."""\n')
    (folder / "no_doc.py").write_text("x = 1\n")


def test_examples_are_read_without_running_them(capsys, tmp_path, monkeypatch):
    write_examples(tmp_path)
    monkeypatch.setenv("LAMINA_EXAMPLES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, out, err = call(capsys, "examples")
    assert code == 0, err
    assert out.splitlines() == [
        "no-doc       (no description)",
        "side-effect  A first line that wraps onto a second.",
    ]
    assert not (tmp_path / "RAN").exists()


def test_an_unknown_example_is_a_usage_error_naming_close_names(capsys, tmp_path, monkeypatch):
    write_examples(tmp_path)
    monkeypatch.setenv("LAMINA_EXAMPLES", str(tmp_path))
    code, out, err = call(capsys, "run", "side_efect")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "lamina: error: Expected the name of an example ('lamina examples' lists them), "
        "received: name='side_efect'; did you mean side-effect?"
    ]


def test_a_missing_examples_folder_says_where_it_looked(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_EXAMPLES", str(tmp_path / "nowhere"))
    code, _, err = call(capsys, "examples")
    assert code == 1 and len(err.splitlines()) == 1
    assert str(tmp_path / "nowhere") in err and "LAMINA_EXAMPLES" in err


def test_debug_shows_the_traceback(capsys, tmp_path, monkeypatch):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK\x03\x04 truncated")
    code, _, err = call(capsys, "summary", str(bad))
    assert code == 1 and "Traceback" not in err and "--debug" in err
    code, _, err = call(capsys, "--debug", "summary", str(bad))
    assert code == 1 and "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("lamina: error: ")
    monkeypatch.setenv("LAMINA_DEBUG", "1")
    code, _, err = call(capsys, "summary", str(bad))
    assert code == 1 and "Traceback (most recent call last)" in err
