"""A hash of the user's own code that a train step runs, for the signature of saved steps.

A saved compiled step (`saved_step.py`) holds the code it was traced from. Lamina's
source is hashed whole (`compile_signature.lamina_source_hash`); the user's layers,
model subclasses, losses, metrics, optimizers and activation functions are hashed here:
the file defining each when it is the user's (not an installed package), else the
bytecode of its functions (a class typed into a notebook). So editing a custom layer's
`call`, or a helper in the same file, gives its steps another signature. Code the user's
code calls in another file that defines none of these objects is not followed.

    digest = user_code_hash(model)
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import sysconfig
import types
from typing import Any

# Packages whose code is pinned by their version (in the signature) or hashed elsewhere.
_NOT_USER = {"lamina", "torch", "builtins", "numpy", "functools", "typing", "abc", "collections"}


def _is_user(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return bool(module) and module.split(".")[0] not in _NOT_USER


@functools.lru_cache(maxsize=1)
def _installed_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("purelib", "platlib", "stdlib", "platstdlib")}
    return tuple(os.path.realpath(r) for r in roots if r)


def _user_file(obj: Any) -> str | None:
    """The file defining `obj` when it is the user's own (not installed), else None."""
    try:
        path = inspect.getsourcefile(obj)
    except (TypeError, OSError):
        return None
    if not path or not os.path.isfile(path):
        return None
    real = os.path.realpath(path)
    if any(real.startswith(root + os.sep) for root in _installed_roots()):
        return None
    return real


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _code_bytes(code: types.CodeType) -> bytes:
    parts = [code.co_code, repr(code.co_names).encode()]
    for const in code.co_consts:
        parts.append(
            _code_bytes(const) if isinstance(const, types.CodeType) else repr(const).encode()
        )
    return b"\0".join(parts)


def _functions_of(obj: Any) -> list[types.FunctionType]:
    """The functions of a function, or of a class and its user-defined bases."""
    if isinstance(obj, types.FunctionType):
        return [obj]
    found = []
    for klass in getattr(obj, "__mro__", ()):
        if not _is_user(klass):
            continue
        for _, value in sorted(vars(klass).items()):
            value = getattr(value, "__func__", value)  # staticmethod, classmethod
            value = getattr(value, "fget", value)  # property
            if isinstance(value, types.FunctionType):
                found.append(value)
    return found


def _walk(value: Any, found: dict[str, Any], depth: int = 0) -> None:
    """Collect the user's classes and functions in `value` (lists, dicts, objects)."""
    if depth > 3 or value is None or isinstance(value, (str, bytes, int, float, bool)):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, found, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, found, depth + 1)
    elif isinstance(value, types.FunctionType):
        if _is_user(value):
            found[f"{value.__module__}.{value.__qualname__}"] = value
    elif _is_user(type(value)):
        found[f"{type(value).__module__}.{type(value).__qualname__}"] = type(value)


def user_code_hash(model: Any) -> str:
    """A hash of the user's code among `model`'s modules, loss, metrics and optimizer."""
    found: dict[str, Any] = {}
    for module in model.modules():
        _walk(module, found)
        for value in vars(module).values():
            if isinstance(value, types.FunctionType):  # an activation function, say
                _walk(value, found)
    for name in ("_loss_arg", "_metrics_arg", "_weighted_metrics_arg"):
        _walk(getattr(model, name, None), found)
    _walk(getattr(model, "optimizer", None), found)
    digest = hashlib.sha256()
    for name in sorted(found):
        obj = found[name]
        digest.update(name.encode())
        path = _user_file(obj)
        if path is not None:
            stat = os.stat(path)
            digest.update(_file_digest(path, stat.st_mtime_ns, stat.st_size).encode())
        else:
            for fn in _functions_of(obj):
                digest.update(_code_bytes(fn.__code__))
    return digest.hexdigest()
