"""The memmap image cache: reuse without decoding, invalidation, atomic fill, disk budget."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from image_folders import make_image_folder
from PIL import Image

from lamina.data import image_cache, image_loader
from lamina.data.image_folder import ImageFolder


@pytest.fixture
def tree(tmp_path):
    return make_image_folder(tmp_path / "data", n_per_class=3, classes=(4, 2))


@pytest.fixture
def decode_calls(monkeypatch):
    """Count decode_image calls made in this process (num_workers=0)."""
    calls = []
    real = image_loader.decode_image

    def counting(path, *args, **kwargs):
        calls.append(os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(image_loader, "decode_image", counting)
    return calls


def _folder(root, cache, **kwargs) -> ImageFolder:
    kwargs.setdefault("num_workers", 0)
    kwargs.setdefault("target_size", (16, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ImageFolder(root, cache=cache, **kwargs)


def _epoch(folder: ImageFolder, seed: int = 0, batch_size: int = 4):
    order = np.random.default_rng(seed).permutation(folder.samples)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = list(folder.batches(order, batch_size))
    kept = np.concatenate([k for k, _ in out])
    images = np.concatenate([x.numpy() for _, x in out])
    return kept, images, [str(w.message) for w in record]


def test_second_pass_and_next_run_read_the_cache(tree, tmp_path, decode_calls, monkeypatch):
    where = tmp_path / "cache"
    folder = _folder(tree.root, where)
    kept, images, _ = _epoch(folder)
    # every file once, except those whose header did not read when the folder was made
    probed_out = [f for f in tree.unreadable if "truncated" not in f]
    assert sorted(folder.bad_files[: len(probed_out)]) == sorted(probed_out)
    assert len(decode_calls) == folder.samples - len(probed_out)
    assert folder.cache.complete
    assert sorted(p.suffix for p in where.iterdir()) == [".json", ".u8"]
    data = next(where.glob("*.u8"))
    assert data.stat().st_size == folder.samples * 16 * 16 * 3
    decode_calls.clear()
    kept2, images2, _ = _epoch(folder, seed=1)
    assert decode_calls == []
    ref_kept, ref = folder.load(kept2)
    assert np.array_equal(ref_kept, kept2) and np.array_equal(images2, ref.numpy())
    kept2, images2, messages = _epoch(folder, seed=1)
    assert not messages  # each bad file is reported once per folder
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        later = ImageFolder(tree.root, cache=where, num_workers=0, target_size=(16, 16))
    assert later.cache.complete  # a later run: same key, complete cache
    messages = [str(w.message) for w in record]
    for bad in tree.unreadable:  # failed files are reported, once, and dropped at once
        assert sum(bad in m for m in messages) == 1
    assert sorted(later.bad_files) == sorted(tree.unreadable)
    kept3, images3, messages = _epoch(later)
    assert decode_calls == [] and not messages
    assert np.array_equal(kept3, kept) and np.array_equal(images3, images)
    fresh = _folder(tree.root, False)
    assert np.array_equal(fresh.load(kept)[1].numpy(), images)


def test_changed_folder_or_settings_give_a_new_key(tree, tmp_path):
    where = tmp_path / "cache"
    folder = _folder(tree.root, where)
    _epoch(folder)
    key = folder.cache.key
    assert _folder(tree.root, where).cache.key == key
    for kwargs in ({"target_size": (16, 17)}, {"color_mode": "grayscale"}, {"interpolation": "bicubic"}, {"keep_aspect_ratio": True}):  # fmt: skip
        other = _folder(tree.root, where, **kwargs)
        assert other.cache.key != key and not other.cache.complete
    some = tree.root / next(iter(tree.labels))
    st = some.stat()
    os.utime(some, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched
    touched = _folder(tree.root, where)
    assert touched.cache.key != key and not touched.cache.complete
    Image.new("RGB", (5, 5)).save(tree.root / tree.classes[0] / "added.png")
    added = _folder(tree.root, where)
    assert len({added.cache.key, touched.cache.key, key}) == 3 and not added.cache.complete
    os.remove(tree.root / tree.classes[0] / "added.png")
    os.remove(some)
    removed = _folder(tree.root, where)
    assert removed.cache.key not in (key, touched.cache.key, added.cache.key)
    assert not removed.cache.complete


def test_interrupted_fill_leaves_no_cache_file(tree, tmp_path):
    where = tmp_path / "cache"
    folder = _folder(tree.root, where)
    batches = folder.batches(np.arange(folder.samples), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        next(batches)
        assert len(list(where.glob("*.tmp-*"))) == 1  # filling a temporary file
        batches.close()  # the consumer stops early (or raises)
    assert list(where.iterdir()) == []
    assert not folder.cache.complete
    with pytest.raises(RuntimeError):
        for _ in folder.batches(np.arange(folder.samples), 3):
            raise RuntimeError("training failed")
    assert list(where.iterdir()) == []
    partial = folder.batches(np.arange(folder.samples)[:4], 2)  # a pass over a subset only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        list(partial)
    assert list(where.iterdir()) == [] and not folder.cache.complete
    _epoch(folder)  # a full pass completes it
    assert folder.cache.complete


def test_orphaned_temporary_files_are_removed(tree, tmp_path):
    where = tmp_path / "cache"
    folder = _folder(tree.root, where)
    where.mkdir()
    dead = where / f"{folder.cache.key}.u8.tmp-{2**22 + 12345}-abcd"  # no such pid
    dead.write_bytes(b"partial")
    _epoch(folder)
    assert not dead.exists() and folder.cache.complete


def test_budget_refuses_and_streams(tree, tmp_path, monkeypatch):
    where = tmp_path / "cache"
    folder = _folder(tree.root, where)
    need = folder.samples * 16 * 16 * 3
    usage = type("Usage", (), {"total": 10 * need, "used": 0, "free": 2 * need - 1})
    monkeypatch.setattr(image_cache.shutil, "disk_usage", lambda path: usage)
    kept, images, messages = _epoch(folder)
    budget = [m for m in messages if "free disk space" in m]
    assert len(budget) == 1 and "no cache" in budget[0]
    assert not folder.cache.complete and list(where.iterdir()) == []
    kept2, images2, messages2 = _epoch(folder)  # warned once, streams again
    assert not [m for m in messages2 if "free disk space" in m]
    assert np.array_equal(kept, kept2) and np.array_equal(images, images2)
    usage.free = 2 * need + 1
    ok = _folder(tree.root, where)
    _epoch(ok)
    assert ok.cache.complete


def test_default_location_and_worker_fill(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "home"))
    folder = _folder(tree.root, True, num_workers=2)
    kept, images, _ = _epoch(folder)
    folder.close()
    assert folder.cache.data_path.parent == tmp_path / "home" / "cache" / "images"
    assert folder.cache.complete
    ref = _folder(tree.root, False)
    ref_kept, ref_images = ref.load(kept)
    assert np.array_equal(kept, ref_kept) and np.array_equal(images, ref_images.numpy())
