"""`extract_features`: run a frozen backbone once over a data set, with an on-disk cache.

Transfer learning on a CPU spends nearly all its time in the pretrained backbone. Its
outputs do not change while it is frozen, so computing them once (and keeping them on
disk between runs) leaves only the new head to train, which takes seconds:

    features = extract_features(backbone, images, cache="features/train.npz")
    head.fit(features, labels, epochs=30)

The cache is one `.npz` file (read with `allow_pickle=False`, written atomically) keyed
by a BLAKE2b hash of the model (class, config with its layer names, every weight's shape,
dtype and bytes), the input data (structure, shapes, dtypes and bytes) and Lamina's
version: another model, other weights or other data miss it and overwrite it. A file that is not such a
cache, or whose features do not match their recorded hash, raises an error rather than
give wrong features or overwrite a file it did not write.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lamina.data.adapter import adapt
from lamina.io_utils import atomic_write
from lamina.tree import flatten, map_structure

FORMAT = 1  # the cache file's layout version
_MARKER = "lamina_feature_cache"


def extract_features(
    model: Any, data: Any, batch_size: int = 32, cache: str | Path | None = None
) -> Any:
    """`model.predict(data)` (NumPy features; a list for several outputs), computed once.

    `data` is anything `predict` takes: arrays (or a list/dict of them), a
    `lamina.utils.PyDataset`, a dataset or a generator. With `cache` (a file path) the
    features are read from that file when it holds them for this model, these weights and
    this data, else computed and written there. To key the cache, data that is not arrays
    is read once into memory (by batches of `batch_size`) and the model runs on that copy.
    """
    if cache is None:
        return model.predict(data, batch_size=batch_size, verbose=0)
    inputs = _as_arrays(data, batch_size)
    key = cache_key(model, inputs)
    path = Path(cache)
    outputs = read_cache(path, key)
    if outputs is None:
        outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
        write_cache(path, key, outputs)
    return outputs


# ------------------------------------------------------------------------- the key
def cache_key(model: Any, inputs: Any) -> str:
    """A hex digest naming this model (class, config, weights) and these inputs."""
    h = hashlib.blake2b(digest_size=32)
    _text(h, f"{_MARKER} {FORMAT} lamina {_version()}")
    _text(h, f"{type(model).__module__}.{type(model).__qualname__}")
    _text(h, _config_text(model))
    _text(h, str(getattr(model, "_mixed_precision", None)))
    weights = model.weights
    _text(h, f"weights {len(weights)}")
    for w in weights:
        _tensor(h, w)
    _data(h, inputs)
    return h.hexdigest()


def _version() -> str:
    try:
        return importlib.metadata.version("lamina")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _text(h: Any, text: str) -> None:
    data = text.encode()
    h.update(len(data).to_bytes(8, "little"))  # length-prefixed: no two fields run together
    h.update(data)


def _config_text(model: Any) -> str:
    """The model's config as JSON; a config that cannot be read keys on the class only
    (weights and data still key it). Objects without a JSON form key by their repr."""
    try:
        config = model.get_config()
    except (NotImplementedError, TypeError, AttributeError):
        return "no config"
    return json.dumps(config, sort_keys=True, default=repr)


def _tensor(h: Any, t: torch.Tensor) -> None:
    t = t.detach()
    _text(h, f"{tuple(t.shape)} {t.dtype}")
    h.update(t.reshape(-1).contiguous().cpu().view(torch.uint8).numpy())


def _data(h: Any, x: Any) -> None:
    """Structure, shapes, dtypes and bytes of nested arrays (dict keys in sorted order)."""
    if isinstance(x, dict):
        _text(h, f"dict {len(x)}")
        for k in sorted(x, key=str):
            _text(h, str(k))
            _data(h, x[k])
    elif isinstance(x, (list, tuple)):
        _text(h, f"{type(x).__name__} {len(x)}")
        for v in x:
            _data(h, v)
    elif isinstance(x, torch.Tensor):
        _tensor(h, x)
    else:
        a = np.asarray(x)
        if a.dtype == object:
            a = a.astype(str)  # texts: fixed-width unicode, hashable bytes
        _text(h, f"{a.shape} {a.dtype.str}")
        h.update(np.ascontiguousarray(a).view(np.uint8).reshape(-1))


def _as_arrays(data: Any, batch_size: int) -> Any:
    """Arrays as they are; other data read once into NumPy arrays (inputs only)."""
    if isinstance(data, (np.ndarray, torch.Tensor, list, tuple, dict)):
        return data  # what predict's adapter takes as arrays
    adapted = adapt(data, None, None, batch_size, False, "cpu")
    batches = [xb for xb, _, _ in adapted.epoch()]
    if not batches:
        raise ValueError(
            f"Expected data with at least one batch, received: an empty {type(data).__name__}"
        )
    columns = zip(*(flatten(b) for b in batches))
    joined = iter([np.concatenate([_numpy(t) for t in column]) for column in columns])
    return map_structure(lambda _: next(joined), batches[0])


def _numpy(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


# ------------------------------------------------------------------------- the file
def _digest(outputs: list[np.ndarray]) -> str:
    h = hashlib.blake2b(digest_size=32)
    for a in outputs:
        _data(h, a)
    return h.hexdigest()


def _unreadable(path: Path, why: str) -> ValueError:
    return ValueError(
        f"Expected a feature cache written by extract_features at cache='{path}', "
        f"received: {why}. Delete the file (or pass another path) to compute the features "
        "again."
    )


def read_cache(path: Path, key: str) -> Any:
    """The features stored under `key` at `path`; None when there is no file or it holds
    another key. Raises for a file that is not a readable feature cache."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            files = set(stored.files)
            if _MARKER not in files:
                raise _unreadable(path, "an .npz file without its marker")
            if int(stored[_MARKER]) != FORMAT or str(stored["key"]) != key:
                return None  # another model, weights, data or layout: a miss
            outputs = [stored[f"output_{i}"] for i in range(int(stored["n_outputs"]))]
            digest = str(stored["digest"])
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
    ) as err:
        if isinstance(err, ValueError) and "extract_features" in str(err):
            raise
        raise _unreadable(path, f"an unreadable file ({type(err).__name__}: {err})") from err
    if _digest(outputs) != digest:
        raise _unreadable(path, "features that do not match their recorded hash (a damaged file)")
    return outputs[0] if len(outputs) == 1 else outputs


def write_cache(path: Path, key: str, outputs: Any) -> None:
    """Store `outputs` (an array or a list of them) under `key`, atomically."""
    arrays = [np.asarray(a) for a in (outputs if isinstance(outputs, list) else [outputs])]
    payload = {f"output_{i}": a for i, a in enumerate(arrays)}
    payload.update(
        {
            _MARKER: np.array(FORMAT),
            "key": np.array(key),
            "digest": np.array(_digest(arrays)),
            "n_outputs": np.array(len(arrays)),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        np.savez(f, **payload)
