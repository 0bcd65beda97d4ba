"""`get_file`: Keras's cached-file fetcher, offline.

Lamina never downloads at run time. `get_file` finds the file where Keras would have
saved it (`~/.keras/<cache_subdir>/<fname>`, or `cache_dir`), checks its hash and
extracts archives; a missing file raises an error naming the URL to fetch and the
path to put it at. Extraction refuses members that would land outside the target
folder (absolute paths, `..`, links, devices).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import urllib.parse
import warnings
import zipfile
from pathlib import Path
from typing import Any

from lamina.stacklevel import user_stacklevel

_CHUNK = 1 << 20


def keras_home() -> str:
    """Keras's cache root: `$KERAS_HOME`, else `~/.keras`."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def resolve_hasher(algorithm: str, file_hash: str | None = None) -> Any:
    """A hashlib object: sha256, md5, or by the hash's length for 'auto' (64 hex = sha256)."""
    if algorithm == "sha256" or (algorithm == "auto" and file_hash and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm in ("md5", "auto"):
        return hashlib.md5()
    raise ValueError(f"Expected hash_algorithm 'auto', 'sha256' or 'md5', received: {algorithm!r}")


def hash_file(fpath: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file, read in 1 MiB chunks."""
    hasher = resolve_hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str | os.PathLike, file_hash: str, algorithm: str = "auto") -> bool:
    """Whether the file's digest equals `file_hash`."""
    hasher = resolve_hasher(algorithm, file_hash)
    return hash_file(fpath, hasher) == str(file_hash)


def _inside(root: Path, name: str) -> Path:
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise ValueError(
            f"Expected archive members inside the extraction folder, received: member={name!r}"
        )
    return target


def extract_archive(
    path: str | os.PathLike, target: str | os.PathLike, archive_format: Any = "auto"
) -> bool:
    """Extract a tar or zip archive into `target`; True if it was one of the formats.

    Every member is checked first: paths must stay under `target`; tar links and
    device files are refused. Nothing is written when a check fails.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else [archive_format]
    if isinstance(archive_format, (list, tuple)):
        formats = list(archive_format)
    root = Path(target).resolve()
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                members = archive.getmembers()
                for member in members:
                    _inside(root, member.name)
                    if not (member.isfile() or member.isdir()):
                        raise ValueError(
                            "Expected only files and folders in the archive, received: "
                            f"member={member.name!r} (a link or device)"
                        )
                root.mkdir(parents=True, exist_ok=True)
                archive.extractall(root, members=members, filter="data")
            return True
        if fmt == "zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    _inside(root, name)
                root.mkdir(parents=True, exist_ok=True)
                archive.extractall(root)
            return True
    return False


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: Any = "auto",
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
) -> str:
    """The path of the cached copy of `origin` (Keras's arguments, paths and return value).

    With `extract` or `untar`, the archive is extracted (once) and the folder returned:
    `<name>_extracted` when `fname` has an extension, else `<name>` beside
    `<name>_archive`. A missing file, a hash mismatch or `force_download=True` raise
    FileNotFoundError naming the URL and where to save it, as nothing is downloaded.
    """
    if origin is None:
        raise ValueError("Expected the origin argument (the file's URL), received: origin=None")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    datadir = os.path.join(os.path.expanduser(str(cache_dir or keras_home())), cache_subdir)
    provided = fname
    fname = os.fspath(fname) if fname else ""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(
                f"Expected fname, or an origin ending in a file name, received: origin={origin!r}"
            )
    elif os.sep in fname:
        raise ValueError(
            f"Expected a file name without folders (use cache_dir), received: fname={fname!r}"
        )
    if extract or untar:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[: fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)
    problem = None
    if force_download:
        problem = "force_download=True asks for a fresh copy"
    elif not os.path.exists(target):
        problem = "the file is not in the cache"
    elif file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        problem = f"the cached file's {hash_algorithm} hash does not match {file_hash}"
    if problem:
        raise FileNotFoundError(
            f"Lamina does not download at run time and {problem}. Fetch {origin} "
            f"and save it as {target}"
            + (f" (its hash should be {file_hash})." if file_hash else ".")
        )
    if extract or untar:
        if not os.path.exists(extraction_dir) and not extract_archive(
            target, extraction_dir, "tar" if untar else archive_format
        ):
            warnings.warn("Could not extract archive.", stacklevel=user_stacklevel())
        return extraction_dir
    return target
