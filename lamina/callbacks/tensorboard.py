"""TensorBoard: training curves, weight histograms and the model graph for `tensorboard --logdir`.

    model.fit(x, y, epochs=10, validation_split=0.1,
              callbacks=[TensorBoard(log_dir="logs", histogram_freq=1)])

Written like Keras's: `log_dir/train` and `log_dir/validation` each hold an event file,
with the epoch's values as `epoch_loss`, `epoch_accuracy`, ... (validation values
without their `val_` prefix, so TensorBoard draws both runs on one chart) and
`epoch_learning_rate`. The files are written by `torch.utils.tensorboard.SummaryWriter`;
the `tensorboard` package is imported only when a fit starts.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import torch

from lamina.callbacks.callback import Callback
from lamina.distributed.env import is_main_process
from lamina.saving.weight_names import weight_tensors


def summary_writer(log_dir: str) -> Any:
    """A SummaryWriter on `log_dir`, or an ImportError saying how to install tensorboard."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ImportError(
            "TensorBoard expected the tensorboard package, received: ImportError "
            f"({err}). Install it with `pip install tensorboard`."
        ) from err
    return SummaryWriter(log_dir=log_dir)


class TensorBoard(Callback):
    """Log the epoch's values (and, with `update_freq=N`, every N batches' values as
    `batch_loss`, ... at the global batch number), weight histograms every
    `histogram_freq` epochs (as images too with `write_images`), and the model's graph
    (`write_graph`, traced on the first batch; skipped with a warning when tracing fails).
    `profile_batch` and `embeddings_freq` are Keras's TensorFlow tools: only 0 is supported.
    In distributed training only rank 0 writes.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int | tuple[int, int] = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Any = None,
    ):
        super().__init__()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                "TensorBoard expected update_freq='epoch', 'batch' or a positive number of "
                f"batches, received: update_freq={update_freq!r}"
            )
        if (
            isinstance(histogram_freq, bool)
            or not isinstance(histogram_freq, int)
            or (histogram_freq < 0)
        ):
            raise ValueError(
                "TensorBoard expected histogram_freq to be a non-negative integer, received: "
                f"histogram_freq={histogram_freq!r}"
            )
        for name, value in (("profile_batch", profile_batch), ("embeddings_freq", embeddings_freq)):
            if value not in (0, None, (0, 0)):
                warnings.warn(
                    f"TensorBoard: {name}={value!r} is not supported (Keras's TensorFlow "
                    "profiler and projector); nothing is written for it.",
                    stacklevel=2,
                )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph, self.write_images = bool(write_graph), bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self.profile_batch, self.embeddings_freq = profile_batch, embeddings_freq
        self.embeddings_metadata = embeddings_metadata  # kept so the config travels whole
        self._writers: dict[str, Any] = {}
        self._step = 0  # train batches seen, across fits
        self._train_batches, self._epoch_batches = 0, 0  # (write_steps_per_second)
        self._epoch_start: float | None = None

    def overrides(self, hook: str) -> bool:
        if hook in ("on_train_batch_end", "on_batch_end"):  # batch logs only when written
            return self.update_freq != "epoch" and hook == "on_train_batch_end"
        if hook in ("on_train_batch_begin", "on_batch_begin"):  # counted for steps_per_second
            return self.write_steps_per_second and hook == "on_train_batch_begin"
        return super().overrides(hook)

    def _writer(self, run: str) -> Any:
        if run not in self._writers:
            self._writers[run] = summary_writer(os.path.join(self.log_dir, run))
        return self._writers[run]

    # ------------------------------------------------------------------- hooks
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not is_main_process():
            return
        self._writer("train")
        if self.write_graph:
            self._add_graph()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.update_freq == "epoch" or not is_main_process():
            return
        self._step += 1
        if self._step % self.update_freq == 0:
            writer = self._writer("train")
            for key, value in (logs or {}).items():
                if _is_number(value):
                    writer.add_scalar(f"batch_{key}", float(value), self._step)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not is_main_process():
            return
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        train.update(self._learning_rates())
        if self.write_steps_per_second and self._epoch_start is not None:
            seconds = time.perf_counter() - self._epoch_start
            if seconds > 0:
                train["steps_per_second"] = (self._train_batches - self._epoch_batches) / seconds
        for run, values in (("train", train), ("validation", val)):
            numbers = {k: v for k, v in values.items() if _is_number(v)}
            if numbers:
                writer = self._writer(run)
                for key, value in numbers.items():
                    writer.add_scalar(f"epoch_{key}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._add_histograms(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start, self._epoch_batches = time.perf_counter(), self._train_batches

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._train_batches += 1

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        """Keras's `evaluation_<name>_vs_iterations`: each evaluation's values (fit's
        validation included) in the validation run, at the optimizer's step count."""
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is None or not is_main_process():
            return
        numbers = {k: v for k, v in (logs or {}).items() if _is_number(v)}
        if numbers:
            writer = self._writer("validation")
            for key, value in numbers.items():
                writer.add_scalar(f"evaluation_{key}_vs_iterations", float(value), int(iterations))
            writer.flush()

    def _learning_rates(self) -> dict[str, float]:
        """Keras's rate entries: `learning_rate`, the inner optimizer's for a
        LossScaleOptimizer, `learning_rate_<name>` per inner optimizer of a MultiOptimizer."""
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        inner = getattr(optimizer, "optimizers", None)
        if inner is not None:
            return {f"learning_rate_{o.name}": float(o.learning_rate) for o in inner}
        rate = getattr(optimizer, "learning_rate", None)
        return {"learning_rate": float(rate)} if _is_number(rate) else {}

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ----------------------------------------------------------------- helpers
    def _add_histograms(self, epoch: int) -> None:
        writer = self._writer("train")
        for name, tensor in weight_tensors(self.model).items():
            if tensor.is_floating_point() and tensor.numel():
                writer.add_histogram(name, tensor.float(), epoch)
                if self.write_images:
                    image = _as_image(tensor)
                    if image is not None:
                        writer.add_image(name, image, epoch, dataformats="HW")

    def _add_graph(self) -> None:
        data = getattr(self.model, "_train_data", None)
        if data is None or not hasattr(data, "first_x"):
            return
        try:
            example = data.first_x()
            with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's warnings are not the user's
                self._writer("train").add_graph(_Forward(self.model), example)
        except Exception as err:  # tracing is best-effort: the scalars matter more
            warnings.warn(
                f"TensorBoard could not trace model '{getattr(self.model, 'name', '?')}' for "
                f"its graph ({type(err).__name__}: {str(err)[:200]}); no graph is written.",
                stacklevel=2,
            )


class _Forward(torch.nn.Module):
    """The model's inference forward, as one module to trace."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Any) -> Any:
        return self.model(x, training=False)


def _as_image(tensor: torch.Tensor) -> torch.Tensor | None:
    """A weight as a grey image in [0, 1]: a matrix as it is, a vector as one row,
    a convolution kernel with its spatial axes stacked."""
    t = tensor.float()
    if t.ndim == 1:
        t = t.reshape(1, -1)
    elif t.ndim > 2:
        t = t.reshape(-1, t.shape[-1])
    low, high = t.min(), t.max()
    return (t - low) / (high - low) if high > low else torch.zeros_like(t)


def _is_number(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return isinstance(value, (int, float)) and not isinstance(value, bool)
