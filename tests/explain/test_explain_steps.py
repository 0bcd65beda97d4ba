"""What lamina.explain prints: the slides' lines exactly, every printed sum true, the caps,
the stream options and the error messages."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch

from lamina import explain

# The slide "One Channel, One Filter": a 5x5 image, 'same' zero padding, a sharpening kernel.
IMAGE = [
    [105, 102, 100, 97, 96],
    [103, 99, 103, 101, 102],
    [101, 98, 104, 102, 100],
    [99, 101, 106, 104, 99],
    [104, 104, 104, 100, 98],
]
KERNEL = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
SLIDE_LINE = "0*0 + 0*-1 + 0*0 + 0*-1 + 105*5 + 102*-1 + 0*0 + 103*-1 + 99*0 = 320"


def loop_correlate(
    image: np.ndarray, kernel: np.ndarray, top: int, left: int, out_hw
) -> np.ndarray:
    """Reference: zero-padded cross-correlation with stride 1, one loop per output cell."""
    h, w = image.shape
    kh, kw = kernel.shape
    out = np.zeros(out_hw)
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            for a in range(kh):
                for b in range(kw):
                    r, c = i + a - top, j + b - left
                    if 0 <= r < h and 0 <= c < w:
                        out[i, j] += image[r, c] * kernel[a, b]
    return out


def evaluate(line: str) -> tuple[float, float]:
    """The left side of `a*b + c*d + e = z` computed, and the printed z."""
    left, right = line.rsplit(" = ", 1)
    total = 0.0
    for term in left.split(" + "):
        factors = [float(f) for f in re.split(r"(?<=\d)\*", term)]
        total += float(np.prod(factors))
    return total, float(right)


def test_conv2d_prints_the_slide_line_and_returns_the_slide_output(capsys):
    out = explain.conv2d(IMAGE, KERNEL, 1, "same")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "conv2d: image 5x5, kernel 3x3, stride 1, padding 'same'"
    assert lines[1] == "zero padding: 1 row above, 1 below, 1 column left, 1 right"
    assert lines[3] == "out[0, 0] (rows -1..1, cols -1..1):"
    assert lines[4] == SLIDE_LINE
    expected = loop_correlate(np.array(IMAGE), np.array(KERNEL), 1, 1, (5, 5))
    assert out.shape == (5, 5)
    assert out[0, 0] == 320
    np.testing.assert_array_equal(out, expected)


def test_conv2d_every_printed_sum_is_true():
    rng = np.random.default_rng(1)
    image = rng.integers(-9, 10, (6, 7))
    kernel = rng.integers(-3, 4, (3, 2))
    stream = io.StringIO()
    out = explain.conv2d(image, kernel, 1, "same", bias=2, max_steps=None, file=stream)
    lines = stream.getvalue().splitlines()
    sums = [lines[k + 1] for k, line in enumerate(lines) if line.startswith("out[")]
    assert len(sums) == out.size == 42
    printed = []
    for line in sums:
        total, shown = evaluate(line)
        assert total == shown, line
        printed.append(shown)
    np.testing.assert_array_equal(np.array(printed).reshape(out.shape), out)


def test_conv2d_multichannel_prints_each_channel_then_the_sum():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 5, (4, 4, 2))
    kernel = rng.integers(-2, 3, (2, 2, 2, 3))
    stream = io.StringIO()
    out = explain.conv2d(image, kernel, 2, bias=[1, 0, -1], activation="relu", file=stream)
    lines = stream.getvalue().splitlines()
    start = lines.index("out[0, 0, 1] (rows 0..1, cols 0..1):")
    ch0, ch1, total, relu = lines[start + 1 : start + 5]
    part0, shown0 = evaluate(ch0.removeprefix("  channel 0: "))
    part1, shown1 = evaluate(ch1.removeprefix("  channel 1: "))
    assert (part0, part1) == (shown0, shown1)
    assert total == f"  sum: {int(part0)} + {int(part1)} + 0 = {int(part0 + part1)}"
    assert relu == f"relu({int(part0 + part1)}) = {int(max(part0 + part1, 0))}"
    assert out[0, 0, 1] == max(part0 + part1, 0)


def test_max_pool_and_avg_pool_print_each_window(capsys):
    out = explain.max_pool(IMAGE, 2, padding="same", max_steps=None)
    lines = capsys.readouterr().out.splitlines()
    assert "max(105, 102, 103, 99) = 105" in lines
    # The window over the padded column holds only the two real cells.
    assert lines[lines.index("out[0, 2] (rows 0..1, cols 4..5):") + 1] == "max(96, 102) = 102"
    assert out.shape == (3, 3)
    assert out[2, 2] == 98
    mean = explain.avg_pool(IMAGE, 2)
    lines = capsys.readouterr().out.splitlines()
    assert "(105 + 102 + 103 + 99) / 4 = 102.25" in lines
    np.testing.assert_array_equal(mean, [[102.25, 100.25], [99.75, 104]])


def test_dense_prints_each_unit_and_its_activation(capsys):
    x = [0.5, -1, 2]
    w = [[0.2, 0.1], [0.4, -0.3], [0.1, 0.6]]
    out = explain.dense(x, w, [0.1, -0.2], activation="relu")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "dense: 3 inputs -> 2 units; z[j] = x[0]*w[0, j] + x[1]*w[1, j] + x[2]*w[2, j]"
        " + b[j], then relu",
        "unit 0:",
        "0.5*0.2 + -1*0.4 + 2*0.1 + 0.1 = 0",  # -2.8e-17 of rounding noise prints as 0
        "relu(0) = 0",
        "unit 1:",
        "0.5*0.1 + -1*-0.3 + 2*0.6 + -0.2 = 1.35",
        "relu(1.35) = 1.35",
    ]
    np.testing.assert_allclose(out, [0, 1.35], atol=1e-15)


def test_dense_softmax_prints_the_whole_vector(capsys):
    out = explain.dense([1, 0], [[1, 2, 0], [0, 0, 0]], activation="softmax", max_steps=1)
    lines = capsys.readouterr().out.splitlines()
    e = np.exp([1.0, 2.0, 0.0])
    np.testing.assert_allclose(out, e / e.sum())
    assert (
        lines[-2]
        == "... 2 more units not shown (max_steps=1; pass max_steps=None to print every step)"
    )
    assert lines[-1] == "softmax(1, 2, 0) = exp(z) / sum(exp(z)) = (0.2447, 0.6652, 0.09003)"


def test_max_steps_max_terms_file_and_verbose(capsys):
    explain.conv2d(IMAGE, KERNEL, 1, "same", max_steps=2)
    text = capsys.readouterr().out
    assert text.count("\nout[") == 2
    assert text.splitlines()[-1].startswith("... 23 more outputs not shown (max_steps=2;")
    explain.conv2d(IMAGE, KERNEL, 1, "same", max_terms=4, max_steps=1)
    assert "0*0 + 0*-1 + 0*0 + ...5 more terms... + 99*0 = 320" in capsys.readouterr().out
    stream = io.StringIO()
    quiet = explain.conv2d(IMAGE, KERNEL, 1, "same", verbose=False)
    explain.max_pool(IMAGE, file=stream, max_steps=0)
    assert capsys.readouterr().out == ""
    assert quiet[0, 0] == 320
    assert stream.getvalue().splitlines()[-1].startswith("... 4 more outputs")


def test_tensors_and_channel_axes_are_accepted():
    image = torch.tensor(IMAGE, dtype=torch.float64, requires_grad=True)
    with_axes = explain.conv2d(
        image[..., None], np.array(KERNEL)[:, :, None, None], 1, "same", verbose=False
    )
    plain = explain.conv2d(IMAGE, KERNEL, 1, "same", verbose=False)
    assert with_axes.shape == (5, 5, 1)
    np.testing.assert_array_equal(with_axes[..., 0], plain)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: explain.conv2d([1, 2, 3], KERNEL), "received: image.shape=(3,)"),
        (lambda: explain.conv2d(IMAGE, [1, 2]), "received: kernel.shape=(2,)"),
        (
            lambda: explain.conv2d(np.zeros((5, 5, 3)), np.zeros((3, 3, 2, 4))),
            "Expected a kernel with 3 input channels to match the image, (kh, kw, 3) or "
            "(kh, kw, 3, filters), received: kernel.shape=(3, 3, 2, 4)",
        ),
        (lambda: explain.conv2d(IMAGE, KERNEL, 0), "received: stride=0"),
        (lambda: explain.conv2d(IMAGE, KERNEL, (1, 2, 3)), "received: stride=(1, 2, 3)"),
        (lambda: explain.conv2d(IMAGE, KERNEL, padding="full"), "received: padding='full'"),
        (
            lambda: explain.conv2d([[1, 2], [3, 4]], KERNEL),
            "Expected a kernel no larger than the 2x2 image with padding='valid', "
            "received: kernel_size=(3, 3)",
        ),
        (
            lambda: explain.conv2d(IMAGE, np.zeros((3, 3, 1, 2)), bias=[1, 2, 3]),
            "Expected a bias of shape (2,), one per filter, received: bias.shape=(3,)",
        ),
        (lambda: explain.conv2d(IMAGE, KERNEL, activation="softmax"), "activation='softmax'"),
        (lambda: explain.conv2d(IMAGE, KERNEL, max_steps=-1), "received: max_steps=-1"),
        (lambda: explain.conv2d(IMAGE, KERNEL, max_terms=0), "received: max_terms=0"),
        (lambda: explain.conv2d([["a"]], KERNEL), "received: image.dtype=<U1"),
        (lambda: explain.max_pool(IMAGE, pool_size=6), "received: pool_size=(6, 6)"),
        (lambda: explain.max_pool(IMAGE, stride=-1), "received: stride=-1"),
        (lambda: explain.dense([[1, 2]], [[1], [2]]), "received: x.shape=(1, 2)"),
        (
            lambda: explain.dense([1, 2], [[1, 2]]),
            "Expected weights of shape (2, units) for 2 inputs, received: weights.shape=(1, 2)",
        ),
        (lambda: explain.dense([1, 2], [[1], [2]], bias=[1, 2]), "received: bias.shape=(2,)"),
        (lambda: explain.dense([1], [[1]], activation="swishy"), "received: activation='swishy'"),
    ],
)
def test_bad_arguments_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match="^Expected ") as info:
        call()
    assert message in str(info.value)
