"""The hand-written PyTorch eager peer: the loop a competent PyTorch user writes.

Data tensors live on the device once; each epoch draws a `torch.randperm` index
and gathers batches by slicing it; the model returns logits and `F.cross_entropy`
takes integer class targets (the PyTorch idiom for the same one-hot labels); loss
sum and correct count accumulate on the device with one `.item()` per epoch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
import workloads


@dataclass
class Variant:
    """How the peer is set up: memory format (CNN) and torch.optim implementation."""

    channels_last: bool = False
    foreach: bool | None = None  # None: torch.optim's default for these tensors

    def label(self) -> str:
        fmt = "channels_last" if self.channels_last else "NCHW"
        impl = {None: "default", True: "foreach", False: "for-loop"}[self.foreach]
        return f"{fmt}, optim {impl}"


def default_optim_impl(params: list[torch.Tensor]) -> str:
    """Which implementation torch.optim picks by default for these parameters."""
    from torch.optim.optimizer import _default_to_fused_or_foreach

    _, foreach = _default_to_fused_or_foreach(params, differentiable=False, use_fused=False)
    return "foreach" if foreach else "for-loop (single-tensor)"


class TorchPeer:
    """Model, optimizer and device tensors for one workload; times epochs and evaluation."""

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

    def to_input(self, images: np.ndarray) -> torch.Tensor:
        """Scaled float32 device tensor: (N, 28, 28) for the MLP, (N, 1, 28, 28) for the CNN."""
        x = torch.as_tensor(images, device=self.device).float().div_(255.0)
        if self.workload == "cnn":
            x = x.unsqueeze(1)
            if self.variant.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
        return x

    def train_epoch(self, steps: int | None = None) -> tuple[float, int, float, float]:
        """One shuffled epoch (or its first `steps` batches): (seconds, samples, mean loss, accuracy)."""
        model, opt, x, y = self.model, self.opt, self.x, self.y
        bs = workloads.BATCH_SIZE
        n = x.shape[0] if steps is None else min(x.shape[0], steps * bs)
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(x.shape[0], device=self.device)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            xb, yb = x[idx], y[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * yb.shape[0]
                correct += (logits.argmax(1) == yb).sum()
        mean_loss = loss_sum.item() / n
        acc = correct.item() / n
        return time.perf_counter() - t0, n, mean_loss, acc

    def evaluate(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, int, float, float]:
        """Loss and accuracy under torch.inference_mode, batch 128: (seconds, samples, loss, acc)."""
        x, y = self._eval_tensors(images, labels)
        bs = workloads.BATCH_SIZE
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
        return time.perf_counter() - t0, x.shape[0], loss, acc

    def _eval_tensors(
        self, images: np.ndarray, labels: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        key = (id(images), id(labels))
        if getattr(self, "_eval_key", None) != key:
            self._eval_key = key
            self._eval = (
                self.to_input(images),
                torch.as_tensor(labels, dtype=torch.long, device=self.device),
            )
        return self._eval
