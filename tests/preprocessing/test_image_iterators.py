"""flow / flow_from_directory iterators: Keras Sequence semantics, class modes, subsets,
seeding, and model.fit/evaluate/predict on them (the device fast path)."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.data.adapter import DeviceSequenceData, adapt
from lamina.preprocessing.image import ImageDataGenerator
from lamina.utils.rng_utils import set_random_seed
from tests.image_folders import make_image_folder


def _indexed(n=10, h=3, w=3):
    """Images whose every pixel holds the sample's index: batches show which samples they hold."""
    return np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, h, w, 1)).copy()


def test_flow_batches_follow_the_index_order():
    x, y = _indexed(10), np.arange(10) * 2
    it = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    assert len(it) == 3
    xb, yb = it[2]
    assert xb.dtype == np.float32 and xb.shape == (2, 3, 3, 1)
    np.testing.assert_array_equal(xb[:, 0, 0, 0], [8, 9])
    np.testing.assert_array_equal(yb, [16, 18])
    with pytest.raises(IndexError, match=r"Expected a batch index in \[0, 3\)"):
        it[3]
    with pytest.raises(ValueError):  # Keras raises ValueError here
        it[-1]
    seen = [next(it)[1] for _ in range(4)]  # next() wraps around after the partial batch
    np.testing.assert_array_equal(seen[3], [0, 2, 4, 6])


def test_seeded_shuffle_is_keras_order_and_repeats():
    x = _indexed(20)
    it = ImageDataGenerator().flow(x, np.arange(20), batch_size=5, seed=7)
    order = np.concatenate([it[i][1] for i in range(len(it))])
    np.testing.assert_array_equal(order, np.random.RandomState(7).permutation(20))
    it2 = ImageDataGenerator().flow(x, np.arange(20), batch_size=5, seed=7)
    np.testing.assert_array_equal(np.concatenate([it2[i][1] for i in range(4)]), order)
    it.on_epoch_end()
    again = np.concatenate([it[i][1] for i in range(len(it))])
    assert sorted(again) == list(range(20)) and not np.array_equal(again, order)


def test_seeded_augmentation_repeats():
    x = np.random.default_rng(0).uniform(0, 255, (8, 6, 6, 3)).astype(np.float32)
    g = ImageDataGenerator(rotation_range=30, horizontal_flip=True, zoom_range=0.2)
    a = next(g.flow(x, batch_size=8, seed=3))
    b = next(g.flow(x, batch_size=8, seed=3))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, next(g.flow(x, batch_size=8, seed=4)))


def test_flow_validation_and_subset():
    x, y = _indexed(10), np.array([0, 1] * 5)
    g = ImageDataGenerator(validation_split=0.3)
    val = g.flow(x, y, shuffle=False, subset="validation")
    train = g.flow(x, y, shuffle=False, subset="training")
    assert (val.n, train.n) == (3, 7)  # Keras: the FIRST fraction is validation
    np.testing.assert_array_equal(val[0][0][:, 0, 0, 0], [0, 1, 2])
    with pytest.raises(ValueError, match="same classes in both subsets"):
        g.flow(x, np.array([0] * 3 + [1] * 7), subset="training")
    g.flow(x, np.array([0] * 3 + [1] * 7), subset="training", ignore_class_split=True)
    with pytest.raises(ValueError, match="validation_split > 0"):
        ImageDataGenerator().flow(x, y, subset="training")
    with pytest.raises(ValueError, match="x and y of the same length"):
        g.flow(x, y[:5])
    with pytest.raises(ValueError, match="rank 4"):
        g.flow(x[0])
    with pytest.raises(ValueError, match="positive int batch_size"):
        g.flow(x, y, batch_size=0)
    sw = np.arange(10, dtype=np.float32)
    xb, yb, swb = g.flow(x, y, sample_weight=sw, shuffle=False, batch_size=4)[1]
    np.testing.assert_array_equal(swb, [4, 5, 6, 7])
    assert isinstance(g.flow(x, shuffle=False)[0], np.ndarray)  # no y: x only


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_image_folder(
        tmp_path_factory.mktemp("imgs"), n_per_class=5, classes=(0, 1), broken=False
    )


@pytest.mark.parametrize("mode", ["binary", "categorical", "sparse", "input", None])
def test_flow_from_directory_class_modes(folder, mode):
    g = ImageDataGenerator(rescale=1 / 255)
    it = g.flow_from_directory(
        str(folder.root), target_size=(16, 12), class_mode=mode, batch_size=4, shuffle=False
    )
    assert it.class_indices == {"digit_0": 0, "digit_1": 1} and it.samples == it.n == 10
    assert it.filenames[0] == "digit_0/img_000.jpg" and it.filepaths[0].endswith(it.filenames[0])
    np.testing.assert_array_equal(it.classes, [0] * 5 + [1] * 5)
    batch = it[1]
    xb = batch if mode is None else batch[0]
    assert xb.shape == (4, 16, 12, 3) and xb.dtype == np.float32 and xb.max() <= 1.0
    expected = {
        "binary": np.array([0, 1, 1, 1], np.float32),
        "sparse": np.array([0, 1, 1, 1], np.float32),
        "categorical": np.eye(2, dtype=np.float32)[[0, 1, 1, 1]],
    }
    if mode in expected:
        np.testing.assert_array_equal(batch[1], expected[mode])
        assert batch[1].dtype == np.float32
    elif mode == "input":
        np.testing.assert_array_equal(batch[1], xb)


def test_flow_from_directory_subset_and_errors(folder):
    g = ImageDataGenerator(validation_split=0.4)
    val = g.flow_from_directory(str(folder.root), target_size=(8, 8), subset="validation")
    train = g.flow_from_directory(str(folder.root), target_size=(8, 8), subset="training")
    # per class, the first 40% of the sorted files are validation
    assert val.filenames == [f"digit_{c}/img_00{i}.{e}" for c, i, e in _firsts()]
    assert val.samples + train.samples == 10 and not set(val.filenames) & set(train.filenames)
    with pytest.raises(ValueError, match="class_mode in"):
        g.flow_from_directory(str(folder.root), class_mode="multi")
    with pytest.raises(ValueError, match="an existing directory"):
        g.flow_from_directory(str(folder.root / "nope"))


def _firsts():
    # make_image_folder alternates jpg/png over the files it writes (class 0 first)
    return [(0, 0, "jpg"), (0, 1, "png"), (1, 0, "png"), (1, 1, "jpg")]


def test_directory_fast_path_matches_the_numpy_batches(folder):
    g = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True)
    a = g.flow_from_directory(str(folder.root), target_size=(8, 8), batch_size=4, seed=1)
    b = g.flow_from_directory(str(folder.root), target_size=(8, 8), batch_size=4, seed=1)
    fast = list(a.device_epoch("cpu"))
    for i, (xf, yf, _) in enumerate(fast):
        xn, yn = b[i]
        np.testing.assert_allclose(xf.numpy(), xn, atol=1e-6)
        np.testing.assert_array_equal(yf.numpy(), yn)
    a.close()


def test_adapter_uses_the_fast_path_and_honours_steps():
    x, y = _indexed(10), np.arange(10)
    it = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    data = adapt(it, device="cpu", steps=2)
    assert isinstance(data, DeviceSequenceData) and len(data) == 2
    first = [yb.tolist() for _, yb, _ in data.epoch()]
    second = [yb.tolist() for _, yb, _ in data.epoch()]
    assert first == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert second == [[8, 9], [0, 1, 2, 3]]  # the stream continues into the next pass
    whole = adapt(it, device="cpu")
    assert [len(yb) for _, yb, _ in whole.epoch()] == [4, 4, 2]


def test_model_fit_on_augmented_mnist_batches_learns():
    from lamina.datasets import mnist

    (x, y), (xt, yt) = mnist.load_data()
    x, y, xt, yt = x[:1500, ..., None], y[:1500], xt[:300, ..., None], yt[:300]
    set_random_seed(0)
    train = ImageDataGenerator(rescale=1 / 255, rotation_range=10, width_shift_range=0.1)
    plain = ImageDataGenerator(rescale=1 / 255)
    model = lamina.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        train.flow(x, y, batch_size=50, seed=0),
        validation_data=plain.flow(xt, yt, batch_size=100, shuffle=False),
        epochs=3,
        verbose=0,
    )
    loss, acc = model.evaluate(plain.flow(xt, yt, batch_size=100, shuffle=False), verbose=0)
    assert acc > 0.6  # chance is 0.1
    pred = model.predict(plain.flow(xt, batch_size=64, shuffle=False), verbose=0)
    np.testing.assert_allclose(pred, model.predict(xt / 255.0, verbose=0), atol=1e-5)


def test_save_to_dir_writes_the_augmented_images(tmp_path):
    x = np.random.default_rng(0).uniform(0, 255, (3, 5, 5, 3)).astype(np.float32)
    it = ImageDataGenerator(horizontal_flip=True).flow(
        x, batch_size=3, shuffle=False, save_to_dir=str(tmp_path), save_prefix="aug"
    )
    batch = it[0]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 3 and all(f.startswith("aug_") and f.endswith(".png") for f in files)
    from PIL import Image

    first = next(p for p in tmp_path.iterdir() if p.name.startswith("aug_0_"))
    saved = np.asarray(Image.open(first), dtype=np.float32)
    b = batch[0]
    scaled = (b - b.min()) / (b.max() - b.min()) * 255  # saved with scale=True
    np.testing.assert_allclose(saved, scaled, atol=1.0)
    with pytest.raises(ValueError, match="save_to_dir an existing directory"):
        ImageDataGenerator().flow(x, save_to_dir=str(tmp_path / "missing"))


def test_binary_class_mode_needs_two_classes(tmp_path):
    make_image_folder(tmp_path, n_per_class=1, classes=(0, 1, 2), broken=False)
    with pytest.raises(ValueError, match="2 class folders for class_mode='binary'"):
        ImageDataGenerator().flow_from_directory(str(tmp_path), class_mode="binary")


def test_fit_honours_steps_per_epoch_on_an_iterator():
    class Count(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_train_batch_end(self, batch, logs=None):
            self.batches.append(batch)

    x, y = _indexed(20, 4, 4), np.arange(20) % 2
    model = lamina.Sequential(
        [layers.Input((4, 4, 1)), layers.Flatten(), layers.Dense(1, activation="sigmoid")]
    )
    model.compile("sgd", "binary_crossentropy")
    count = Count()
    it = ImageDataGenerator(rescale=0.05).flow(x, y, batch_size=4)
    passes = []
    reshuffle = it.on_epoch_end
    it.on_epoch_end = lambda: (passes.append(it.total_batches_seen), reshuffle())
    model.fit(it, epochs=2, steps_per_epoch=3, verbose=0, callbacks=[count])
    assert count.batches == [0, 1, 2, 0, 1, 2]
    # epoch 2 continued the pass epoch 1 left (5 batches per pass): one pass ended, at batch 5
    assert passes == [5] and it.total_batches_seen == 6


def test_workers_choose_in_process_or_worker_decoding_with_the_same_pixels(folder):
    g = ImageDataGenerator(rescale=1 / 255)
    kw = dict(target_size=(8, 8), batch_size=4, shuffle=False)
    inline = g.flow_from_directory(str(folder.root), workers=0, **kw)
    pooled = g.flow_from_directory(str(folder.root), workers=1, **kw)
    assert inline.folder.num_workers == 0 and pooled.folder.num_workers == 1
    for (xa, ya, _), (xb, yb, _) in zip(inline.device_epoch("cpu"), pooled.device_epoch("cpu")):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    pooled.close()
    with pytest.raises(
        ValueError, match="Expected workers None or an int >= 0, received: workers=-1"
    ):
        g.flow_from_directory(str(folder.root), workers=-1)


def test_flow_with_x_misc_passes_extra_arrays_with_each_batch():
    """Keras's flow(x=(images, x_misc)): batches are ([images, *misc], y), misc rows follow
    the same shuffle and subset as their images, and a two-input model trains on them."""
    n = 12
    x = _indexed(n, 4, 4)
    misc = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 2))  # row i holds i
    y = np.arange(n) % 2
    g = ImageDataGenerator(validation_split=0.25)
    it = g.flow((x, misc), y, batch_size=5, shuffle=True, seed=1, subset="training")
    (xb, mb), yb = it[0]
    assert mb.dtype == np.float32 and mb.shape == (5, 2)
    np.testing.assert_array_equal(mb[:, 0], xb[:, 0, 0, 0])  # the same rows as the images
    np.testing.assert_array_equal(yb, mb[:, 0].astype(int) % 2)
    assert mb[:, 0].min() >= 3  # the first 25% (rows 0-2) are the validation subset
    (xb, m1, m2), _ = g.flow((x, [misc, misc * 2]), y, batch_size=4, shuffle=False)[1]
    np.testing.assert_array_equal(m2[:, 0], 2 * np.arange(4, 8))
    with pytest.raises(ValueError, match="as long as the images"):
        g.flow((x, misc[:5]), y)

    set_random_seed(0)
    img = lamina.Input(shape=(4, 4, 1))
    extra = lamina.Input(shape=(2,))
    h = layers.Concatenate()([layers.Flatten()(img), extra])
    model = lamina.Model([img, extra], layers.Dense(2, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    hist = model.fit(ImageDataGenerator().flow((x, misc), y, batch_size=4), epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    preds = model.predict(ImageDataGenerator().flow((x, misc), batch_size=4, shuffle=False))
    want = model.predict([x, misc.astype(np.float32)], verbose=0)
    np.testing.assert_allclose(preds, want, rtol=1e-5, atol=1e-6)
