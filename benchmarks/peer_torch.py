"""The hand-written PyTorch peers: the loops a competent PyTorch user writes.

Data tensors live on the device once; each epoch draws a `torch.randperm` index
and gathers batches by slicing it; the model returns logits and `F.cross_entropy`
takes integer class targets (the PyTorch idiom for the same one-hot labels); loss
sum and correct count accumulate on the device with one `.item()` per epoch.

A `Variant` says how the peer is set up: NCHW or channels_last (CNN), torch.optim's
default implementation or foreach=True, flush-denormal mode on or off during its
epochs, and eager or torch.compile (the whole train step, or only the model).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import workloads

COMPILE_MODES = ("", "step", "model")
# Every compiled peer (trials, MLP and CNN, two batch shapes each) adds cache entries to the
# same code objects; torch.compile's default limit of 8 would silently fall back to eager.
RECOMPILE_LIMIT = 64


@dataclass(frozen=True)
class Variant:
    """How a hand-written peer is set up."""

    channels_last: bool = False
    foreach: bool | None = None  # None: torch.optim's default for these tensors
    flush_denormal: bool = False  # torch.set_flush_denormal(True) during its epochs
    compile: str = ""  # "": eager; "step": torch.compile(train step); "model": torch.compile(model)

    def label(self) -> str:
        parts = [] if not self.compile else [f"torch.compile({self.compile})"]
        parts.append("channels_last" if self.channels_last else "NCHW")
        parts.append("optim " + {None: "default", True: "foreach", False: "for-loop"}[self.foreach])
        parts.append("flush-denormal on" if self.flush_denormal else "flush-denormal off")
        return ", ".join(parts)


def flush_denormal_enabled() -> bool:
    """Whether denormal floats are flushed to zero now (torch has no getter: probe it)."""
    return bool((torch.tensor([1e-39], dtype=torch.float32) * 1.0)[0] == 0)


@contextlib.contextmanager
def flush_denormal(mode: bool) -> Iterator[None]:
    """Set torch's flush-denormal mode for a block; restore the previous mode afterwards."""
    previous = flush_denormal_enabled()
    if mode != previous:
        torch.set_flush_denormal(mode)
    try:
        yield
    finally:
        if mode != previous:
            torch.set_flush_denormal(previous)


def default_optim_impl(params: list[torch.Tensor]) -> str:
    """Which implementation torch.optim picks by default for these parameters."""
    from torch.optim.optimizer import _default_to_fused_or_foreach

    _, foreach = _default_to_fused_or_foreach(params, differentiable=False, use_fused=False)
    return "foreach" if foreach else "for-loop (single-tensor)"


class TorchPeer:
    """Model, optimizer and device tensors for one workload; times epochs, evaluate and predict."""

    def __init__(
        self,
        workload: str,
        images: np.ndarray,
        labels: np.ndarray,
        variant: Variant | None = None,
        device: str = "cpu",
        seed: int = 0,
    ) -> None:
        self.workload = workload
        self.variant = variant or Variant()
        if self.variant.compile not in COMPILE_MODES:
            raise ValueError(
                f"Expected a compile mode in {COMPILE_MODES}, received: compile={self.variant.compile!r}"
            )
        self.device = torch.device(device)
        torch.manual_seed(seed)
        self.model = workloads.build_torch(workload).to(self.device)
        self.x = self.to_input(images)
        self.y = torch.as_tensor(labels, dtype=torch.long, device=self.device)
        if self.variant.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = workloads.torch_optimizer(
            workload, self.model.parameters(), foreach=self.variant.foreach
        )
        self.default_impl = default_optim_impl(list(self.model.parameters()))
        self.forward: Any = self.model
        self.step: Any = self._step
        if self.variant.compile:
            import torch._dynamo.config as dynamo_config

            limit = max(dynamo_config.recompile_limit, RECOMPILE_LIMIT)
            dynamo_config.recompile_limit = limit
            # dynamic=False: the last, smaller batch gets its own static graph
            if self.variant.compile == "model":
                self.forward = torch.compile(self.model, dynamic=False)
            else:
                self.step = torch.compile(self._step, dynamic=False)

    def to_input(self, images: np.ndarray) -> torch.Tensor:
        """Scaled float32 device tensor: (N, 28, 28) for the MLP, (N, 1, 28, 28) for the CNN."""
        x = torch.as_tensor(images, device=self.device).float().div_(255.0)
        if self.workload == "cnn":
            x = x.unsqueeze(1)
            if self.variant.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimisation step; returns (summed loss, correct count), both detached."""
        logits = self.forward(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            return loss.detach() * yb.shape[0], (logits.argmax(1) == yb).sum()

    def train_epoch(self, steps: int | None = None) -> tuple[float, int, float, float]:
        """One shuffled epoch (or its first `steps` batches): (seconds, samples, mean loss, accuracy)."""
        x, y, step = self.x, self.y, self.step
        bs = workloads.BATCH_SIZE
        n = x.shape[0] if steps is None else min(x.shape[0], steps * bs)
        with flush_denormal(self.variant.flush_denormal):
            t0 = time.perf_counter()
            self.model.train()
            perm = torch.randperm(x.shape[0], device=self.device)
            loss_sum = torch.zeros((), device=self.device)
            correct = torch.zeros((), dtype=torch.long, device=self.device)
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                batch_loss, batch_correct = step(x[idx], y[idx])
                loss_sum += batch_loss
                correct += batch_correct
            mean_loss = loss_sum.item() / n
            acc = correct.item() / n
            seconds = time.perf_counter() - t0
        return seconds, n, mean_loss, acc

    def evaluate(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, int, float, float]:
        """Loss and accuracy under torch.inference_mode, batch 128: (seconds, samples, loss, acc)."""
        x, y = self._eval_tensors(images, labels)
        bs = workloads.BATCH_SIZE
        with flush_denormal(self.variant.flush_denormal):
            t0 = time.perf_counter()
            self.model.eval()
            with torch.inference_mode():
                loss_sum = torch.zeros((), device=self.device)
                correct = torch.zeros((), dtype=torch.long, device=self.device)
                for start in range(0, x.shape[0], bs):
                    xb, yb = x[start : start + bs], y[start : start + bs]
                    logits = self.model(xb)
                    loss_sum += F.cross_entropy(logits, yb, reduction="sum")
                    correct += (logits.argmax(1) == yb).sum()
                loss, acc = loss_sum.item() / x.shape[0], correct.item() / x.shape[0]
            seconds = time.perf_counter() - t0
        return seconds, x.shape[0], loss, acc

    def predict(self, images: np.ndarray) -> tuple[float, np.ndarray]:
        """Softmax probabilities under torch.inference_mode, batch 128, as one NumPy array."""
        x, _ = self._eval_tensors(images, None)
        bs = workloads.BATCH_SIZE
        with flush_denormal(self.variant.flush_denormal):
            t0 = time.perf_counter()
            self.model.eval()
            with torch.inference_mode():
                out = torch.empty((x.shape[0], workloads.NUM_CLASSES), device=self.device)
                for start in range(0, x.shape[0], bs):
                    torch.softmax(self.model(x[start : start + bs]), 1, out=out[start : start + bs])
                probs = out.cpu().numpy()
            seconds = time.perf_counter() - t0
        return seconds, probs

    def _eval_tensors(
        self, images: np.ndarray, labels: np.ndarray | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Device tensors for test data, converted once per array (outside the timed span)."""
        key = id(images)
        if getattr(self, "_eval_key", None) != key:
            self._eval_key = key
            self._eval_x = self.to_input(images)
            self._eval_y: dict[int, torch.Tensor] = {}
        if labels is not None and id(labels) not in self._eval_y:
            self._eval_y[id(labels)] = torch.as_tensor(labels, dtype=torch.long, device=self.device)
        return self._eval_x, None if labels is None else self._eval_y[id(labels)]
