"""`audio_dataset_from_directory`, as `keras.utils.audio_dataset_from_directory`.

    train = audio_dataset_from_directory("speech/", batch_size=16, output_sequence_length=16000)
    for audio, labels in train: ...   # audio (batch, samples, channels) float32 in [-1, 1]

`directory/<class>/**.wav`, listed and split as the image and text folders are. WAV files
(PCM 8/16/24/32-bit) are read with the standard library's `wave` module and scaled to
[-1, 1] as `tf.audio.decode_wav` does. `output_sequence_length` cuts or zero-pads every
clip; otherwise each batch is zero-padded to its longest clip (`ragged=True`: a list of
tensors instead). `sampling_rate` resamples (linear interpolation) clips recorded at
another rate.
"""

from __future__ import annotations

import math
import os
import wave
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from lamina.data.image_listing import list_files, split_shuffled
from lamina.utils.image_dataset import _check_split
from lamina.utils.label_arguments import check_label_arguments

_SCALE = {1: 128.0, 2: 32768.0, 3: 8388608.0, 4: 2147483648.0}


def read_wav(path: str | os.PathLike) -> tuple[torch.Tensor, int]:
    """(audio float32 of shape (samples, channels) in [-1, 1], sampling rate) of a PCM WAV."""
    with wave.open(os.fspath(path), "rb") as f:
        channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
        raw = f.readframes(f.getnframes())
    if width == 1:  # unsigned 8-bit
        data = np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0
    elif width == 3:  # 24-bit little-endian: widen to int32
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        data = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)).astype(np.int32)
        data = np.where(data >= 1 << 23, data - (1 << 24), data).astype(np.float32)
    elif width in (2, 4):
        data = np.frombuffer(raw, dtype=f"<i{width}").astype(np.float32)
    else:
        raise ValueError(
            f"Expected 8/16/24/32-bit PCM, received: sample width={width} bytes in {path}"
        )
    return torch.from_numpy((data / _SCALE[width]).reshape(-1, channels).copy()), rate


def _resample(audio: torch.Tensor, rate: int, target: int) -> torch.Tensor:
    if rate == target:
        return audio
    length = max(1, round(audio.shape[0] * target / rate))
    moved = torch.nn.functional.interpolate(
        audio.T.unsqueeze(0), size=length, mode="linear", align_corners=False
    )
    return moved[0].T.contiguous()


def _fit_length(audio: torch.Tensor, length: int) -> torch.Tensor:
    if audio.shape[0] >= length:
        return audio[:length]
    return torch.nn.functional.pad(audio, (0, 0, 0, length - audio.shape[0]))


class AudioDataset:
    """Batches of one subset of an audio folder: `for audio, labels in dataset: ...`."""

    def __init__(
        self,
        directory: str,
        paths: list[str],
        labels: np.ndarray | None,
        label_mode: str | None,
        class_names: list[str] | None,
        batch_size: int | None,
        sampling_rate: int | None,
        output_sequence_length: int | None,
        ragged: bool,
        shuffle: bool,
        seed: int,
    ) -> None:
        self.directory = directory
        self._paths = paths
        self._labels = labels
        self.label_mode = label_mode
        self.class_names = class_names
        self.batch_size = batch_size
        self.sampling_rate = sampling_rate
        self.output_sequence_length = output_sequence_length
        self.ragged = ragged
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)

    @property
    def file_paths(self) -> list[str]:
        return [os.path.join(self.directory, p) for p in self._paths]

    def __len__(self) -> int:
        return math.ceil(len(self._paths) / (self.batch_size or 1))

    def _load(self, rel: str) -> torch.Tensor:
        audio, rate = read_wav(os.path.join(self.directory, rel))
        if self.sampling_rate is not None:
            audio = _resample(audio, rate, self.sampling_rate)
        if self.output_sequence_length is not None:
            audio = _fit_length(audio, self.output_sequence_length)
        return audio

    def _labels_tensor(self, rows: np.ndarray) -> torch.Tensor:
        labels = torch.from_numpy(self._labels[rows])
        if self.label_mode == "int":
            return labels.to(torch.int32)
        if self.label_mode == "binary":
            return labels.to(torch.float32).reshape(-1, 1)
        return torch.nn.functional.one_hot(labels.long(), len(self.class_names)).to(torch.float32)

    def __iter__(self) -> Iterator[Any]:
        order = np.arange(len(self._paths))
        if self.shuffle:
            order = self._rng.permutation(order)
        step = self.batch_size or 1
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            clips = [self._load(self._paths[r]) for r in rows]
            if self.ragged:
                audio: Any = clips
            else:
                longest = max(c.shape[0] for c in clips)
                audio = torch.stack([_fit_length(c, longest) for c in clips])
            labels = None if self._labels is None else self._labels_tensor(rows)
            if self.batch_size is None:
                yield audio[0] if labels is None else (audio[0], labels[0])
            else:
                yield audio if labels is None else (audio, labels)


def audio_dataset_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    batch_size: int | None = 32,
    sampling_rate: int | None = None,
    output_sequence_length: int | None = None,
    ragged: bool = False,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
) -> AudioDataset | list[AudioDataset]:
    """Batches of (audio, labels) from `directory/<class>/<.wav files>` (Keras semantics:
    labels, label_mode, class_names, validation_split and subset as in
    `text_dataset_from_directory`)."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"Expected an existing directory, received: directory={directory!r}")
    check_label_arguments(labels, label_mode, class_names, ".wav file")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"Expected batch_size >= 1 or None, received: batch_size={batch_size!r}")
    for name, value in (
        ("sampling_rate", sampling_rate),
        ("output_sequence_length", output_sequence_length),
    ):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(
                f"Expected {name} as a positive int or None, received: {name}={value!r}"
            )
    if ragged and output_sequence_length is not None:
        raise ValueError(
            "Expected output_sequence_length=None with ragged=True, received: "
            f"output_sequence_length={output_sequence_length}"
        )
    _check_split(validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    seed = int(np.random.randint(1e6)) if seed is None else int(seed)
    inferred = labels == "inferred"
    files, per_file, names = list_files(
        directory, class_names if inferred else None, follow_links, (".wav",), inferred
    )
    if labels is not None and not inferred:
        per_file = np.asarray(labels, dtype=np.int64)
        if len(per_file) != len(files):
            raise ValueError(
                "Expected one label per .wav file in sorted path order, received: "
                f"len(labels)={len(per_file)} for {len(files)} files in directory={directory!r}"
            )
        names = [str(v) for v in sorted(set(per_file.tolist()))]
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            f"Expected exactly 2 classes with label_mode='binary', received: class_names={names}"
        )
    if verbose:
        found = f"Found {len(files)} files"
        print(found + "." if labels is None else f"{found} belonging to {len(names)} classes.")
    parts = ["training", "validation"] if subset == "both" else [subset]
    out = []
    for part in parts:
        rows = split_shuffled(
            len(files), validation_split or 0.0, part or "training", seed if shuffle else None
        )
        if part is not None and verbose:
            print(f"Using {len(rows)} files for {part}.")
        out.append(
            AudioDataset(
                directory,
                [files[r] for r in rows],
                None if labels is None else per_file[rows],
                label_mode,
                names if labels is not None else None,
                batch_size,
                sampling_rate,
                output_sequence_length,
                ragged,
                shuffle and part != "validation",
                seed,
            )
        )
    return out if subset == "both" else out[0]
