"""Keras 1 code that names an optimizer whose defaults changed gets one note, and its advice works.

References: Keras 1's constants and update rules are transcribed from Keras 1.2's
keras/optimizers.py (the `get_updates(params, constraints, loss)` era) into NumPy below;
today's defaults are read from the installed Keras 3 (the oracle) and from Lamina's
signatures. The call each note suggests is taken from the note itself, built, and stepped
against the NumPy Keras 1 rule. Seed 003's CNN (Keras 1 spellings, optimizer='adadelta')
on a small MNIST subset is the diagnostics case.
"""

from __future__ import annotations

import inspect
import os
import re
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch

import lamina as keras
from lamina import layers, legacy_api, optimizers
from lamina.datasets import mnist
from lamina.legacy_api import Keras1DefaultsWarning
from lamina.preprocessing.text import Tokenizer
from lamina.utils import np_utils, set_random_seed

os.environ.setdefault("KERAS_BACKEND", "torch")
keras3 = pytest.importorskip("keras")

THIS_FILE = os.path.abspath(__file__)

# Keras 1.2 keras/optimizers.py: Adadelta(lr=1.0, rho=0.95, epsilon=1e-8),
# Adagrad(lr=0.01, epsilon=1e-8) with accumulators K.zeros, Adamax(lr=0.002, ..., epsilon=1e-8),
# Nadam(lr=0.002, ..., epsilon=1e-8, schedule_decay=0.004); RMSprop(lr=0.001, rho=0.9,
# epsilon=1e-8), Adam(lr=0.001, ..., epsilon=1e-8), SGD(lr=0.01).
KERAS1_LR = {"adadelta": 1.0, "adagrad": 0.01, "adamax": 0.002, "nadam": 0.002}
CLASSES = {"adadelta": "Adadelta", "adagrad": "Adagrad", "adamax": "Adamax", "nadam": "Nadam"}


@pytest.fixture(autouse=True)
def fresh_record():
    legacy_api.clear()
    yield
    legacy_api.clear()


def keras1_model() -> keras.Sequential:
    """A small model in Keras 1 spelling (records 'Convolution2D')."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        conv = layers.Convolution2D(2, 3, 3, border_mode="valid")
    return keras.Sequential([layers.Input((6, 6, 1)), conv, layers.Flatten(), layers.Dense(2)])


def modern_model() -> keras.Sequential:
    conv = layers.Conv2D(2, (3, 3), padding="valid")
    return keras.Sequential([layers.Input((6, 6, 1)), conv, layers.Flatten(), layers.Dense(2)])


def notes(record: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [w for w in record if issubclass(w.category, Keras1DefaultsWarning)]


def compile_and_catch(model: keras.Model, optimizer: object) -> tuple[list, int]:
    """Compile, returning the notes raised and the line number of the compile call."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        model.compile(optimizer=optimizer, loss="mse")
    return notes(record), line


def suggested(message: str) -> optimizers.Optimizer:
    """The optimizer the note tells the user to pass, built from the note's own text."""
    match = re.search(r"pass optimizers\.(\w+)\(([^)]*)\)\.$", message)
    assert match, message
    kwargs = {}
    for part in match.group(2).split(", "):
        key, value = part.split("=")
        kwargs[key] = float(value)
    return getattr(optimizers, match.group(1))(**kwargs)


@pytest.mark.parametrize("name", sorted(KERAS1_LR))
def test_keras1_code_gets_one_note_with_the_old_default_at_the_compile_line(name):
    model = keras1_model()
    found, line = compile_and_catch(model, name)
    assert len(found) == 1, [str(w.message) for w in found]
    note = found[0]
    assert (os.path.abspath(note.filename), note.lineno) == (THIS_FILE, line)
    text = str(note.message)
    assert "\n" not in text and text.startswith("Keras 1 code (Convolution2D): ")
    assert f"optimizer='{name}' used learning_rate={KERAS1_LR[name]}" in text
    # today's default, as Keras 3 (the oracle) and Lamina define it
    today = inspect.signature(getattr(keras3.optimizers, CLASSES[name])).parameters
    ours = inspect.signature(getattr(optimizers, CLASSES[name])).parameters
    assert today["learning_rate"].default == ours["learning_rate"].default == 0.001
    assert f"Lamina and Keras 3 default to learning_rate={today['learning_rate'].default}" in text
    assert suggested(text).learning_rate == KERAS1_LR[name]
    # said once per process: a second compile (or model) with the same name is silent
    assert compile_and_catch(keras1_model(), name)[0] == []


def test_the_name_is_matched_as_the_registry_matches_it():
    found, _ = compile_and_catch(keras1_model(), "Adadelta")
    assert len(found) == 1 and "optimizer='Adadelta'" in str(found[0].message)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_no_note_for_optimizers_whose_learning_rate_kept_its_keras1_default(optimizer):
    # only epsilon moved (1e-8 to 1e-7), beside sqrt of the squared gradients
    assert compile_and_catch(keras1_model(), optimizer)[0] == []
    keras1 = {"rmsprop": 0.001, "adam": 0.001, "sgd": 0.01}[optimizer]
    assert optimizers.get(optimizer).learning_rate == keras1


def test_no_note_for_modern_code_nor_an_optimizer_object():
    assert compile_and_catch(modern_model(), "adadelta")[0] == []
    assert legacy_api.seen() == ()
    assert compile_and_catch(keras1_model(), optimizers.Adadelta())[0] == []
    assert legacy_api.seen() == ("Convolution2D",)


def test_nb_epoch_after_compile_notes_at_the_fit_line():
    model = modern_model()
    assert compile_and_catch(model, "adagrad")[0] == []
    x, y = np.zeros((4, 6, 6, 1), "float32"), np.zeros((4, 2), "float32")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        model.fit(x, y, nb_epoch=1, verbose=0)
        model.fit(x, y, nb_epoch=1, verbose=0)
    (note,) = notes(record)
    assert (os.path.abspath(note.filename), note.lineno) == (THIS_FILE, line)
    assert str(note.message).startswith("Keras 1 code (fit(nb_epoch=...)): optimizer='adagrad'")


def test_a_later_compile_with_an_object_cancels_the_pending_note():
    model = modern_model()
    compile_and_catch(model, "adamax")
    compile_and_catch(model, optimizers.Adamax())
    x, y = np.zeros((4, 6, 6, 1), "float32"), np.zeros((4, 2), "float32")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(x, y, nb_epoch=1, verbose=0)
    assert notes(record) == []


def test_other_keras1_spellings_are_recorded():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Tokenizer(nb_words=10)
        np_utils.to_categorical([0, 1], nb_classes=2)
        np_utils.to_categorical([0, 1], 2)  # np_utils alone was Keras 2's too: not recorded
    assert legacy_api.seen() == ("Tokenizer(nb_words=...)", "to_categorical(nb_classes=...)")


# ------------------------------------------------ Keras 1's update rules, in NumPy
def keras1_adadelta(p, g, s, lr=1.0, rho=0.95, eps=1e-8):
    a = s.get("a", 0.0) * rho + (1 - rho) * g**2
    update = g * np.sqrt(s.get("d", 0.0) + eps) / np.sqrt(a + eps)
    s["a"], s["d"] = a, rho * s.get("d", 0.0) + (1 - rho) * update**2
    return p - lr * update


def keras1_adagrad(p, g, s, lr=0.01, eps=1e-8):
    s["a"] = s.get("a", 0.0) + g**2  # accumulators start at K.zeros
    return p - lr * g / (np.sqrt(s["a"]) + eps)


def keras1_adamax(p, g, s, lr=0.002, b1=0.9, b2=0.999, eps=1e-8):
    t = s["t"] = s.get("t", 0) + 1
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g))
    return p - lr / (1 - b1**t) * s["m"] / (s["u"] + eps)


def keras1_nadam(p, g, s, lr=0.002, b1=0.9, b2=0.999, eps=1e-8, schedule_decay=0.004):
    t = s["t"] = s.get("t", 0) + 1
    mu_t = b1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * schedule_decay))
    schedule = s.get("schedule", 1.0) * mu_t
    s["schedule"] = schedule
    m = s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    v = s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    m_bar = (1 - mu_t) * g / (1 - schedule) + mu_next * m / (1 - schedule * mu_next)
    return p - lr * m_bar / (np.sqrt(v / (1 - b2**t)) + eps)


KERAS1_RULES: dict[str, Callable] = {
    "adadelta": keras1_adadelta,
    "adagrad": keras1_adagrad,
    "adamax": keras1_adamax,
    "nadam": keras1_nadam,
}


@pytest.mark.parametrize("name", sorted(KERAS1_RULES))
def test_the_suggested_call_steps_as_keras1_did(name):
    """Least squares on a fixed problem: the suggested optimizer's weights after 20 steps
    against Keras 1's rule in NumPy (float64)."""
    found, _ = compile_and_catch(keras1_model(), name)
    optimizer = suggested(str(found[0].message))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(32, 5)), rng.normal(size=32)
    ours = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64))
    optimizer.build([ours])
    reference, state = np.zeros(5), {}
    for _ in range(20):
        grad = 2 * a.T @ (a @ reference - b) / len(b)  # of mean((a w - b)^2), by hand
        reference = KERAS1_RULES[name](reference, grad, state)
        optimizer.zero_grad()
        (torch.tensor(a) @ ours - torch.tensor(b)).square().mean().backward()
        optimizer.step()
    assert np.abs(reference).max() > 1e-3  # the weights moved
    np.testing.assert_allclose(ours.detach().numpy(), reference, rtol=1e-5, atol=1e-8)


# --------------------------------------------- seed 003's CNN, cheap MNIST subsets
@pytest.fixture(scope="module")
def mnist_subset() -> tuple[np.ndarray, np.ndarray]:
    (x, y), _ = mnist.load_data()
    x = x[:512].reshape(-1, 28, 28, 1).astype("float32") / 255.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return x, np_utils.to_categorical(y[:512], 10)


def seed003_cnn() -> keras.Sequential:
    """Seed 003's CNN as written for Keras 1 (Convolution2D, border_mode)."""
    model = keras.Sequential()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model.add(layers.Convolution2D(32, 3, 3, border_mode="valid", input_shape=(28, 28, 1)))
        model.add(layers.Activation("relu"))
        model.add(layers.Convolution2D(32, 3, 3))
    for layer in [
        layers.Activation("relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(256),
        layers.Activation("relu"),
        layers.Dropout(0.25),
        layers.Dense(10),
        layers.Activation("softmax"),
    ]:
        model.add(layer)
    return model


def cnn_fit(x, y, optimizer, diagnose=False):
    set_random_seed(3)
    model = seed003_cnn()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.compile(loss="categorical_crossentropy", optimizer=optimizer, jit_compile=False)
        return model.fit(x, y, batch_size=128, nb_epoch=1, verbose=0, diagnose=diagnose)


def loss_drop(x, y, optimizer) -> float:
    """How far a short fit (32 steps) lowers the training loss of a small MLP."""
    set_random_seed(3)
    model = keras.Sequential(
        [layers.Input((784,)), layers.Dense(64, activation="relu"), layers.Dense(10, "softmax")]
    )
    model.compile(optimizer, "categorical_crossentropy", jit_compile=False)
    x = x.reshape(len(x), -1)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    return before - model.evaluate(x, y, verbose=0)


def test_keras1_constants_move_the_loss_far_more_than_todays_default(mnist_subset):
    x, y = mnist_subset
    today = loss_drop(x, y, "adadelta")
    keras1 = loss_drop(x, y, optimizers.Adadelta(learning_rate=1.0, epsilon=1e-8))
    assert keras1 > 0.5 and keras1 > 20 * abs(today), (keras1, today)


def test_diagnostics_name_a_learning_rate_too_small_on_seed003s_cnn(mnist_subset):
    x, y = mnist_subset
    diag = cnn_fit(x, y, "adadelta", diagnose=True).diagnostics
    assert [f.kind for f in diag.findings] == ["learning_rate_too_small"], diag.summary()
    finding = diag.findings[0]
    kernels = [r.update_ratio for r in diag.records if r.kind in ("Convolution2D", "Dense")]
    assert finding.evidence["update_ratio"] == pytest.approx(float(np.median(kernels)))
    assert finding.evidence["update_ratio"] < 1e-4
    assert "the learning rate" in finding.message and "too small" in finding.message
    assert "guessing the labels" in finding.message
