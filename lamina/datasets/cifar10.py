"""CIFAR-10 (32x32 colour images, 10 classes) from its BINARY distribution, as Keras.

Nothing is downloaded at run time. Put `cifar-10-binary.tar.gz` (from
https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary version") or its
extracted `cifar-10-batches-bin` folder under `$LAMINA_HOME/datasets`
(default ~/.lamina/datasets), or pass `path=` / set `$LAMINA_CIFAR10_PATH`.
Each record is 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32). The
pickled "python version" is refused: Lamina never unpickles downloaded files.

    (x_train, y_train), (x_test, y_test) = lamina.datasets.cifar10.load_data()
    # x: uint8 (N, 32, 32, 3) NHWC; y: uint8 (N, 1)
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np

from lamina.datasets._common import DatasetNotFoundError, cache_dir

ENV_VAR = "LAMINA_CIFAR10_PATH"
ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
RECORD_BYTES = 1 + 3 * 32 * 32
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_PICKLED_MARKERS = ("cifar-10-python.tar.gz", "cifar-10-batches-py", "data_batch_1")


def _refuse_pickled(where: str | Path) -> ValueError:
    return ValueError(
        f"Expected the BINARY version of CIFAR-10 ({ARCHIVE} or a {FOLDER} folder), "
        f"received: path={str(where)!r}, which is the pickled Python version. Lamina never "
        "unpickles downloaded files (it can run arbitrary code); download the binary version "
        "from https://www.cs.toronto.edu/~kriz/cifar.html instead."
    )


def _not_found(where: str) -> DatasetNotFoundError:
    home = cache_dir()
    return DatasetNotFoundError(
        f"Expected CIFAR-10's binary version, received: {where}. Nothing is downloaded at run "
        f"time: get {ARCHIVE} from https://www.cs.toronto.edu/~kriz/cifar.html and put it (or "
        f"its extracted {FOLDER} folder) in {home}, or pass path= / set {ENV_VAR}."
    )


def _is_archive(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar"))


def _resolve(path: str | os.PathLike[str] | None) -> Path:
    """The archive or batches folder to read; raises with instructions when absent."""
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    base = Path(path).expanduser() if path is not None else cache_dir()
    if base.name.startswith(("cifar-10-python", "cifar-10-batches-py")):
        raise _refuse_pickled(base)
    if _is_archive(base):
        return base
    if base.is_dir():
        if (base / TRAIN_FILES[0]).is_file():
            return base
        for child in (base / FOLDER, base / ARCHIVE):
            if child.exists():
                return child
        for marker in _PICKLED_MARKERS:
            if (base / marker).exists():
                raise _refuse_pickled(base / marker)
        raise _not_found(f"path={str(base)!r} (neither {ARCHIVE} nor {FOLDER} there)")
    state = "no such file or folder" if not base.exists() else "not a tar archive or folder"
    raise _not_found(f"path={str(base)!r} ({state})")


def _read_files(source: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """The raw bytes of the named batch files, from a folder or (without extracting) a tar."""
    if source.is_dir():
        found = {n: (source / n).read_bytes() for n in names if (source / n).is_file()}
    else:
        found = {}
        with tarfile.open(source, "r:*") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if base == "data_batch_1" or "cifar-10-batches-py" in member.name:
                    raise _refuse_pickled(f"{source}:{member.name}")
                if member.isfile() and base in names and base not in found:
                    fileobj = tar.extractfile(member)
                    if fileobj is not None:
                        found[base] = fileobj.read()
    missing = [n for n in names if n not in found]
    if missing:
        raise _not_found(f"path={str(source)!r} without {', '.join(missing)}")
    return found


def decode_batch(data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """One binary batch -> (images uint8 (N, 32, 32, 3) NHWC, labels uint8 (N, 1))."""
    if len(data) % RECORD_BYTES:
        raise ValueError(
            f"Expected a whole number of {RECORD_BYTES}-byte records in CIFAR-10 batch {name}, "
            f"received: size={len(data)}"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, :1].copy()
    if labels.size and int(labels.max()) > 9:
        raise ValueError(
            f"Expected labels 0..9 in CIFAR-10 batch {name}, received: label={int(labels.max())}"
        )
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _decode_split(files: dict[str, bytes], names: tuple[str, ...]):
    parts = [decode_batch(files[n], n) for n in names]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load_data(path: str | os.PathLike[str] | None = None):
    """CIFAR-10 as `(x_train, y_train), (x_test, y_test)`: uint8 NHWC images, (N, 1) labels.

    `path` may be `cifar-10-binary.tar.gz`, the `cifar-10-batches-bin` folder, or a folder
    holding either; the default looks in `$LAMINA_HOME/datasets`.
    """
    source = _resolve(path)
    files = _read_files(source, TRAIN_FILES + TEST_FILES)
    return _decode_split(files, TRAIN_FILES), _decode_split(files, TEST_FILES)
