"""A stable name for "this train step, compiled": the key of the compile ledger.

Two processes that compile the same model with the same optimizer, loss, metrics,
batch shapes and settings trace the same graph, which Inductor's on-disk cache then
serves warm. The signature hashes exactly those facts (layer classes and configs,
weight shapes, optimizer config, batch shapes, torch and Lamina versions, a hash of
Lamina's source and of the user's own layers, losses and metrics), without
generated names or object addresses, so it is the same in every process. A fact
that cannot be read makes the signature None: the policy then uses its defaults.

    signature = step_signature(model, batches)
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from lamina.models import compile_utils as cu
from lamina.models.user_code import user_code_hash

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _unnamed(value: Any) -> Any:
    """`value` without "name" entries: generated names (dense_3) do not change the graph."""
    if isinstance(value, dict):
        return {k: _unnamed(v) for k, v in value.items() if k != "name"}
    if isinstance(value, (list, tuple)):
        return [_unnamed(v) for v in value]
    return value


def _text(value: Any) -> str:
    """JSON of `value` (repr for what JSON cannot hold), without names or object addresses."""
    return _ADDRESS.sub("", json.dumps(_unnamed(value), sort_keys=True, default=repr))


def _layers(model: torch.nn.Module) -> list:
    found = []
    for path, module in model.named_modules():
        get_config = getattr(module, "get_config", None)
        config = None
        if callable(get_config):
            try:
                config = get_config()
            except Exception:  # noqa: BLE001  a layer without a config: its class stands in
                config = None
        found.append([path, type(module).__module__, type(module).__qualname__, _text(config)])
    return found


def _batches(batches: list[tuple]) -> list:
    shapes = []
    for batch in batches:
        for part in batch:
            for t in cu.as_list(part) if part is not None else [None]:
                shapes.append(None if t is None else [list(t.shape), str(t.dtype)])
    return shapes


def _lamina_version() -> str:
    try:
        return metadata.version("lamina")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def lamina_source_hash() -> str:
    """A hash of Lamina's own source files, read once per process.

    The version number stays the same while the code changes (a development checkout, a
    patched install), but a saved compiled step (`saved_step.py`) holds the code it was
    traced from: any edit to Lamina must give its steps another signature.
    """
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def step_signature(model: Any, batches: list[tuple]) -> str | None:
    """The signature of `model`'s compiled train step on `batches`, or None."""
    try:
        optimizer = getattr(model, "optimizer", None)
        facts = {
            "layers": _layers(model),
            "weights": [
                [n, list(p.shape), str(p.dtype), bool(p.requires_grad)]
                for n, p in model.named_parameters()
            ],
            "optimizer": [type(optimizer).__qualname__, _text(optimizer.get_config())],
            "loss": _text(getattr(model, "_loss_arg", None)),
            "metrics": _text(getattr(model, "_metrics_arg", None)),
            "weighted_metrics": _text(getattr(model, "_weighted_metrics_arg", None)),
            "loss_weights": _text(getattr(model, "_loss_weights_arg", None)),
            "batches": _batches(batches),
            "precision": getattr(model, "_mixed_precision", None),
            "device": str(getattr(model, "_device", None)),
            "versions": [torch.__version__, _lamina_version(), lamina_source_hash()],
            "user_code": user_code_hash(model),
        }
        return hashlib.sha256(_text(facts).encode()).hexdigest()
    except Exception:  # noqa: BLE001  no signature: the policy falls back to its defaults
        return None
