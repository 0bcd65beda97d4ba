"""flow_from_dataframe: labels come from the table (not the folders), Keras's class modes,
file validation, subsets, sample weights, and model.fit on the iterator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lamina
from lamina import layers
from lamina.preprocessing.image import ImageDataGenerator
from tests.image_folders import make_image_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_image_folder(
        tmp_path_factory.mktemp("df"), n_per_class=6, classes=(0, 1, 2), broken=True
    )


def _table(folder, rows=None):
    """A shuffled table of the decodable files: a label name unrelated to the folder order."""
    names = sorted(folder.labels)
    rng = np.random.default_rng(3)
    names = [names[i] for i in rng.permutation(len(names))] if rows is None else rows
    relabel = {0: "zero", 1: "one", 2: "two", 3: "three"}
    return pd.DataFrame(
        {
            "file": names,
            "label": [relabel[folder.labels[n]] for n in names],
            "score": [float(folder.labels[n]) * 0.5 for n in names],
            "w": np.linspace(0.5, 2.0, len(names)),
        }
    )


def test_labels_follow_the_table_and_pixels_match_flow_from_directory(folder):
    df = _table(folder)
    g = ImageDataGenerator(rescale=1 / 255)
    it = g.flow_from_dataframe(
        df, str(folder.root), x_col="file", y_col="label", target_size=(12, 10), shuffle=False,
        batch_size=5,
    )  # fmt: skip
    assert it.class_indices == {n: i for i, n in enumerate(sorted(set(df["label"])))}
    assert it.filenames == list(df["file"]) and it.samples == len(df) == len(it.classes)
    want = [it.class_indices[v] for v in df["label"]]
    np.testing.assert_array_equal(it.classes, want)
    x, y = it[1]
    np.testing.assert_array_equal(y, np.eye(len(it.class_indices))[want[5:10]])
    with pytest.warns(UserWarning) as record:  # the folder's bad files and its empty class
        d = g.flow_from_directory(str(folder.root), target_size=(12, 10), shuffle=False)
    notes = " ".join(str(w.message) for w in record)
    assert "Skipping 2 unreadable image file(s)" in notes and "empty=" in notes, notes
    for j, name in enumerate(it.filenames[5:10]):
        k = d.folder.filenames.index(name)
        raw = d.folder.load([k])[1][0].numpy()  # the same file, decoded by the folder reader
        np.testing.assert_allclose(x[j], raw / 255, atol=1e-6)
    assert it.filepaths[0].endswith(it.filenames[0])


def test_invalid_filenames_are_dropped_with_one_warning(folder, tmp_path):
    df = _table(folder)
    extra = pd.DataFrame(
        {"file": ["missing.jpg", folder.ignored[0]], "label": ["one", "two"], "score": [0, 0]}
    )
    with pytest.warns(UserWarning, match="2 invalid filename"):
        it = ImageDataGenerator().flow_from_dataframe(
            pd.concat([df, extra]), str(folder.root), x_col="file", y_col="label"
        )
    assert it.samples == len(df)
    # absolute paths with directory=None; a dict of columns works as a table
    table = {"filename": [str(folder.root / n) for n in df["file"][:4]], "class": ["a", "b"] * 2}
    it = ImageDataGenerator().flow_from_dataframe(table, class_mode="sparse", shuffle=False)
    assert it.class_indices == {"a": 0, "b": 1} and it.samples == 4
    np.testing.assert_array_equal(it[0][1], [0, 1, 0, 1])


def test_unreadable_files_without_validation_are_skipped_with_their_rows(folder):
    names = [folder.unreadable[0], *sorted(folder.labels)[:3]]
    df = pd.DataFrame({"filename": names, "class": ["x", "y", "y", "x"]})
    it = ImageDataGenerator().flow_from_dataframe(
        df, str(folder.root), target_size=(8, 8), class_mode="sparse", validate_filenames=False,
        shuffle=False,
    )  # fmt: skip
    with pytest.warns(UserWarning, match="unreadable image"):
        x, y = it[0]
    assert x.shape[0] == 3
    np.testing.assert_array_equal(y, [1, 1, 0])  # the broken file's label went with it


@pytest.mark.parametrize("mode", ["raw", "multi_output", "binary", "sparse", "input", None])
def test_class_modes(folder, mode):
    names = sorted(folder.labels)[::3][:8]
    df = _table(folder, names)
    df["pair"] = ["one" if folder.labels[n] else "zero" for n in names]
    y_col = {"raw": ["score", "w"], "multi_output": ["score", "w"]}.get(mode, "pair")
    it = ImageDataGenerator().flow_from_dataframe(
        df, str(folder.root), x_col="file", y_col=y_col, class_mode=mode, target_size=(8, 8),
        shuffle=False, batch_size=4,
    )  # fmt: skip
    batch = it[1]
    if mode is None:
        assert batch.shape == (4, 8, 8, 3)
        return
    x, y = batch
    if mode == "raw":
        np.testing.assert_allclose(y, df[["score", "w"]].to_numpy()[4:8], rtol=1e-6)
    elif mode == "multi_output":
        assert isinstance(y, list) and len(y) == 2
        np.testing.assert_allclose(y[1], df["w"].to_numpy()[4:8], rtol=1e-6)
    elif mode == "input":
        np.testing.assert_array_equal(y, x)
    else:
        want = [it.class_indices[v] for v in df["pair"][4:8]]
        np.testing.assert_array_equal(y, want)


def test_multi_label_rows_and_a_classes_filter(folder):
    names = sorted(folder.labels)[:4]
    df = pd.DataFrame({"filename": names, "class": [["a", "b"], ["c"], ("b",), ["d", "c"]]})
    it = ImageDataGenerator().flow_from_dataframe(
        df, str(folder.root), target_size=(8, 8), shuffle=False
    )
    assert it.class_indices == {"a": 0, "b": 1, "c": 2, "d": 3}
    np.testing.assert_array_equal(
        it[0][1], [[1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1]]
    )
    it = ImageDataGenerator().flow_from_dataframe(
        df, str(folder.root), target_size=(8, 8), shuffle=False, classes=["b", "d"]
    )
    assert it.samples == 3  # the row labelled only 'c' has no class left
    np.testing.assert_array_equal(it[0][1], [[1, 0], [1, 0], [0, 1]])


def test_subset_takes_the_first_rows_for_validation_and_weights_follow(folder):
    df = _table(folder)
    g = ImageDataGenerator(validation_split=0.25)
    kw = dict(directory=str(folder.root), x_col="file", y_col="label", weight_col="w")
    val = g.flow_from_dataframe(df, subset="validation", shuffle=False, **kw)
    train = g.flow_from_dataframe(df, subset="training", shuffle=False, **kw)
    cut = int(0.25 * len(df))
    assert val.filenames == list(df["file"][:cut]) and train.filenames == list(df["file"][cut:])
    x, y, w = train[0]
    np.testing.assert_allclose(w, df["w"].to_numpy()[cut : cut + len(w)], rtol=1e-6)


def test_bad_tables_get_clear_errors(folder):
    g = ImageDataGenerator()
    df = _table(folder)
    with pytest.raises(ValueError, match="x_col to name a column"):
        g.flow_from_dataframe(df, str(folder.root))
    with pytest.raises(ValueError, match="2 classes for class_mode='binary'"):
        g.flow_from_dataframe(
            df, str(folder.root), x_col="file", y_col="label", class_mode="binary"
        )
    with pytest.raises(TypeError, match="to be a string"):
        g.flow_from_dataframe(
            df, str(folder.root), x_col="file", y_col="score", class_mode="sparse"
        )
    with pytest.raises(TypeError, match="Expected numeric values in y_col='label'"):
        g.flow_from_dataframe(df, str(folder.root), x_col="file", y_col="label", class_mode="raw")
    with pytest.raises(ValueError, match="a pandas DataFrame or a dict"):
        g.flow_from_dataframe([("a.jpg", "x")], str(folder.root))
    with pytest.raises(ValueError, match="directory None or an existing folder"):
        g.flow_from_dataframe(df, str(folder.root / "nope"), x_col="file", y_col="label")


def test_fit_on_a_dataframe_iterator_with_sample_weights(folder):
    df = _table(folder)
    it = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True).flow_from_dataframe(
        df, str(folder.root), x_col="file", y_col="label", weight_col="w", target_size=(16, 16),
        batch_size=8, seed=0,
    )  # fmt: skip
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [layers.Flatten(input_shape=(16, 16, 3)), layers.Dense(len(it.class_indices), "softmax")]
    )
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    hist = model.fit(it, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()
    pred = model.predict(
        ImageDataGenerator(rescale=1 / 255).flow_from_dataframe(
            df, str(folder.root), x_col="file", y_col=None, class_mode=None,
            target_size=(16, 16), shuffle=False,
        ),
        verbose=0,
    )  # fmt: skip
    assert pred.shape == (len(df), len(it.class_indices))
