"""Diagnostics: watch a fit's layers and say in plain words what goes wrong and what to try.

    history = model.fit(x, y, epochs=5, validation_split=0.1, diagnose=True)
    print(history.diagnostics.summary())
    history.diagnostics.findings     # [Finding(epoch, kind, layer, message, advice, evidence)]
    history.diagnostics.records      # [LayerRecord(epoch, layer, grad_norm, update_ratio, ...)]

or `callbacks=[Diagnostics()]`. While training it records, per layer, the gradient norms,
the update-to-weight ratios, the share of dead ReLU units and the saturation of sigmoid
and tanh (`layer_probe.py`). At the end of each epoch it applies the rules of
`diagnosis_rules.py` (vanishing and exploding gradients, dead ReLUs, a learning rate too
small, labels that look shuffled, overfitting, underfitting, a stalled loss) and prints
what it found (when fit is verbose) before the next epoch starts.

It leaves the train step alone (compiled or not) and adds work only at a few batches:
- at a handful of evenly spaced batches per epoch it copies the weights before the step
  and compares after it (the update-to-weight ratio of a real step);
- it probes on a fixed batch of the training data (one extra forward and backward pass,
  with random generators and BatchNormalization statistics restored afterwards, so the
  trained weights are exactly those of a fit without it): always at the end of an epoch,
  and at those batches while the time spent probing stays under `budget` of the time
  spent training.
The probe batch is `probe_data` when given, else evenly spaced rows of fit's arrays; a
fit on a generator or dataset without `probe_data` gets update ratios and loss-curve
findings only. benchmarks/RESULTS.md has the measured cost.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import defaultdict
from typing import Any

import torch

from lamina.callbacks.callback import Callback
from lamina.callbacks.chance_level import CLASSIFICATION, chance_level, loss_name
from lamina.callbacks.chief import say
from lamina.callbacks.diagnosis_rules import EpochView, Thresholds, diagnose
from lamina.callbacks.diagnostic_records import Finding, LayerRecord, json_number
from lamina.callbacks.layer_probe import LayerProbe, UpdateMeter

PROBE_ROWS = 256  # the probe batch: fit's batch size, at most this many rows
LAYER_STATS = ("grad_norm", "grad_rms", "weight_norm", "dead_fraction", "saturation")


class Diagnostics(Callback):
    """Records per-layer training statistics and reports problems each epoch (module doc).

    Args:
        probe_data: `(x, y)` or `(x, y, sample_weight)`, one batch to probe; default: up
            to 256 evenly spaced rows of fit's training arrays.
        budget: the largest share of training time extra probes may take during an epoch
            (the probe at each epoch's end always runs).
        samples_per_epoch: at how many evenly spaced batches per epoch to measure steps.
        thresholds: the rules' limits (`diagnosis_rules.Thresholds`).
        verbose: print findings; None follows fit's `verbose`.

    Attributes: `records` (list of `LayerRecord`), `findings` (list of `Finding`),
    `chance_loss` / `chance_accuracy` (of always guessing the label frequencies),
    `probe_seconds` and `train_seconds`; `to_dict()` has them all, JSON-ready.
    """

    def __init__(
        self,
        probe_data: Any = None,
        budget: float = 0.02,
        samples_per_epoch: int = 4,
        thresholds: Thresholds | None = None,
        verbose: int | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= budget <= 1.0:
            raise ValueError(f"Expected 0 <= budget <= 1, received: budget={budget}")
        if samples_per_epoch < 1:
            raise ValueError(
                f"Expected samples_per_epoch >= 1, received: samples_per_epoch={samples_per_epoch}"
            )
        self.probe_data = probe_data
        self.budget = float(budget)
        self.samples_per_epoch = int(samples_per_epoch)
        self.thresholds = thresholds or Thresholds()
        self.verbose = verbose
        self.records: list[LayerRecord] = []
        self.findings: list[Finding] = []
        self.chance_loss: float | None = None
        self.chance_accuracy: float | None = None
        self.probe_seconds = 0.0
        self.train_seconds = 0.0
        self._probe: LayerProbe | None = None
        self._meter: UpdateMeter | None = None
        self._batch: tuple | None = None
        self._samples: int | None = None
        self._classification = False
        self.epochs: list[dict[str, Any]] = []
        self._regularized = False
        self._penalties: list[torch.Tensor] = []
        self._values: dict[tuple[str, str], list[torch.Tensor]] = defaultdict(list)
        self._order: list[str] = []
        self._outputs: set[str] = set()
        self._sample_at: list[int] = []
        self._span_start = 0
        self._probe_cost = 0.0
        self._start = 0.0
        self._unsaid: list[Finding] = []

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.records, self.findings, self.epochs, self._unsaid = [], [], [], []
        self.probe_seconds = self.train_seconds = 0.0
        self._probe = LayerProbe(self.model)
        self._meter = UpdateMeter(self._probe.layers)
        self._batch, labels, self._samples = self._probe_batch()
        custom = getattr(self.model, "_custom_train_step", None)
        if callable(custom) and custom():
            self._batch = None  # its own train_step: the compiled loss may not be its loss
        name = loss_name(getattr(self.model, "loss", None))
        self._classification = name in CLASSIFICATION
        self.chance_loss, self.chance_accuracy = chance_level(name, labels)
        self._regularized = bool(self._penalty_terms())
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._say_findings()
        self._values = defaultdict(list)
        self._penalties = []
        steps = self.params.get("steps") or 0
        count = self.samples_per_epoch
        if steps:
            self._sample_at = sorted({int(i * steps / count) for i in range(count)})
        else:  # unknown epoch length: every 50th batch
            self._sample_at = []

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._due(batch) or self._meter is None:
            return
        began = time.perf_counter()
        spent = self.probe_seconds + self._probe_cost
        if (
            self._batch is not None
            and self.budget > 0
            and spent <= self.budget * (began - self._start)
        ):
            self._measure()
        self._meter.begin()
        self._span_start = batch
        if self._regularized:
            self._penalties.append(self._penalty())
        self.probe_seconds += time.perf_counter() - began

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._meter is None or not self._meter.pending:
            return
        began = time.perf_counter()
        for layer, ratio in self._meter.end(batch - self._span_start + 1).items():
            self._values[(layer, "update_ratio")].append(ratio)
        self.probe_seconds += time.perf_counter() - began

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        began = time.perf_counter()
        if self._batch is not None:
            self._measure()
        self.epochs.append(self._epoch_entry(epoch, logs or {}))
        records = self._records(epoch)
        self.records += records
        optimizer = getattr(self.model, "optimizer", None)
        view = EpochView(
            epoch=epoch,
            epochs=self.epochs,
            layers=records,
            chance_loss=self.chance_loss,
            classification=self._classification,
            samples=self._samples,
            parameters=sum(p.numel() for p in self.model.parameters() if p.requires_grad),
            kernels={w.name for w in self._probe.layers if hasattr(w.layer, "kernel")},
            optimizer=type(optimizer).__name__ if optimizer is not None else None,
            learning_rate=_learning_rate(optimizer),
        )
        found = diagnose(view, self.thresholds)
        self.findings += found
        self._unsaid += found
        now = time.perf_counter()
        self.probe_seconds += now - began
        self.train_seconds = now - self._start

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._say_findings()
        self.train_seconds = time.perf_counter() - self._start

    # ---------------------------------------------------------------- results
    @property
    def overhead(self) -> float:
        """Time spent diagnosing over the rest of the training time."""
        rest = self.train_seconds - self.probe_seconds
        return self.probe_seconds / rest if rest > 0 else 0.0

    def summary(self) -> str:
        """The findings as text, one paragraph each; a line saying so when there are none."""
        if not self.findings:
            return "Diagnostics: no problems found."
        lines: list[str] = []
        epoch = None
        for finding in self.findings:
            if finding.epoch != epoch:
                epoch = finding.epoch
                lines.append(f"Epoch {epoch + 1}:")
            lines.append(_describe(finding))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Everything recorded, as JSON-ready values (NaN and infinity as None)."""
        return {
            "epochs": [{k: json_number(v) for k, v in e.items()} for e in self.epochs],
            "records": [r.to_dict() for r in self.records],
            "findings": [f.to_dict() for f in self.findings],
            "chance_loss": self.chance_loss,
            "chance_accuracy": self.chance_accuracy,
            "probe_seconds": self.probe_seconds,
            "train_seconds": self.train_seconds,
        }

    # ---------------------------------------------------------------- helpers
    def _due(self, batch: int) -> bool:
        """Whether `batch` (the first of a step) is one of the epoch's sampled batches."""
        if not self._sample_at:
            return batch % 50 == 0 and not self.params.get("steps")
        if batch >= self._sample_at[0]:
            while self._sample_at and batch >= self._sample_at[0]:
                self._sample_at.pop(0)
            return True
        return False

    def _measure(self) -> None:
        began = time.perf_counter()
        x, y, sw = self._batch
        result = self._probe.measure(x, y, sw)
        for layer, stats in result["layers"].items():
            for key, value in stats.items():
                self._values[(layer, key)].append(value)
        self._order, self._outputs = result["order"], result["outputs"]
        self._probe_cost = time.perf_counter() - began

    def _penalty_terms(self) -> list[torch.Tensor]:
        terms = getattr(self.model, "regularization_losses", None)
        return terms() if callable(terms) else []

    def _penalty(self) -> torch.Tensor:
        """The weight regularizers' penalty now (part of the logged loss)."""
        with torch.no_grad():
            return sum(t.detach().float().sum() for t in self._penalty_terms())

    def _epoch_entry(self, epoch: int, logs: dict[str, Any]) -> dict[str, Any]:
        """The epoch's logs (numbers only), with the penalties inside its losses: the
        mean over the sampled batches and the end for 'loss', the end for 'val_loss'."""
        entry: dict[str, Any] = {"epoch": epoch}
        entry.update({k: float(v) for k, v in logs.items() if isinstance(v, (int, float))})
        if self._regularized:
            end = self._penalty()
            samples = [*self._penalties, end]
            entry["penalty"] = float(sum(samples)) / len(samples)
            entry["val_penalty"] = float(end)
        return entry

    def _records(self, epoch: int) -> list[LayerRecord]:
        """This epoch's medians per layer (read from the device here, once)."""
        out = []
        watched = {w.name: w for w in self._probe.layers}
        order = self._order or list(watched)  # no probe batch: the layers in module order
        for position, name in enumerate(order):
            w = watched[name]
            stats = {key: _median(self._values.get((name, key), [])) for key in LAYER_STATS}
            out.append(
                LayerRecord(
                    epoch=epoch,
                    layer=name,
                    kind=type(w.layer).__name__,
                    activation=w.activation,
                    position=position,
                    output=name in self._outputs,
                    update_ratio=_median(self._values.get((name, "update_ratio"), [])),
                    probes=len(self._values.get((name, "grad_norm"), []))
                    or len(self._values.get((name, "weight_norm"), [])),
                    updates=len(self._values.get((name, "update_ratio"), [])),
                    **stats,
                )
            )
        return out

    def _probe_batch(self) -> tuple[tuple | None, Any, int | None]:
        """(the probe batch, the training labels, the number of training samples)."""
        device = next((p.device for p in self.model.parameters()), torch.device("cpu"))
        if self.probe_data is not None:
            parts = list(self.probe_data) + [None] * (3 - len(self.probe_data))
            x, y, sw = (None if a is None else torch.as_tensor(a, device=device) for a in parts)
            return (x, y, sw), y, None
        data = getattr(self.model, "_train_data", None)
        if data is None or not hasattr(data, "rows") or not hasattr(data, "n"):
            return None, None, None  # a generator or dataset: no batch to spare
        rows = min(data.n, data.batch_size, PROBE_ROWS)
        index = torch.linspace(0, data.n - 1, rows).round().long().to(data.device)
        return data.rows(index), data.y, data.n

    def _say_findings(self) -> None:
        verbose = self.verbose if self.verbose is not None else self.params.get("verbose", 1)
        found, self._unsaid = self._unsaid, []
        if found and verbose:
            say(f"Diagnostics after epoch {found[0].epoch + 1}:")
            for finding in found:
                say(_describe(finding))


def _describe(finding: Finding) -> str:
    where = f" (layer '{finding.layer}')" if finding.layer else ""
    title = finding.kind.replace("_", " ")
    return f"  - {title}{where}: {finding.message}\n    Try: {finding.advice}"


def _learning_rate(optimizer: Any) -> float | None:
    """The optimizer's learning rate now (a schedule's current value), if it says."""
    try:
        return float(optimizer.learning_rate)
    except (AttributeError, TypeError, ValueError, RuntimeError):
        return None


def _median(values: list[torch.Tensor]) -> float | None:
    """The median; a non-finite value wins (a NaN gradient must not be averaged away)."""
    if not values:
        return None
    floats = [float(v) for v in torch.stack([torch.as_tensor(v) for v in values]).cpu()]
    bad = [v for v in floats if not math.isfinite(v)]
    return bad[0] if bad else statistics.median(floats)
