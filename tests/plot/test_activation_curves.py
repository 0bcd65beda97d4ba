"""Activation curves: each function equals its closed form in NumPy and each derivative
equals central finite differences of that closed form (away from the kinks, where the
derivative is undefined); unknown names are refused; the picture matches its reference."""

from __future__ import annotations

import numpy as np
import pytest

from lamina.plot import activations
from lamina.plot.activation_curves import KNOWN, MAXOUT_PIECES
from tests.plot.image_compare import assert_matches_baseline

CLOSED_FORMS = {
    "step": lambda x: (x >= 0).astype(float),
    "sign": lambda x: np.where(x >= 0, 1.0, -1.0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "maxout": lambda x: np.max([a * x + b for a, b in MAXOUT_PIECES], axis=0),
}
KINKS = {"maxout": [-0.8, 1.2]}  # where the example pieces cross; the others' kink is 0


@pytest.fixture(scope="module")
def drawn():
    return activations()


def test_all_nine_by_default(drawn):
    assert list(drawn.lamina_data) == list(KNOWN) == list(CLOSED_FORMS)
    assert len([ax for ax in drawn.axes if ax.lines]) == 9


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_values_and_derivatives(drawn, name):
    data = drawn.lamina_data[name]
    x, y, dy = data["x"], data["y"], data["dy"]
    f = CLOSED_FORMS[name]
    np.testing.assert_allclose(y, f(x), rtol=1e-12, atol=1e-12)
    h = 1e-6
    smooth = np.all([np.abs(x - k) > 1e-3 for k in KINKS.get(name, [0.0])], axis=0)
    numeric = (f(x + h) - f(x - h)) / (2 * h)
    np.testing.assert_allclose(dy[smooth], numeric[smooth], rtol=1e-6, atol=1e-8)
    assert smooth.sum() >= len(x) - 3
    # the curves drawn are these values
    ax = next(ax for ax in drawn.axes if ax.get_title().split("\n")[0] == name)
    solid = next(line for line in ax.lines if line.get_label() == name)
    dashed = next(line for line in ax.lines if line.get_label() == "derivative")
    np.testing.assert_array_equal(solid.get_ydata(), y)
    np.testing.assert_array_equal(dashed.get_ydata(), dy)


def test_names_spellings_and_errors():
    fig = activations(["Sigmoid", "leaky ReLU", "heaviside"])
    assert list(fig.lamina_data) == ["sigmoid", "leaky_relu", "step"]
    assert list(activations("tanh").lamina_data) == ["tanh"]
    with pytest.raises(ValueError, match=r"Expected activation names among \['step', .*'maxout'\]"):
        activations(["relu", "swishy"])
    with pytest.raises(ValueError, match="Expected at least one activation name"):
        activations([])


def test_matches_reference_image(drawn, tmp_path):
    assert_matches_baseline(drawn, "activation_curves", tmp_path)
