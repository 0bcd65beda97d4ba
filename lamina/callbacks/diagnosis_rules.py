"""The rules Diagnostics applies at the end of each epoch: evidence in, findings out.

Each rule reads an `EpochView` (the epoch losses so far, this epoch's layer records, the
chance-level loss) and returns a `Finding` in plain words with advice, or None. The limits
are `Thresholds`' fields; their defaults keep the courses' MNIST CNN silent and make each
broken model of tests/callbacks/test_diagnostics_rules.py fire.

- exploding_gradients: a non-finite loss or gradient; a loss above twice chance level or
  1.5x its lowest; optimizer steps changing weights by more than half their size; or
  per-weight gradients 100x larger in the first layer than in the last;
- vanishing_gradients: the first layer's per-weight gradient 100x smaller than the last's;
- dead_relu: half or more of a ReLU layer's units silent on a whole batch;
- learning_rate_too_small: typical steps change weights by less than 1e-5 of their size
  while the loss is still far from zero, or by less than 1e-4 while the loss barely moved
  (still within 2% of guessing the labels, or of the first epoch's loss), as Adadelta at
  today's default learning rate 0.001 on the courses' CNN (Keras 1's default was 1.0);
  the finding names the optimizer and its learning rate when Diagnostics gives them;
- shuffled_labels: a model with more weights than samples and healthy gradients, yet the
  training loss sits between 80% and 100% of chance level and the validation loss at it;
- overfitting: the validation loss 10% above its lowest, reached two or more epochs ago,
  while the training loss fell;
- underfitting: after three epochs the training loss is still above a third of chance
  level, fell less than 10% in the last epoch, and the validation loss is no better;
- stalled_loss: no other finding, and the training loss fell less than 1% over the last
  two epochs while still above a twentieth of chance level.

Losses are compared without the weight regularizers' penalties (`EpochView.loss`): an
L2 penalty is not a sign of bad fit. Layers compared across depth are those with a
`kernel` (Dense, Conv): an Embedding's or a normalization's gradients are small by nature.
A gradient finding (vanishing, dead ReLUs) explains a slow loss, so a learning rate too
small, underfitting and a stalled loss are then not reported; neither are they when the
labels look shuffled. A diverging loss explains everything and is reported alone.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from lamina.callbacks.diagnostic_records import Finding, LayerRecord

LOWER_LR = (
    "lower the learning rate (e.g. 10x smaller), clip gradients "
    "(optimizer=keras.optimizers.SGD(learning_rate=0.01, clipnorm=1.0)), "
    "and check the inputs are scaled (pixels / 255)."
)


@dataclass(frozen=True)
class Thresholds:
    """The limits of the rules (see the module doc)."""

    vanishing_ratio: float = 1e-2
    exploding_ratio: float = 1e2
    huge_update: float = 0.5
    loss_rise: float = 1.5
    chance_multiple: float = 2.0
    dead_fraction: float = 0.5
    saturated: float = 0.1  # a layer's saturation worth naming beside vanishing gradients
    tiny_update: float = 1e-5
    small_update: float = 1e-4  # too small when the loss also barely moved
    still_loss: float = 0.98  # 'barely moved': still above this share of its start
    shuffled_loss: float = 0.8
    shuffled_val: float = 0.97
    overfit_rise: float = 0.1
    overfit_epochs: int = 2
    underfit_loss: float = 1 / 3
    underfit_epochs: int = 3
    underfit_progress: float = 0.1
    stall_change: float = 0.01
    stall_epochs: int = 2
    converged_loss: float = 0.05


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


@dataclass
class EpochView:
    """What the rules see at the end of epoch `epoch`.

    `epochs`: one dict per epoch so far with 'loss' and 'val_loss' (as fit logs them) and
    'penalty' / 'val_penalty' (the weight penalties inside them, at the epoch's sampled
    batches and at its end); `kernels`: names of the layers with a kernel.
    """

    epoch: int
    epochs: list[dict[str, Any]]
    layers: list[LayerRecord]
    chance_loss: float | None = None
    classification: bool = False
    samples: int | None = None
    parameters: int = 0
    kernels: set[str] = field(default_factory=set)
    optimizer: str | None = None  # the optimizer's class name, e.g. 'Adadelta'
    learning_rate: float | None = None  # its learning rate at the epoch's end

    def _series(self, key: str, penalty: str) -> list[float]:
        out = []
        for entry in self.epochs:
            value = entry.get(key)
            if isinstance(value, (int, float)):
                out.append(float(value) - float(entry.get(penalty) or 0.0))
        return out

    def loss(self) -> list[float]:
        """The training loss of each epoch, without weight penalties."""
        return self._series("loss", "penalty")

    def val_loss(self) -> list[float]:
        """The validation loss of each epoch that has one, without weight penalties."""
        return self._series("val_loss", "val_penalty")

    def chance(self) -> float | None:
        return self.chance_loss if _finite(self.chance_loss) and self.chance_loss else None

    def compared(self) -> list[LayerRecord]:
        """Layers with a kernel and a finite, measured gradient, in forward order."""
        out = [r for r in self.layers if r.layer in self.kernels and _finite(r.grad_rms)]
        return sorted(out, key=lambda r: r.position)

    def typical_update(self) -> float | None:
        """The median update-to-weight ratio over the layers with a kernel."""
        steps = [r.update_ratio for r in self.layers if r.layer in self.kernels]
        steps = [s for s in steps if _finite(s)]
        return statistics.median(steps) if steps else None

    def converged(self, loss: float, t: Thresholds) -> bool:
        chance = self.chance()
        return loss < t.converged_loss * chance if chance else abs(loss) < 1e-3

    def finding(self, kind: str, layer: str | None, message: str, advice: str,
                **evidence: Any) -> Finding:  # fmt: skip
        return Finding(self.epoch, kind, layer, message, advice, evidence)


# ------------------------------------------------------------------------ gradients
def exploding(view: EpochView, t: Thresholds) -> Finding | None:
    kind, loss, chance = "exploding_gradients", view.loss(), view.chance()
    advice = "The learning rate is too high for this model: " + LOWER_LR
    now = view.epochs[-1].get("loss")
    if isinstance(now, (int, float)) and not math.isfinite(now):
        message = f"The training loss became {now}: the weights diverged."
        return view.finding(kind, None, message, advice, loss=now)
    bad = [r for r in view.layers if r.grad_norm is not None and not math.isfinite(r.grad_norm)]
    if bad:
        message = f"The gradients of layer '{bad[0].layer}' are infinite or NaN."
        return view.finding(kind, bad[0].layer, message, advice, grad_norm=bad[0].grad_norm)
    if loss and view.classification and chance and loss[-1] > t.chance_multiple * chance:
        message = (
            f"The training loss ({loss[-1]:.3g}) is far above that of guessing the "
            f"labels ({chance:.3g}): the updates overshoot."
        )
        return view.finding(kind, None, message, advice, loss=loss[-1], chance_loss=chance)
    if len(loss) >= 2 and loss[-1] > t.loss_rise * min(loss[:-1]):
        lowest = min(loss[:-1])
        message = f"The training loss rose to {loss[-1]:.3g} from {lowest:.3g}: it diverges."
        return view.finding(kind, None, message, advice, loss=loss[-1], lowest_loss=lowest)
    typical = view.typical_update()
    if typical is not None and typical > t.huge_update:
        message = (
            f"Each optimizer step changes the weights by {_pct(typical)} of their size "
            "(healthy steps change about 0.1%): training jumps around."
        )
        return view.finding(kind, None, message, advice, update_ratio=typical)
    layers = view.compared()
    if len(layers) >= 3 and layers[-1].grad_rms > 0:
        first, last = layers[0], layers[-1]
        ratio = first.grad_rms / last.grad_rms
        if ratio > t.exploding_ratio:
            message = (
                f"Gradients grow towards the input: layer '{first.layer}' gets {ratio:.0f}x "
                f"larger gradients per weight than '{last.layer}'."
            )
            advice = "Use batch normalization or a smaller initialization, and " + LOWER_LR
            return view.finding(kind, first.layer, message, advice, ratio=ratio)
    return None


def vanishing(view: EpochView, t: Thresholds) -> Finding | None:
    layers = view.compared()
    if len(layers) < 3 or layers[-1].grad_rms <= 0:
        return None
    first, last = layers[0], layers[-1]
    ratio = first.grad_rms / last.grad_rms
    if ratio >= t.vanishing_ratio or ratio == 0.0:  # no gradient at all: dead or frozen
        return None
    saturated = [
        f"'{r.layer}' ({r.activation}) {_pct(r.saturation)}"
        for r in layers
        if _finite(r.saturation) and r.saturation >= t.saturated
    ]
    note = (
        f" Outputs in the flat part of the activation: {', '.join(saturated)}." if saturated else ""
    )
    message = (
        f"Gradients vanish towards the input: layer '{first.layer}' gets {1 / ratio:,.0f}x "
        f"smaller gradients per weight than '{last.layer}', so the first layers hardly "
        f"learn.{note}"
    )
    advice = (
        "Use ReLU in the hidden layers (activation='relu'), add BatchNormalization, or a "
        "better initialization (kernel_initializer='he_normal' for ReLU)."
    )
    return view.finding(
        "vanishing_gradients", first.layer, message, advice,
        ratio=ratio, first=first.layer, last=last.layer,
    )  # fmt: skip


def dead_relu(view: EpochView, t: Thresholds) -> list[Finding]:
    out = []
    advice = (
        "Lower the learning rate, start biases at zero and use He initialization "
        "(kernel_initializer='he_normal'), or use LeakyReLU or ELU, which keep a gradient "
        "for negative inputs."
    )
    for r in sorted(view.layers, key=lambda r: r.position):
        if _finite(r.dead_fraction) and r.dead_fraction >= t.dead_fraction:
            message = (
                f"{_pct(r.dead_fraction)} of the ReLU units of layer '{r.layer}' output zero "
                "for every sample of a batch: they are dead and no longer learn."
            )
            out.append(
                view.finding("dead_relu", r.layer, message, advice, dead_fraction=r.dead_fraction)
            )
    return out


def _barely_moved(view: EpochView, loss: list[float], t: Thresholds) -> str | None:
    """How the loss barely moved, in words, when it is still within `still_loss` of
    where it started (chance level for a classifier, else the first epoch's loss)."""
    chance = view.chance() if view.classification else None
    if chance:
        if loss[-1] >= t.still_loss * chance:
            return f"is still that of guessing the labels ({chance:.4g})"
    elif len(loss) >= 2 and loss[-1] >= t.still_loss * loss[0]:
        return f"is still within {_pct(1 - t.still_loss)} of the first epoch's ({loss[0]:.4g})"
    return None


def _named_rate(view: EpochView) -> str:
    """'the learning rate (Adadelta's 0.001)', or 'the learning rate' when unknown."""
    if view.learning_rate is None or not _finite(view.learning_rate):
        return "the learning rate"
    owner = f"{view.optimizer}'s " if view.optimizer else ""
    return f"the learning rate ({owner}{view.learning_rate:.3g})"


def learning_rate_too_small(view: EpochView, t: Thresholds) -> Finding | None:
    typical, loss = view.typical_update(), view.loss()
    if typical is None or typical >= t.small_update or not loss or view.converged(loss[-1], t):
        return None
    start = _barely_moved(view, loss, t)
    if typical >= t.tiny_update and start is None:
        return None
    moved = f" and the training loss ({loss[-1]:.4g}) {start}" if start else ""
    message = (
        f"Each optimizer step changes the weights by only {typical:.1e} of their size "
        f"(healthy steps change about 1e-3){moved}: {_named_rate(view)} is too small to "
        "make progress."
    )
    advice = (
        "Raise the learning rate 10x or more (Adam's default is 1e-3, SGD's 1e-2), or use a "
        "schedule that starts higher."
    )
    if view.optimizer == "Adadelta":
        advice += (
            " Adadelta was made to run at learning_rate=1.0, Keras 1's default: "
            "keras.optimizers.Adadelta(learning_rate=1.0)."
        )
    return view.finding(
        "learning_rate_too_small", None, message, advice,
        update_ratio=typical, learning_rate=view.learning_rate, loss=loss[-1],
    )  # fmt: skip


# ----------------------------------------------------------------------- loss curves
def shuffled_labels(view: EpochView, t: Thresholds) -> Finding | None:
    loss, val, chance = view.loss(), view.val_loss(), view.chance()
    if not (view.classification and chance and loss and val) or view.epoch < 1:
        return None
    if view.samples is None or view.parameters < view.samples:
        return None  # a small model may simply be unable to learn
    if not t.shuffled_loss * chance <= loss[-1] <= chance or val[-1] < t.shuffled_val * chance:
        return None
    message = (
        f"The model has room to learn ({view.parameters:,} weights for {view.samples:,} "
        f"samples) and its gradients are healthy, yet the training loss ({loss[-1]:.3g}) "
        f"barely beats guessing the labels ({chance:.3g}) and the validation loss "
        f"({val[-1]:.3g}) does not: the labels look unrelated to the inputs."
    )
    advice = (
        "Check that x and y are in the same order (shuffle them together), that the labels "
        "are the right ones, and that the inputs are not constant."
    )
    return view.finding(
        "shuffled_labels", None, message, advice,
        loss=loss[-1], val_loss=val[-1], chance_loss=chance,
    )  # fmt: skip


def overfitting(view: EpochView, t: Thresholds) -> Finding | None:
    loss, val = view.loss(), view.val_loss()
    if len(val) < 3 or len(loss) != len(val):
        return None
    best = min(range(len(val)), key=val.__getitem__)
    if best > len(val) - 1 - t.overfit_epochs or loss[-1] >= loss[best]:
        return None
    if val[-1] < (1 + t.overfit_rise) * val[best]:
        return None
    message = (
        f"The validation loss rose from {val[best]:.3g} (epoch {best + 1}) to {val[-1]:.3g} "
        f"while the training loss fell from {loss[best]:.3g} to {loss[-1]:.3g}: the model "
        "is memorising the training data."
    )
    advice = (
        "Add Dropout layers, augment the data, add L2 regularization "
        "(kernel_regularizer=keras.regularizers.l2(1e-4)), get more data, or stop at the "
        "best epoch: callbacks=[keras.callbacks.EarlyStopping(patience=2, "
        "restore_best_weights=True)]."
    )
    return view.finding(
        "overfitting", None, message, advice,
        best_epoch=best, best_val_loss=val[best], val_loss=val[-1], loss=loss[-1],
    )  # fmt: skip


def underfitting(view: EpochView, t: Thresholds) -> Finding | None:
    loss, val, chance = view.loss(), view.val_loss(), view.chance()
    if len(loss) < t.underfit_epochs or not chance or loss[-1] < t.underfit_loss * chance:
        return None
    if loss[-2] > 0 and (loss[-2] - loss[-1]) / loss[-2] >= t.underfit_progress:
        return None  # still learning fast
    if val and val[-1] < (1 - t.underfit_progress) * loss[-1]:
        return None  # validation much better than training: dropout at work
    message = (
        f"After {len(loss)} epochs the training loss ({loss[-1]:.3g}) is still "
        f"{_pct(loss[-1] / chance)} of that of guessing the labels ({chance:.3g}) and falls "
        "slowly: the model does not fit even the training data."
    )
    advice = (
        "Use a bigger model (more units or layers), less regularization (dropout, L2), a "
        "higher learning rate, or train longer."
    )
    return view.finding("underfitting", None, message, advice, loss=loss[-1], chance_loss=chance)


def stalled_loss(view: EpochView, t: Thresholds) -> Finding | None:
    loss = view.loss()
    if len(loss) <= t.stall_epochs or view.converged(loss[-1], t):
        return None
    before = loss[-1 - t.stall_epochs]
    if not _finite(before) or before <= 0 or (before - loss[-1]) / before >= t.stall_change:
        return None
    message = (
        f"The training loss has stopped falling: {before:.4g} {t.stall_epochs} epochs ago, "
        f"{loss[-1]:.4g} now."
    )
    advice = (
        "If it stopped high, the model may be too simple for the task (one layer cannot "
        "separate rings or XOR): add a hidden layer or units. Else try another learning "
        "rate (10x larger or smaller), a schedule that lowers it on plateaus "
        "(keras.callbacks.ReduceLROnPlateau), or normalized inputs."
    )
    return view.finding("stalled_loss", None, message, advice, loss=loss[-1], loss_before=before)


def diagnose(view: EpochView, thresholds: Thresholds | None = None) -> list[Finding]:
    """Every finding for the epoch in `view`, in `FINDING_KINDS` order (module doc)."""
    t = thresholds or Thresholds()
    diverging = exploding(view, t)
    if diverging is not None:
        return [diverging]
    found = [f for f in [vanishing(view, t)] if f is not None] + dead_relu(view, t)
    if not found:
        found += [f for f in [learning_rate_too_small(view, t)] if f is not None]
    shuffled = shuffled_labels(view, t) if not found else None
    found += [f for f in [shuffled, overfitting(view, t)] if f is not None]
    if not found:  # a plateau, else a slow fall at a high loss
        found += [f for f in [stalled_loss(view, t) or underfitting(view, t)] if f is not None]
    return found
