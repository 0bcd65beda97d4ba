"""Compiled train steps kept as libraries, so a later run of the same step starts compiled.

The first compile of a train step also builds it into a library (AOTInductor,
`runtime/step_library.py`) beside the compile ledger, named by the step's signature
(`compile_signature.py`), with a recipe: a JSON record of where each of the graph's
inputs lives (`step_inputs.py`) and the shape, strides and dtype it had. A later
process with the same signature loads the library (milliseconds, against seconds for
a warm `torch.compile`) and calls it with its own tensors, found by the recipe.

Only what this machine compiled into its own cache directory is loaded: the recipe
is plain JSON, and the library is the file the compiler wrote there. Clearing
Inductor's cache clears them with the ledger. A recipe whose library is missing, or
whose tensors differ from the ones found now, is not used.

    saved = SavedSteps(directory)
    recipe = saved.find(signature)                # None: none saved
    saved.publish(signature, direct, key, inputs)  # after the step compiled
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import torch

from lamina.models.direct_call import DirectCall
from lamina.runtime.json_records import read_record, write_record
from lamina.runtime.step_library import load_library, machine_key

SUBDIRECTORY = "lamina-steps"
FORMAT = 1
MAX_SAVED = 32  # libraries kept per directory; the least recently used go first


def tensor_facts(t: torch.Tensor) -> list:
    """What a library compiled for `t` assumes about it: shape, strides, dtype, device."""
    return [list(t.shape), list(t.stride()), str(t.dtype), t.device.type]


def layout(t: torch.Tensor) -> tuple:
    """A tensor's shape, strides, dtype and device, cheap to compare on every step."""
    return (t.shape, t.stride(), t.dtype, t.device)


@dataclass
class Recipe:
    """A saved step: its library, its inputs' descriptors and facts, the call it serves."""

    library: str
    descriptors: list
    facts: list
    key: list  # [batches per call, rates absent]

    def fits(self, inputs: list[torch.Tensor]) -> bool:
        """True when `inputs` are tensors like the ones the library was compiled for."""
        return len(inputs) == len(self.facts) and all(
            isinstance(t, torch.Tensor) and tensor_facts(t) == f for t, f in zip(inputs, self.facts)
        )


class InputsChanged(Exception):
    """A batch no longer has the layout the saved library was compiled for."""


class LibraryCall(DirectCall):
    """A direct call of a saved library, checking each call's batch against the recipe.

    The weights and states were checked once, when the call was made; the batch
    tensors are new every call, and the library reads them with the strides it was
    compiled for, so a batch laid out otherwise raises `InputsChanged` before the call.
    """

    varying: list[tuple[int, tuple]]  # (input index, layout) of the batch and rates

    @classmethod
    def load(
        cls, recipe: Recipe, key: tuple, step: Any, batches: list[tuple], rates: Any
    ) -> LibraryCall | None:
        """The call of `recipe`'s library for `step`, or None when it does not fit here."""
        if [key[0], key[1]] != recipe.key:
            return None
        try:
            run = load_library(recipe.library)
        except (OSError, RuntimeError):
            return None

        def library_step(*args: Any) -> list[torch.Tensor]:
            return run(list(args))

        direct = cls.rebuild(library_step, recipe.descriptors, step)
        inputs = direct.inputs(batches, rates) if direct is not None else []
        if direct is None or not recipe.fits(inputs):
            return None
        direct.varying = [
            (i, layout(t))
            for i, (d, t) in enumerate(zip(recipe.descriptors, inputs))
            if d[0] in ("batch", "rates")
        ]
        return direct

    def __call__(self, batches: list[tuple], rates: Any) -> None:
        inputs = self.inputs(batches, rates)
        for i, expected in self.varying:  # per step: compared without building lists
            if layout(inputs[i]) != expected:
                raise InputsChanged(
                    f"Expected input {i} laid out as {expected}, received: {layout(inputs[i])}"
                )
        out = self.graph_fn(*inputs)
        if out:
            raise RuntimeError(
                f"Expected the saved train step to return nothing, received: {len(out)} outputs"
            )


class SavedSteps:
    """The saved steps in one directory (a no-op store when it is None). Each signature
    has a recipe (`.json`) and its library (`.so`), or a recipe that only says the step
    cannot be saved (`refuse`)."""

    def __init__(self, directory: str | None) -> None:
        self.directory = os.path.join(directory, SUBDIRECTORY) if directory else None

    def _paths(self, signature: str) -> tuple[str, str] | None:
        if self.directory is None or not signature.isalnum():
            return None
        base = os.path.join(self.directory, signature)
        return base + ".so", base + ".json"

    def library_path(self, signature: str) -> str | None:
        """Where the library of `signature` is built, or None without a directory."""
        paths = self._paths(signature)
        if paths is None:
            return None
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError:
            return None
        return paths[0]

    def find(self, signature: str) -> Recipe | None:
        """The recipe of `signature` when it and its library are there, else None."""
        paths = self._paths(signature)
        if paths is None or not os.path.isfile(paths[0]):
            return None
        record = read_record(paths[1])
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            return None
        if record.get("torch") != torch.__version__ or record.get("machine") != machine_key():
            return None
        descriptors, facts, key = (record.get(k) for k in ("descriptors", "facts", "key"))
        if not (
            isinstance(descriptors, list) and isinstance(facts, list) and isinstance(key, list)
        ):
            return None
        if len(descriptors) != len(facts) or len(key) != 2:
            return None
        try:
            os.utime(paths[1])  # recently used: pruned last
        except OSError:
            pass
        return Recipe(paths[0], descriptors, facts, key)

    def publish(self, signature: str, direct: Any, key: tuple, inputs: list[Any]) -> bool:
        """Record the recipe of the library just built for `signature`; False if not stored."""
        paths = self._paths(signature)
        if paths is None or not os.path.isfile(paths[0]):
            return False
        if not all(isinstance(t, torch.Tensor) for t in inputs):
            return False
        record = {
            "format": FORMAT,
            "torch": torch.__version__,
            "machine": machine_key(),
            "descriptors": direct.descriptors,
            "facts": [tensor_facts(t) for t in inputs],
            "key": [int(key[0]), bool(key[1])],
        }
        if not write_record(paths[1], record):
            return False
        self.prune()
        return True

    def refuse(self, signature: str) -> None:
        """Remember that `signature`'s step cannot be saved (Dynamo captured it in pieces,
        or part of it runs outside the graph): later runs build no library for it."""
        paths = self._paths(signature)
        if paths is None:
            return
        self.forget(signature)
        write_record(paths[1], {"format": FORMAT, "unsaveable": True})

    def refused(self, signature: str) -> bool:
        """True when an earlier run found `signature`'s step cannot be saved."""
        paths = self._paths(signature)
        record = read_record(paths[1]) if paths is not None else None
        return (
            isinstance(record, dict)
            and record.get("format") == FORMAT
            and (record.get("unsaveable") is True)
        )

    def prune(self, keep: int = MAX_SAVED) -> None:
        """Keep the `keep` most recently used saved steps (each library is megabytes)."""
        try:
            names = [n for n in os.listdir(self.directory) if n.endswith(".json")]
            used = sorted(names, key=lambda n: os.path.getmtime(os.path.join(self.directory, n)))
        except OSError:
            return
        for name in used[: max(len(used) - keep, 0)]:
            self.forget(name[: -len(".json")])
        self._drop_orphans()

    def _drop_orphans(self, age: float = 3600.0) -> None:
        """Remove libraries left without a recipe for an hour (a build that was cut off;
        younger ones may be another process's build about to be published)."""
        now = time.time()
        try:
            for name in os.listdir(self.directory):
                path = os.path.join(self.directory, name)
                if not name.endswith(".so") or os.path.exists(path[:-3] + ".json"):
                    continue
                if now - os.path.getmtime(path) > age:
                    os.unlink(path)
        except OSError:
            pass

    def forget(self, signature: str) -> None:
        """Remove the saved step of `signature` (its recipe first, so no reader is misled)."""
        paths = self._paths(signature)
        for path in reversed(paths) if paths else ():
            try:
                os.unlink(path)
            except OSError:
                pass
