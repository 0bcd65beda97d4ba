"""ImageFolder: listing, labels, split rules, decoding of awkward files, draft mode, workers."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from image_folders import make_image_folder
from PIL import Image, JpegImagePlugin

from lamina.data.image_decode import decode_image
from lamina.data.image_folder import ImageFolder


@pytest.fixture(scope="module")
def folder_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    return make_image_folder(root, n_per_class=4, classes=(3, 7, 1))


def _open(man, **kwargs) -> ImageFolder:
    kwargs.setdefault("num_workers", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ImageFolder(man.root, **kwargs)


def test_labels_and_class_indices_match_manifest(folder_tree):
    man = folder_tree
    with pytest.warns(UserWarning) as record:
        folder = ImageFolder(man.root, target_size=(20, 24), num_workers=0)
    messages = [str(w.message) for w in record]
    assert sum(man.empty_class in m for m in messages) == 1
    text, empty, truncated = man.unreadable[1], man.unreadable[2], man.unreadable[0]
    # headers that do not read are found when the folder is made, all in one warning
    assert sum(text in m and empty in m for m in messages) == 1
    assert not any(truncated in m for m in messages)
    assert folder.bad_files == [empty, text]  # in listing order
    assert list(folder.class_indices) == man.classes
    assert folder.class_indices == {n: i for i, n in enumerate(man.classes)}
    assert folder.filenames == sorted(folder.filenames, key=lambda f: (f.split("/")[0], f))
    assert set(folder.filenames) == set(man.labels) | set(man.unreadable)
    assert not set(man.ignored) & set(folder.filenames)
    assert folder.classes.dtype == np.int64 and folder.samples == len(folder.filenames)
    with pytest.warns(UserWarning) as record:
        kept, images = folder.load(np.arange(folder.samples))
    assert [folder.filenames[i] for i in kept] == [f for f in folder.filenames if f in man.labels]
    for i in kept:
        assert folder.classes[i] == man.labels[folder.filenames[i]]
    assert images.shape == (len(kept), 20, 24, 3) and str(images.dtype) == "torch.uint8"
    assert folder.image_shape == (20, 24, 3)
    messages = [str(w.message) for w in record]  # the truncated JPEG fails the full decode
    assert len(messages) == 1 and truncated in messages[0]
    assert folder.bad_files == [empty, text, truncated]
    assert folder.readable == len(man.labels) == folder.alive.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # second time: dead rows are not decoded, no warning
        again, _ = folder.load(np.arange(folder.samples))
    assert np.array_equal(again, kept)


def test_batches_keep_order_and_drop_failed_files_with_labels(folder_tree):
    folder = _open(folder_tree, target_size=(16, 16))
    order = np.random.default_rng(1).permutation(folder.samples)
    bad = {i for i, f in enumerate(folder.filenames) if f in folder_tree.unreadable}
    with pytest.warns(UserWarning):
        out = list(folder.batches(order, 5))
    assert len(out) == -(-folder.samples // 5)
    kept = np.concatenate([k for k, _ in out])
    assert kept.tolist() == [i for i in order if i not in bad]
    assert all(len(k) == len(x) for k, x in out)
    ref_kept, ref = folder.load(kept)
    assert np.array_equal(np.concatenate([x.numpy() for _, x in out]), ref.numpy())


def test_worker_decoding_gives_in_process_pixels(folder_tree):
    folder = _open(folder_tree, target_size=(18, 22), num_workers=2)
    order = np.arange(folder.samples)[::-1].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batches = list(folder.batches(order, 4))
        batches_again = list(folder.batches(order, 7))  # persistent workers, new chunks
        kept, ref = folder.load(order)
        for i, _ in enumerate(folder.batches(order, 3)):  # abandoned mid-pass
            if i == 1:
                break
        after = list(folder.batches(order, 4))  # nothing stale from the abandoned pass
    folder.close()
    for out in (batches, batches_again, after):
        assert np.array_equal(np.concatenate([k for k, _ in out]), kept)
        assert np.array_equal(np.concatenate([x.numpy() for _, x in out]), ref.numpy())


def _pixels(man, case, **kwargs) -> np.ndarray:
    return decode_image(os.path.join(man.root, man.special[case]), **kwargs)


def test_colour_conversions(folder_tree):
    man = folder_tree
    src = man.sources
    rgba = _pixels(man, "rgba", target_size=(64, 64))  # alpha dropped, colour kept
    assert np.array_equal(rgba, src[man.special["rgba"]])
    assert _pixels(man, "rgba", target_size=(64, 64), color_mode="rgba")[..., 3].min() == 128
    sixteen = _pixels(man, "sixteen_bit", target_size=(28, 28))  # 65535 -> 255, not clipped
    assert np.array_equal(sixteen, src[man.special["sixteen_bit"]])
    assert sixteen.max() > 200
    gray = _pixels(man, "gray", target_size=(28, 28))
    assert gray.shape == (28, 28, 3) and np.array_equal(gray, src[man.special["gray"]])
    one = _pixels(man, "gray", target_size=(28, 28), color_mode="grayscale")
    assert one.shape == (28, 28, 1) and np.array_equal(one[..., 0], gray[..., 0])
    cmyk = _pixels(man, "cmyk", target_size=(64, 64)).astype(int)
    assert np.abs(cmyk - src[man.special["cmyk"]]).mean() < 4  # JPEG loss only
    four = decode_image(os.path.join(man.root, man.special["gray"]), (28, 28), "rgba")
    assert four.shape == (28, 28, 4) and (four[..., 3] == 255).all()


def test_palette_and_small_images(tmp_path, folder_tree):
    man = folder_tree
    small = _pixels(man, "small", target_size=(12, 10), interpolation="bicubic")
    ref = Image.fromarray(man.sources[man.special["small"]]).resize((10, 12), Image.BICUBIC)
    assert np.array_equal(small, np.asarray(ref))  # upscaled with the requested filter
    rgb = man.sources[man.special["cmyk"]]
    pal = Image.fromarray(rgb).quantize(16)
    pal.save(tmp_path / "p.png", transparency=0)
    got = decode_image(tmp_path / "p.png", (64, 64))
    assert np.array_equal(got, np.asarray(pal.convert("RGB")))


def test_nearest_and_crop_match_pillow_reference(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(30, 50, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    got = decode_image(tmp_path / "a.png", (10, 10), interpolation="nearest", fit="crop")
    crop = arr[:, 10:40]  # Keras: crop_width = 30 * 10 // 10, centred at (50 - 30) // 2
    ref = Image.fromarray(crop).resize((10, 10), Image.NEAREST)
    assert np.array_equal(got, np.asarray(ref))
    padded = decode_image(tmp_path / "a.png", (25, 25), interpolation="nearest", fit="pad")
    canvas = np.zeros((50, 50, 3), np.uint8)
    canvas[10:40] = arr
    ref = Image.fromarray(canvas).resize((25, 25), Image.NEAREST)
    assert np.array_equal(padded, np.asarray(ref))


def test_draft_mode_for_big_jpegs_only(tmp_path, monkeypatch):
    calls = []
    real = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        calls.append((self.size, size))
        return real(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    gray = np.asarray(Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (256, 1))))
    big = Image.fromarray(gray).resize((640, 480)).convert("RGB")
    big.save(tmp_path / "big.jpg", quality=95)
    out = decode_image(tmp_path / "big.jpg", (48, 64), interpolation="bilinear")
    assert calls == [((640, 480), (64, 48))]
    full = np.asarray(big.resize((64, 48), Image.BILINEAR)).astype(int)
    assert np.abs(out.astype(int) - full).mean() < 3
    calls.clear()
    decode_image(tmp_path / "big.jpg", (300, 400))  # less than 2x smaller: full decode
    assert calls == []
    cropped = decode_image(tmp_path / "big.jpg", (64, 64), fit="crop")
    assert calls and min(calls[0][1]) >= 64 and cropped.shape == (64, 64, 3)


def test_split_per_class_first_fraction_is_validation(folder_tree):
    man = folder_tree
    whole = _open(man)
    val = _open(man, validation_split=0.3, subset="validation")
    train = _open(man, validation_split=0.3, subset="training")
    expected_val = []
    for c in range(len(man.classes)):
        files = [f for f, label in zip(whole.filenames, whole.classes) if label == c]
        expected_val += files[: int(0.3 * len(files))]
    assert val.filenames == expected_val
    assert train.filenames == [f for f in whole.filenames if f not in expected_val]
    assert val.class_indices == train.class_indices == whole.class_indices


def test_split_shuffled_last_fraction_is_validation(folder_tree):
    man = folder_tree
    whole = _open(man)
    perm = list(whole.filenames)
    np.random.RandomState(5).shuffle(perm)  # Keras's index_directory
    n_val = int(0.25 * len(perm))
    for subset, expected in (("validation", perm[-n_val:]), ("training", perm[:-n_val])):
        part = _open(man, validation_split=0.25, subset=subset, split="shuffled", seed=5)
        assert [part.filenames[i] for i in part.shuffled_order] == expected
        for f, label in zip(part.filenames, part.classes):
            assert whole.classes[whole.filenames.index(f)] == label


def test_errors_name_the_directory(tmp_path):
    with pytest.raises(ValueError, match="no such directory"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="a file"):
        ImageFolder(tmp_path / "file")
    (tmp_path / "flat").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(ValueError, match="Expected class subfolders.*flat"):
        ImageFolder(tmp_path / "flat")
    (tmp_path / "none" / "cats").mkdir(parents=True)
    (tmp_path / "none" / "cats" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match=r"Expected image files.*none.*0 images"):
        ImageFolder(tmp_path / "none")
    with pytest.raises(ValueError, match="missing"):
        ImageFolder(tmp_path / "flat", classes=["dogs"])
    with pytest.raises(ValueError, match="color_mode"):
        ImageFolder(tmp_path / "none", color_mode="cmyk")


def test_empty_subset_and_labels_from_root(tmp_path):
    for i in range(3):
        (tmp_path / "a" / "deep").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4), (i, 0, 0)).save(tmp_path / "a" / "deep" / f"{i}.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "top.png")
    with pytest.raises(ValueError, match="'validation' subset"):
        ImageFolder(tmp_path, validation_split=0.2, subset="validation", num_workers=0)
    flat = ImageFolder(tmp_path, labels_from_folders=False, num_workers=0)
    assert flat.filenames == ["top.png", "a/deep/0.png", "a/deep/1.png", "a/deep/2.png"]
    assert flat.samples == 4 and flat.class_indices == {}


def test_follow_links_and_formats(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "elsewhere").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "c" / "a.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "elsewhere" / "b.bmp")
    Image.new("RGB", (4, 4)).save(tmp_path / "c" / "d.gif")
    os.symlink(tmp_path / "elsewhere", tmp_path / "c" / "linked")
    root = tmp_path
    kw = {"classes": ["c"], "num_workers": 0}
    assert ImageFolder(root, **kw).filenames == ["c/a.png", "c/d.gif"]
    assert ImageFolder(root, follow_links=True, **kw).filenames == [
        "c/a.png",
        "c/d.gif",
        "c/linked/b.bmp",
    ]
    assert ImageFolder(root, formats=("png",), **kw).filenames == ["c/a.png"]
