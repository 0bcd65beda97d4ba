"""Which layers were trainable at `compile()`; `fit` checks that none changed since.

Keras fixes the weights a model trains at `compile()`: "if you change any trainable
value, make sure to call compile() again on your model for your changes to be taken into
account" (its transfer-learning guide and `Model.compile`'s docstring). Keras 3's own
check (`_warn_if_trainable_state_changed`) never runs in 3.15, and its torch backend then
applies a freeze silently but fails an unfreeze with "Unknown variable". Lamina says so
instead, at the start of `fit` and `train_on_batch`, naming the layers that changed.
After `compile()` the optimizer is rebuilt for the new trainable weights (a frozen weight
leaves it: no momentum or weight decay moves it) and the train step is built again.
"""

from __future__ import annotations

from typing import Any

from lamina.layers.base import Layer


def trainable_snapshot(model: Any) -> dict[int, bool]:
    """`trainable` of every layer of the model (itself included), keyed by `id`."""
    return {id(m): m.trainable for m in model.modules() if isinstance(m, Layer)}


def changed_layers(model: Any, snapshot: dict[int, bool]) -> list[Any]:
    """The top-most layers holding weights whose `trainable` differs from `snapshot`.

    A frozen nested model is named once (not each of its layers). Layers made after the
    snapshot (built lazily) and layers without weights (Dropout) do not count: their flag
    changes no weight's training.
    """
    found: list[Any] = []
    seen: set[int] = set()

    def visit(layer: Any) -> None:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        was = snapshot.get(id(layer))
        if was is not None and was != layer.trainable and layer.weights:
            found.append(layer)
            return
        for sub in layer._sublayers():
            visit(sub)

    visit(model)
    return found


def check_trainable_unchanged(model: Any, what: str) -> None:
    """Raise when a layer's `trainable` changed since `compile()` (see the module doc)."""
    snapshot = model.__dict__.get("_compiled_trainable")
    if snapshot is None:
        return
    changed = changed_layers(model, snapshot)
    if not changed:
        return
    names = [f"{la.name} (trainable={la.trainable})" for la in changed[:10]]
    more = f" and {len(changed) - 10} more" if len(changed) > 10 else ""
    raise RuntimeError(
        f"Model '{model.name}' expected model.compile() after changing `trainable` "
        f"(the weights to train are fixed at compile(), as in Keras), received: layers "
        f"whose trainable changed since compile: [{', '.join(names)}]{more}. Call "
        f"model.compile(...) again before {what}(), e.g. with a lower learning rate to "
        "fine-tune."
    )
