"""Name registries: map Keras names to Lamina classes and functions.

Every serialisable object (layers, losses, metrics, optimizers, initializers,
regularizers, activations) registers itself under one or more names, so
`from_config` can rebuild it from JSON without pickle.

    @register("layer", "Dense")
    class Dense(Layer): ...

    get("layer", "Dense")  # -> Dense
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

_REGISTRIES: dict[str, dict[str, Any]] = {}


def _normalise(name: str) -> str:
    return name.lower().replace("_", "")


def register(kind: str, *names: str) -> Callable[[Any], Any]:
    """Decorator registering an object under `names` (default: its __name__)."""

    def wrap(obj: Any) -> Any:
        table = _REGISTRIES.setdefault(kind, {})
        for n in names or (obj.__name__,):
            table[n] = obj
        return obj

    return wrap


def names(kind: str) -> list[str]:
    """All registered names of one kind, sorted."""
    return sorted(_REGISTRIES.get(kind, {}))


def closest(name: str, options: Iterable[str], n: int = 3) -> list[str]:
    """The closest valid spellings to `name`, for 'did you mean' messages."""
    options = list(options)
    by_norm = {_normalise(o): o for o in options}
    hits = difflib.get_close_matches(_normalise(name), list(by_norm), n=n, cutoff=0.5)
    return [by_norm[h] for h in hits]


def get(kind: str, name: str) -> Any:
    """Look up `name` of `kind`; exact first, then case/underscore-insensitive.

    Raises ValueError naming the closest valid names when nothing matches.
    """
    table = _REGISTRIES.get(kind, {})
    if name in table:
        return table[name]
    norm = _normalise(name)
    for key, obj in table.items():
        if _normalise(key) == norm:
            return obj
    hint = closest(name, table)
    did_you_mean = f" Did you mean: {', '.join(repr(h) for h in hint)}?" if hint else ""
    raise ValueError(
        f"Expected a known {kind} name, received: {kind}={name!r}.{did_you_mean} "
        f"Valid names: {', '.join(sorted(table))}."
    )


def unregister(kind: str, name: str, obj: Any) -> None:
    """Remove `name` from `kind` if it still maps to `obj` (undoes a scoped registration)."""
    table = _REGISTRIES.get(kind, {})
    if table.get(name) is obj:
        del table[name]


def lookup(kind: str, name: str) -> Any:
    """The object registered as exactly `name` under `kind`, or None."""
    return _REGISTRIES.get(kind, {}).get(name)
