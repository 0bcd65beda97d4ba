"""Files that cannot be decoded never misalign what an iterator says with what it yields.

Every image of a test folder is one flat grey value, distinct per file, and the model
returns each image's mean pixel, so `zip(filenames, model.predict(iterator))` shows
whether each prediction sits next to its own file. One file is bad: either its header
is garbage (found when the iterator is made) or it is a JPEG cut in half (passes the
header probe, fails the full decode during the first pass).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lamina
from lamina import layers
from lamina.preprocessing.image import ImageDataGenerator
from lamina.utils import image_dataset_from_directory

N_FILES = 13
SIZE = (8, 8)
BATCH = 4
POSITIONS = {"first": 0, "middle": 6, "last": N_FILES - 1}
ENTRIES = ("flow_from_directory", "flow_from_dataframe", "image_dataset_from_directory")


def _value(i: int) -> int:
    return 10 + 15 * i  # 10 .. 190: one grey level per file


def write_folder(root: Path, bad_at: int | None, kind: str = "garbage", classes: int = 1):
    """root/<class>/img_XX.{png,jpg}; returns ({relative name: grey value}, bad relative name).

    With several classes, file i goes to class i % classes (the value still names the file).
    """
    rng = np.random.default_rng(bad_at)
    values, bad = {}, None
    for i in range(N_FILES):
        folder = root / f"class_{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        if i == bad_at:
            path = folder / f"img_{i:02d}.jpg"
            if kind == "garbage":  # no image format recognises this header
                path.write_bytes(rng.integers(0, 256, 600, dtype=np.uint8).tobytes())
            else:  # a valid JPEG cut in half: its header reads, its pixels do not
                noisy = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
                Image.fromarray(noisy).save(path, quality=95)
                path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
            bad = str(path.relative_to(root))
            continue
        ext = "png" if i % 2 else "jpg"  # a flat grey JPEG decodes to exactly its value
        path = folder / f"img_{i:02d}.{ext}"
        Image.new("RGB", (12, 10), (_value(i),) * 3).save(path)
        values[str(path.relative_to(root))] = _value(i)
    return values, bad


def _mean_model() -> lamina.Sequential:
    """Each image's mean pixel, per channel."""
    return lamina.Sequential([layers.Input((*SIZE, 3)), layers.GlobalAveragePooling2D()])


def _open(entry: str, root: Path, names: list[str], **kwargs):
    """The entry point on `root`, unshuffled, without labels."""
    kwargs.setdefault("workers", 0)
    if entry == "image_dataset_from_directory":
        return image_dataset_from_directory(
            root, labels=None, image_size=SIZE, batch_size=BATCH, shuffle=False, **kwargs
        )
    gen = ImageDataGenerator()
    common = dict(target_size=SIZE, batch_size=BATCH, shuffle=False, class_mode=None)
    if entry == "flow_from_directory":
        return gen.flow_from_directory(str(root), **common, **kwargs)
    table = {"filename": list(names)}
    return gen.flow_from_dataframe(table, str(root), **common, **kwargs)


def _names(entry: str, it, root: Path) -> list[str]:
    """What the iterator says it yields, as paths relative to root."""
    if entry == "image_dataset_from_directory":
        return [os.path.relpath(p, root) for p in it.file_paths]
    return list(it.filenames)


def _bad(entry: str, it, root: Path) -> list[str]:
    if entry == "image_dataset_from_directory":
        return [os.path.relpath(p, root) for p in it.bad_files]
    return list(it.bad_files)


def _check_aligned(entry: str, it, root: Path, values: dict, bad: str, preds) -> None:
    names = _names(entry, it, root)
    assert names == sorted(values)  # the good files, in listing order
    assert len(preds) == len(names) == N_FILES - 1
    for name, pred in zip(names, preds):
        np.testing.assert_allclose(pred, values[name], atol=1.0, err_msg=name)
    assert _bad(entry, it, root) == [bad]
    assert len(it) == math.ceil((N_FILES - 1) / BATCH)
    if entry == "image_dataset_from_directory":
        return
    assert it.n == it.samples == N_FILES - 1
    assert len(it.filepaths) == N_FILES - 1
    if entry == "flow_from_directory":  # flow_from_dataframe has no classes without labels
        assert len(it.classes) == len(it.labels) == N_FILES - 1
    assert [os.path.relpath(p, root) for p in it.filepaths] == names


def _warnings_naming(record, bad: str) -> int:
    return sum(os.path.basename(bad) in str(w.message) for w in record)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("kind", ["garbage", "truncated"])
@pytest.mark.parametrize("where", list(POSITIONS))
@pytest.mark.parametrize("entry", ENTRIES)
def test_predictions_line_up_with_filenames(tmp_path, entry, where, kind, workers):
    values, bad = write_folder(tmp_path, POSITIONS[where], kind)
    model = _mean_model()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        it = _open(entry, tmp_path, sorted([*values, bad]), workers=workers)
        preds = model.predict(it, verbose=0)
        _check_aligned(entry, it, tmp_path, values, bad, preds)
        again = model.predict(it, verbose=0)  # a second pass: same rows, no new warning
    np.testing.assert_array_equal(again, preds)
    assert _warnings_naming(record, bad) == 1
    _check_aligned(entry, it, tmp_path, values, bad, again)


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
@pytest.mark.parametrize("where", list(POSITIONS))
@pytest.mark.parametrize("entry", ENTRIES)
def test_cached_predictions_line_up_with_filenames(tmp_path, entry, where, kind):
    root = tmp_path / "images"
    values, bad = write_folder(root, POSITIONS[where], kind)
    names = sorted([*values, bad])
    cache = tmp_path / "cache"
    model = _mean_model()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        filling = _open(entry, root, names, cache=cache)
        preds = model.predict(filling, verbose=0)  # decodes and fills the cache
        _check_aligned(entry, filling, root, values, bad, preds)
        assert filling.folder.cache.complete
        cached = _open(entry, root, names, cache=cache)
        # the cache remembers the bad file: it is dropped before anything is yielded
        assert _names(entry, cached, root) == sorted(values)
        assert _bad(entry, cached, root) == [bad]
        again = model.predict(cached, verbose=0)  # read from the cache
    assert _warnings_naming(record, bad) == 2  # once per iterator
    _check_aligned(entry, cached, root, values, bad, again)
    np.testing.assert_array_equal(again, preds)


@pytest.mark.parametrize("entry", ENTRIES[:2])
def test_keras_style_batch_loops_stay_aligned(tmp_path, entry):
    """`it[i]` for i in range(len(it)) and next(it): the epoch's batches are fixed when it
    starts (a bad file found during it leaves a short batch), then len() follows."""
    values, bad = write_folder(tmp_path, POSITIONS["middle"], "truncated")
    names = sorted([*values, bad])
    with pytest.warns(UserWarning, match=os.path.basename(bad)):
        it = _open(entry, tmp_path, names)
        assert len(it) == math.ceil(N_FILES / BATCH) and it.n == N_FILES  # not yet known
        batches = [it[i] for i in range(len(it))]  # no IndexError mid-epoch
    assert [len(b) for b in batches] == [4, 3, 4, 1]  # img_06 was in the second batch
    assert it.n == N_FILES - 1 and it.bad_files == [bad]
    means = np.concatenate(batches).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(means, [values[f] for f in it.filenames], atol=1.0)
    it.on_epoch_end()
    assert len(it) == 3
    means = np.concatenate([next(it) for _ in range(3)]).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(means, [values[f] for f in it.filenames], atol=1.0)


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
@pytest.mark.parametrize("entry", ENTRIES[:2])
def test_labels_stay_with_their_images_when_shuffled(tmp_path, entry, kind):
    values, bad = write_folder(tmp_path, POSITIONS["middle"], kind, classes=3)
    gen = ImageDataGenerator()
    kw = dict(target_size=SIZE, batch_size=BATCH, class_mode="sparse", seed=3, workers=0)
    with pytest.warns(UserWarning, match=os.path.basename(bad)):
        if entry == "flow_from_directory":
            it = gen.flow_from_directory(str(tmp_path), **kw)
        else:
            table = {"filename": sorted([*values, bad])}
            table["class"] = [f.split("/")[0] for f in table["filename"]]
            it = gen.flow_from_dataframe(table, str(tmp_path), **kw)
        seen = [(x.numpy(), y.numpy()) for x, y, _ in it.device_epoch("cpu")]
    grey_to_class = {v: int(f.split("/")[0][-1]) for f, v in values.items()}
    x = np.concatenate([b[0] for b in seen]).mean(axis=(1, 2, 3))
    y = np.concatenate([b[1] for b in seen])
    assert len(x) == N_FILES - 1 and sorted(np.rint(x)) == sorted(values.values())
    assert [grey_to_class[int(round(v))] for v in x] == y.astype(int).tolist()
    assert list(it.classes) == [int(f.split("/")[0][-1]) for f in it.filenames]
    assert list(it.labels) == list(it.classes) and it.bad_files == [bad]


def test_a_batch_of_only_bad_files_is_skipped(tmp_path):
    values, bad = write_folder(tmp_path, POSITIONS["middle"], "truncated")
    with pytest.warns(UserWarning, match=os.path.basename(bad)):
        it = ImageDataGenerator().flow_from_directory(
            str(tmp_path), target_size=SIZE, batch_size=1, shuffle=False, class_mode=None,
            workers=0,
        )  # fmt: skip
        preds = _mean_model().predict(it, verbose=0)
    assert len(preds) == len(it.filenames) == len(it) == N_FILES - 1
    np.testing.assert_allclose(preds[:, 0], [values[f] for f in it.filenames], atol=1.0)


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
@pytest.mark.parametrize("entry", ENTRIES)
def test_on_bad_file_raise_names_the_file(tmp_path, entry, kind):
    values, bad = write_folder(tmp_path, POSITIONS["middle"], kind)
    names = sorted([*values, bad])
    match = rf"Expected a readable image file, received: path='[^']*{os.path.basename(bad)}'"
    with pytest.raises(ValueError, match=match):
        it = _open(entry, tmp_path, names, on_bad_file="raise")
        assert kind == "truncated"  # a garbage header is refused when the iterator is made
        _mean_model().predict(it, verbose=0)


@pytest.mark.parametrize("entry", ENTRIES)
def test_on_bad_file_accepts_only_skip_or_raise(tmp_path, entry):
    values, _ = write_folder(tmp_path, None)
    with pytest.raises(
        ValueError, match=r"Expected on_bad_file 'skip' or 'raise', received: on_bad_file='ignore'"
    ):
        _open(entry, tmp_path, sorted(values), on_bad_file="ignore")


def test_image_dataset_from_directory_takes_workers(tmp_path):
    values, _ = write_folder(tmp_path, None)
    with pytest.raises(ValueError, match="Expected workers None or an int >= 0"):
        _open("image_dataset_from_directory", tmp_path, sorted(values), workers=-1)
    ds = _open("image_dataset_from_directory", tmp_path, sorted(values), workers=2)
    assert ds.folder.num_workers == 2 and ds.bad_files == []
    preds = _mean_model().predict(ds, verbose=0)
    names = _names("image_dataset_from_directory", ds, tmp_path)
    np.testing.assert_allclose(preds[:, 0], [values[f] for f in names], atol=1.0)
