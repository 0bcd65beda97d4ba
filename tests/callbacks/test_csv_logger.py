"""CSVLogger: header, rows, append and separator."""

from __future__ import annotations

import csv

from callback_fakes import FakeModel

from lamina import callbacks


def _read(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_writes_rows(tmp_path):
    path = tmp_path / "log.csv"
    cb = callbacks.CSVLogger(path)
    cbs = callbacks.CallbackList([cb], model=FakeModel())
    cbs.on_train_begin()
    cbs.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.25})
    cbs.on_epoch_end(1, {"loss": 0.25})
    cbs.on_train_end()
    assert _read(path) == [["epoch", "accuracy", "loss"], ["0", "0.25", "0.5"], ["1", "NA", "0.25"]]


def test_csv_logger_append_and_separator(tmp_path):
    path = tmp_path / "log.csv"
    for start in (0, 2):
        cb = callbacks.CSVLogger(str(path), separator=";", append=True)
        cb.set_model(FakeModel())
        cb.on_train_begin()
        cb.on_epoch_end(start, {"loss": 1.0})
        cb.on_train_end()
    assert _read(path, ";") == [["epoch", "loss"], ["0", "1.0"], ["2", "1.0"]]
    cb = callbacks.CSVLogger(path)  # append=False overwrites
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 3.0})
    cb.on_train_end()
    assert _read(path) == [["epoch", "loss"], ["0", "3.0"]]
