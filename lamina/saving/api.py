"""`save_model`, `load_model`, `save_weights`, `load_weights`: the format follows the file name.

    model.save("m.lamina")        Lamina's zip of JSON and safetensors (the default choice)
    model.save("m.keras")         Keras 3's format; Keras loads it
    model.save("m.h5")            tf.keras 2's HDF5 format
    model.save_weights("w.weights.h5" | "w.h5" | "w.safetensors")
    model.load_weights("w.pt")    a PyTorch state_dict, read with torch.load(weights_only=True)

Reading sniffs the bytes rather than trusting the name: a zip, an HDF5 file, a
safetensors file or a torch checkpoint each go to their own reader.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from lamina.io_utils import atomic_write
from lamina.saving.errors import FileFormatError, where
from lamina.saving.native import load_lamina, read_tensors, save_lamina
from lamina.saving.tensor_files import dump, ordered
from lamina.saving.weight_names import assign_weights, weight_tensors
from lamina.saving.zip_archive import SafeZip, check_central_directory

MODEL_SUFFIXES = (".lamina", ".keras", ".h5", ".hdf5")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def save_model(
    model: Any,
    filepath: str | os.PathLike,
    overwrite: bool = True,
    include_optimizer: bool = True,
    save_format: str | None = None,
    **kwargs: Any,
) -> None:
    """Save architecture, weights, compile settings and optimizer state to `filepath`."""
    path = _writable(filepath, overwrite)
    kind = _model_kind(path, save_format)
    if kind == "lamina":
        save_lamina(model, path, include_optimizer=include_optimizer)
    elif kind == "keras":
        from lamina.saving.keras_v3 import save_keras

        save_keras(model, path)
    else:
        from lamina.saving.keras_h5 import save_h5

        save_h5(model, path)


def load_model(
    filepath: str | os.PathLike,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Any:
    """A model from a `.lamina`, `.keras` or `.h5` file; no code in the file ever runs.

    `safe_mode` is accepted for Keras's signature and cannot be turned off: Lamina never
    deserialises code (a Lambda layer's function must come from `custom_objects`).
    """
    path = _readable(filepath)
    kind = _sniff(path)
    if kind == "hdf5":
        from lamina.saving.keras_h5 import load_h5

        return load_h5(path, custom_objects=custom_objects, compile=compile)
    if kind == "zip":
        with SafeZip(path) as archive:
            members = set(archive.names())
        if "model.weights.h5" in members or "metadata.json" in members:
            from lamina.saving.keras_v3 import load_keras

            return load_keras(path, custom_objects=custom_objects, compile=compile)
        if "config.json" in members and "model.safetensors" in members:
            return load_lamina(path, custom_objects=custom_objects, compile=compile)
    if kind in ("torch", "zip", "safetensors"):
        raise FileFormatError(
            f"Expected a model file (.lamina, .keras or .h5) holding an architecture, "
            f"received: {where(path)}, which holds weights only. Build the model, then "
            "call model.load_weights(path)."
        )
    raise FileFormatError(
        f"Expected a .lamina, .keras or .h5 model file, received: {where(path)} "
        f"(starts with {path.read_bytes()[:8]!r})"
    )


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Weights only: `.weights.h5`/`.h5` (Keras's layouts) or safetensors (any other name)."""
    path = _writable(filepath, overwrite)
    if path.name.endswith((".h5", ".hdf5")):
        from lamina.saving.keras_weights_h5 import save_weights_h5

        save_weights_h5(model, path)
        return
    if path.suffix in (".keras", ".lamina"):
        raise ValueError(
            f"Expected a weights file name (.weights.h5, .h5 or .safetensors), received: "
            f"filepath={str(path)!r}; model.save(path) writes {path.suffix} files"
        )
    data = dump(weight_tensors(model))
    with atomic_write(path, fsync=True) as f:
        f.write(data)


def load_weights(
    model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False, **kwargs: Any
) -> list[str]:
    """Load weights saved by Lamina, Keras or PyTorch into `model`; returns skipped names.

    Accepts `.weights.h5`/`.h5` (Keras 3 or tf.keras), safetensors (Lamina's names in
    Keras's layouts, or a torch `state_dict`'s keys), a `.lamina`/`.keras` model file,
    and a `torch.save`d state_dict (read with `weights_only=True`: tensors only).
    """
    path = _readable(filepath)
    kind = _sniff(path)
    if kind == "hdf5":
        from lamina.saving.keras_weights_h5 import load_weights_h5

        return load_weights_h5(model, path, skip_mismatch=skip_mismatch) or []
    if kind == "safetensors":
        return _load_safetensors(model, path, skip_mismatch)
    if kind == "zip":
        with SafeZip(path) as archive:
            members = set(archive.names())
            if "model.safetensors" in members:
                tensors = read_tensors(archive, "model.safetensors")
                return assign_weights(
                    model, tensors, skip_mismatch=skip_mismatch, source=where(path)
                )
        if "model.weights.h5" in members:
            from lamina.saving.keras_v3 import load_keras_weights

            return load_keras_weights(model, path, skip_mismatch=skip_mismatch) or []
        return _load_state_dict(model, _torch_load(path), skip_mismatch, path)
    if kind == "torch":
        return _load_state_dict(model, _torch_load(path), skip_mismatch, path)
    raise FileFormatError(
        f"Expected a weights file (.weights.h5, .h5, .safetensors, .lamina, .keras or a "
        f"torch state_dict), received: {where(path)}"
    )


def _load_safetensors(model: Any, path: Path, skip_mismatch: bool) -> list[str]:
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as err:
        raise FileFormatError(
            f"Expected a safetensors file, received: {where(path)} ({type(err).__name__}: "
            f"{str(err)[:200]})"
        ) from None
    tensors = ordered(tensors, metadata)
    if metadata.get("layout") != "keras" and set(tensors) <= set(model.state_dict()):
        return _load_state_dict(model, tensors, skip_mismatch, path)
    return assign_weights(model, tensors, skip_mismatch=skip_mismatch, source=where(path))


def _load_state_dict(model: Any, state: Any, skip_mismatch: bool, path: Path) -> list[str]:
    """A torch `state_dict` (torch's layouts, module keys), checked before anything is copied."""
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise FileFormatError(
            f"Expected a state_dict (names to tensors), received: {type(state).__name__} "
            f"in {where(path)}"
        )
    own = model.state_dict()
    skipped: list[str] = []
    staged: dict[str, torch.Tensor] = {}
    for key, target in own.items():
        value = state.get(key)
        problem = None
        if value is None:
            problem = "is missing"
        elif tuple(value.shape) != tuple(target.shape):
            problem = f"has shape {tuple(value.shape)}"
        if problem is None:
            staged[key] = value
        elif skip_mismatch:
            skipped.append(key)
        else:
            raise FileFormatError(
                f"Layer '{_owner(model, key)}' expected '{key}' of shape "
                f"{tuple(target.shape)}, received: it {problem} in {where(path)}"
            )
    extra = [k for k in state if k not in own]
    if extra and not skip_mismatch:
        raise FileFormatError(
            f"Model '{model.name}' expected the keys of its state_dict, received: unknown "
            f"keys {extra[:5]} in {where(path)}"
        )
    with torch.no_grad():
        for key, value in staged.items():
            own[key].copy_(value.to(dtype=own[key].dtype))
    return skipped


def _owner(model: Any, key: str) -> str:
    """The name of the Lamina layer whose module holds state_dict entry `key`."""
    best, owner = -1, model.name
    for prefix, module in model.named_modules():
        name = getattr(module, "name", None)
        if not isinstance(name, str) or not hasattr(module, "_weight_specs"):
            continue
        if (not prefix or key.startswith(prefix + ".")) and len(prefix) > best:
            best, owner = len(prefix), name
    return owner


def _torch_load(path: Path) -> Any:
    """torch.load with weights_only=True, after a zip container passes SafeZip's checks
    (torch inflates a deflated storage record whole, so a bomb must be refused first)."""
    with open(path, "rb") as f:
        is_zip = f.read(2) == b"PK"
    if is_zip:
        SafeZip(path).close()
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for bad files
        raise FileFormatError(
            f"Expected a PyTorch state_dict readable with weights_only=True (tensors only), "
            f"received: {where(path)} ({type(err).__name__}: {str(err)[:200]})"
        ) from None


def _sniff(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    if head.startswith(b"PK"):
        try:
            check_central_directory(path, path)
        except FileFormatError:
            return "zip"  # SafeZip refuses it with this message
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, OverflowError):
            return "unknown"  # NotImplementedError (a zip version) is a RuntimeError
        if any(n.endswith("data.pkl") for n in names):
            return "torch"
        return "zip"
    if head[:1] == b"\x80":
        return "torch"  # legacy torch.save (read only with weights_only=True)
    if len(head) >= 9 and head[8:9] == b"{":
        n = int.from_bytes(head[:8], "little")
        if 0 < n < (100 << 20):
            try:
                json.loads(_read_at(path, 8, n))
                return "safetensors"
            except (ValueError, UnicodeDecodeError, RecursionError):
                return "unknown"
    return "unknown"


def _read_at(path: Path, offset: int, n: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def _model_kind(path: Path, save_format: str | None) -> str:
    if save_format in ("h5", "hdf5"):
        return "h5"
    if save_format in ("keras", "keras_v3"):
        return "keras"
    if save_format not in (None, "lamina"):
        raise ValueError(
            f"Expected save_format 'lamina', 'keras' or 'h5', received: save_format={save_format!r}"
        )
    suffix = path.suffix.lower()
    if suffix == ".lamina":
        return "lamina"
    if suffix == ".keras":
        return "keras"
    if suffix in (".h5", ".hdf5"):
        return "h5"
    raise ValueError(
        f"Expected a file name ending in .lamina, .keras or .h5, received: filepath="
        f"{str(path)!r}. Lamina's own format (.lamina) keeps the optimizer state; .keras and "
        ".h5 files load in Keras too."
    )


def _writable(filepath: Any, overwrite: bool) -> Path:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"Expected a file path, received: filepath={filepath!r}")
    path = Path(filepath)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"Expected a new file (overwrite=False), received: filepath={str(path)!r}, which exists"
        )
    if path.is_dir():
        raise IsADirectoryError(
            f"Expected a file path, received: filepath={str(path)!r}, which is a folder"
        )
    if str(path.parent) not in ("", "."):
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _readable(filepath: Any) -> Path:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"Expected a file path, received: filepath={filepath!r}")
    path = Path(filepath)
    if not path.is_file():
        raise FileNotFoundError(f"Expected an existing file, received: filepath={str(path)!r}")
    return path
