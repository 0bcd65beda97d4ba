"""Keras 1 code, recognised: the legacy spellings seen, and the optimizer defaults it assumed.

A base module. The places that translate Keras 1 spellings (`Convolution2D(nb_filter, nb_row,
nb_col)`, `fit(nb_epoch=...)`, `nb_words=`, `nb_classes=`) call `record`; `compile()` calls
`note_optimizer` with its `optimizer` argument. When the code is Keras 1 code and names an
optimizer whose defaults changed since Keras 1, one line says what the old default was and
how to get it back, at the user's compile (or fit) line:

    Keras 1 code (Convolution2D, fit(nb_epoch=...)): optimizer='adadelta' used
    learning_rate=1.0, epsilon=1e-8 in Keras 1; ... pass optimizers.Adadelta(learning_rate=1.0,
    epsilon=1e-8).

Seed 003's CNN, written for Keras 1 with `optimizer='adadelta'`, barely trains at today's
learning rate 0.001 (Keras 2.3+, Keras 3 and Lamina). Each changed name is noted once per
process; an optimizer object, or code without Keras 1 spellings, gets no note. `fit` after
`compile` covers the other order: Keras 1's `nb_epoch=` may be the first legacy spelling
seen, and the last compile's optimizer name is noted then.

The table (Keras 1.2's keras/optimizers.py against Keras 3's and Lamina's signatures): SGD
(learning rate 0.01), RMSprop (0.001) and Adam (0.001) kept their learning rates and only
moved epsilon from 1e-8 to 1e-7, which is added to a square root of squared gradients and
changes nothing visible, so they get no note. Adadelta's epsilon does matter: its first
steps are about `learning_rate * sqrt(epsilon)`, so the reproduction passes it too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from lamina.stacklevel import user_stacklevel


class Keras1DefaultsWarning(UserWarning):
    """Keras 1 code names an optimizer whose default constants changed since Keras 1."""


@dataclass(frozen=True)
class Keras1Defaults:
    """One optimizer's Keras 1 defaults, today's, and the arguments that restore Keras 1's."""

    cls: str
    keras1: str
    today: str
    reproduce: str


# Keys are optimizer names as the registry normalises them (lower case, no underscores).
KERAS1_DEFAULTS: dict[str, Keras1Defaults] = {
    "adadelta": Keras1Defaults(
        "Adadelta",
        "learning_rate=1.0, epsilon=1e-8",
        "learning_rate=0.001, epsilon=1e-7",
        "learning_rate=1.0, epsilon=1e-8",
    ),
    "adagrad": Keras1Defaults(
        "Adagrad",
        "learning_rate=0.01 with accumulators starting at 0",
        "learning_rate=0.001 with accumulators starting at 0.1",
        "learning_rate=0.01, initial_accumulator_value=0.0, epsilon=1e-8",
    ),
    "adamax": Keras1Defaults(
        "Adamax", "learning_rate=0.002", "learning_rate=0.001", "learning_rate=0.002"
    ),
    "nadam": Keras1Defaults(
        "Nadam",
        "learning_rate=0.002 and the momentum schedule 0.96 ** (t * 0.004)",
        "learning_rate=0.001 and 0.96 ** t",
        "learning_rate=0.002, schedule_decay=0.004",
    ),
}

_seen: dict[str, None] = {}  # the Keras 1 spellings seen, in order (an ordered set)
_noted: set[str] = set()  # optimizer names already noted
_pending: str | None = None  # the last compile's changed name, before any Keras 1 spelling


def _key(name: str) -> str:
    return name.lower().replace("_", "")


def record(spelling: str, at_fit: bool = False) -> None:
    """Remember that the running code used the Keras 1 spelling `spelling`. `at_fit`:
    seen by fit, which notes the optimizer name of the compile before it (if changed)."""
    global _pending
    _seen.setdefault(spelling, None)
    if at_fit and _pending is not None:
        name, _pending = _pending, None
        _note(name)


def seen() -> tuple[str, ...]:
    """The Keras 1 spellings this process has used, first seen first."""
    return tuple(_seen)


def note_optimizer(identifier: object) -> None:
    """compile()'s optimizer argument: a name whose Keras 1 defaults differ from today's
    is noted now in Keras 1 code, or at fit if a Keras 1 spelling comes only then."""
    global _pending
    _pending = None
    if not isinstance(identifier, str) or _key(identifier) not in KERAS1_DEFAULTS:
        return
    if _seen:
        _note(identifier)
    else:
        _pending = identifier


def message(name: str) -> str:
    """The one-line note for optimizer name `name` (one of KERAS1_DEFAULTS, any case)."""
    d = KERAS1_DEFAULTS[_key(name)]
    spellings = ", ".join(_seen) or "Keras 1 spellings"
    return (
        f"Keras 1 code ({spellings}): optimizer={name!r} used {d.keras1} in Keras 1; Lamina "
        f"and Keras 3 default to {d.today}. To reproduce Keras 1, pass "
        f"optimizers.{d.cls}({d.reproduce})."
    )


def _note(name: str) -> None:
    key = _key(name)
    if key in _noted:
        return
    _noted.add(key)
    warnings.warn(message(name), Keras1DefaultsWarning, stacklevel=user_stacklevel())


def clear() -> None:
    """Forget the spellings seen and the notes given (for tests)."""
    global _pending
    _seen.clear()
    _noted.clear()
    _pending = None
