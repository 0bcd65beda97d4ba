"""timeseries_dataset_from_array against Keras 3 itself (torch backend; Keras builds these
datasets with grain when TensorFlow is absent): the same windows, targets and batches
without shuffling; a seeded shuffle is a permutation and repeats; a fit on it learns."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

from lamina.utils import timeseries_dataset_from_array
from lamina.utils.timeseries_dataset import TimeseriesDataset

keras = pytest.importorskip("keras")
pytest.importorskip("grain")


def keras_batches(data, targets, **kwargs) -> list:
    ds = keras.utils.timeseries_dataset_from_array(data, targets, format="grain", **kwargs)
    return [tuple(np.asarray(t) for t in b) if isinstance(b, tuple) else np.asarray(b) for b in ds]


def lamina_batches(data, targets, **kwargs) -> list:
    ds = timeseries_dataset_from_array(data, targets, **kwargs)
    batches = list(ds)
    assert len(batches) == len(ds)
    return [tuple(t.numpy() for t in b) if isinstance(b, tuple) else b.numpy() for b in batches]


def assert_same(ours: list, theirs: list) -> None:
    """Equal batches. Keras's torch backend stacks float64 as float32 (its tf.data path keeps
    float64, as Lamina does), so ours are cast to Keras's dtype first."""
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        pairs = zip(a, b) if isinstance(b, tuple) else [(a, b)]
        assert isinstance(a, tuple) == isinstance(b, tuple)
        for x, y in pairs:
            assert x.shape == y.shape
            np.testing.assert_array_equal(x.astype(y.dtype), y)


SERIES = np.arange(200 * 3, dtype=np.float32).reshape(200, 3) / 7.0
CASES = [
    dict(sequence_length=10),
    dict(sequence_length=10, sampling_rate=2, sequence_stride=3, batch_size=16),
    dict(sequence_length=7, sequence_stride=5, batch_size=4, start_index=13, end_index=150),
    dict(sequence_length=1, batch_size=32, start_index=1),
    dict(sequence_length=20, sampling_rate=3, batch_size=7, end_index=120),
    dict(sequence_length=5, sequence_stride=199, batch_size=3),
]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_same_windows_targets_and_batches_as_keras(kwargs):
    targets = np.arange(200, dtype=np.int64) * 10
    assert_same(lamina_batches(SERIES, targets, **kwargs), keras_batches(SERIES, targets, **kwargs))
    assert_same(lamina_batches(SERIES, None, **kwargs), keras_batches(SERIES, None, **kwargs))


def test_next_step_regression_as_keras_docstring():
    """Keras's example 2: windows of 10 steps predict step 10; 1-D data gives (batch, 10)."""
    data = np.sin(np.arange(300) / 9.0)
    kwargs = dict(sequence_length=10, batch_size=64)
    ours = lamina_batches(data[:-10], data[10:], **kwargs)
    assert_same(ours, keras_batches(data[:-10], data[10:], **kwargs))
    x, y = ours[0]
    assert x.dtype == np.float64 and x.shape == (64, 10)
    np.testing.assert_array_equal(x[0], data[:10])
    assert y[0] == data[10] and y[5] == data[15]


def test_targets_shorter_than_data_limit_the_windows():
    targets = np.arange(50)
    kwargs = dict(sequence_length=4, sequence_stride=2, batch_size=8)
    ours = lamina_batches(SERIES, targets, **kwargs)
    assert_same(ours, keras_batches(SERIES, targets, **kwargs))
    assert sum(len(b[1]) for b in ours) == 25  # starts 0, 2, ..., 48


def test_unbatched_yields_single_windows():
    kwargs = dict(sequence_length=6, sampling_rate=2, batch_size=None, start_index=3)
    targets = np.arange(200.0)
    ds = timeseries_dataset_from_array(SERIES, targets, **kwargs)
    ours = [(x.numpy(), y.numpy()) for x, y in ds]
    assert len(ours) == len(ds) == ds.num_windows == 200 - 3 - 10
    stacked = keras_batches(SERIES, targets, **{**kwargs, "batch_size": 1000})[0]
    np.testing.assert_array_equal(np.stack([x for x, _ in ours]), stacked[0])
    np.testing.assert_array_equal(np.stack([y for _, y in ours]), stacked[1])
    assert [
        w.shape for w in itertools.islice(timeseries_dataset_from_array(SERIES, None, **kwargs), 2)
    ] == [torch.Size([6, 3])] * 2


def test_torch_and_list_inputs():
    ds = timeseries_dataset_from_array(torch.arange(30.0), list(range(30)), 5, batch_size=100)
    ((x, y),) = list(ds)
    assert x.shape == (26, 5) and x.dtype == torch.float32 and y.tolist() == list(range(26))
    torch.testing.assert_close(x[3], torch.arange(3.0, 8.0))


def test_shuffle_is_a_seeded_permutation():
    targets = np.arange(200)
    kwargs = dict(sequence_length=8, sequence_stride=2, batch_size=10, shuffle=True)

    def epochs(seed, n=3):
        ds = timeseries_dataset_from_array(SERIES, targets, seed=seed, **kwargs)
        return [[(x.numpy(), y.numpy()) for x, y in ds] for _ in range(n)]

    first, again, other = epochs(1), epochs(1), epochs(2)
    plain = lamina_batches(SERIES, targets, **{**kwargs, "shuffle": False})
    by_target = {int(t): w for x, y in plain for w, t in zip(x, y)}
    for epoch, same in zip(first, again):
        for (x, y), (x2, y2) in zip(epoch, same):  # the same seed: the same epochs
            np.testing.assert_array_equal(x, x2)
            np.testing.assert_array_equal(y, y2)
        seen = np.concatenate([y for _, y in epoch])
        assert sorted(seen.tolist()) == sorted(by_target)  # every window once
        assert seen.tolist() != sorted(seen.tolist())  # in a shuffled order
        for x, y in epoch:  # each window keeps its own target
            for w, t in zip(x, y):
                np.testing.assert_array_equal(w, by_target[int(t)])
    order = lambda e: np.concatenate([y for _, y in e]).tolist()  # noqa: E731
    assert order(first[0]) != order(first[1])  # a fresh order every pass
    assert order(first[0]) != order(other[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(sequence_length=0),
            "sequence_length to be an integer >= 1, received: sequence_length=0",
        ),
        (dict(sequence_length=2.5), "sequence_length=2.5"),
        (dict(sequence_length=5, sampling_rate=0), "sampling_rate=0"),
        (
            dict(sequence_length=5, sampling_rate=20),
            "sampling_rate lower than the length of the data \\(20\\)",
        ),
        (dict(sequence_length=5, sequence_stride=20), "sequence_stride lower than"),
        (dict(sequence_length=5, batch_size=0), "batch_size to be an integer >= 1 or None"),
        (dict(sequence_length=5, start_index=-1), "start_index=-1"),
        (dict(sequence_length=5, start_index=20), "start_index lower than"),
        (dict(sequence_length=5, end_index=20), "end_index lower than"),
        (dict(sequence_length=5, end_index=0), "end_index to be an integer >= 1"),
        (dict(sequence_length=5, start_index=8, end_index=8), "end_index higher than start_index"),
        (dict(sequence_length=21), "at least one window of sequence_length=21"),
        (dict(sequence_length=5, sampling_rate=5), "sampling_rate=5 apart \\(21 steps\\)"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timeseries_dataset_from_array(np.zeros((20, 2)), None, **kwargs)


def test_bad_data_and_targets():
    with pytest.raises(TypeError, match="numeric array for data, received: data.dtype=<U1"):
        timeseries_dataset_from_array(np.array(list("abcdef")), None, 2)
    with pytest.raises(ValueError, match="time axis"):
        timeseries_dataset_from_array(np.float32(3.0), None, 2)
    with pytest.raises(ValueError, match=r"a target for it \(len\(targets\)=0\)"):
        timeseries_dataset_from_array(np.zeros(20), np.zeros(0), 2)
    with pytest.raises(ValueError, match=r"last starts at index 14.*len\(targets\)=12"):
        timeseries_dataset_from_array(np.zeros(20), np.zeros(12), 2, start_index=3)


def test_fit_learns_from_windows():
    import lamina
    from lamina import layers

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=600)).astype(np.float32)
    series = (series - series.mean()) / series.std()
    window = 8
    # the next value is (nearly) a linear function of the window: a Dense model fits it
    train = timeseries_dataset_from_array(
        series[:-window],
        series[window:],
        window,
        batch_size=32,
        shuffle=True,
        seed=0,
        end_index=450,
    )
    test = timeseries_dataset_from_array(
        series[:-window], series[window:], window, batch_size=64, start_index=450
    )
    assert isinstance(train, TimeseriesDataset)
    model = lamina.Sequential([layers.Input((window,)), layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="mse")
    before = model.evaluate(test, verbose=0)
    history = model.fit(train, epochs=15, verbose=0)
    after = model.evaluate(test, verbose=0)
    naive = np.mean([np.mean((x[:, -1].numpy() - y.numpy()) ** 2) for x, y in test])
    assert len(history.history["loss"]) == 15
    assert after < before / 10 and after < 2 * naive  # a random walk: naive is optimal
    preds = model.predict(test, verbose=0)
    assert preds.shape == (test.num_windows, 1)
