"""RBM: a Bernoulli-Bernoulli restricted Boltzmann machine trained by contrastive divergence.

Binary visible units v and hidden units h, joined only across the two layers by W, have the
energy E(v, h) = -v.b - h.c - v W h. With no links inside a layer, p(h | v) = sigmoid(v W + c)
and p(v | h) = sigmoid(h W^T + b) factorise, so block Gibbs sampling alternates two matmuls.
CD-k estimates the log-likelihood gradient <v h>_data - <v h>_model with a chain of k Gibbs
steps started at the data (or, persistent CD, at the previous batch's chain).

    rbm = RBM(784, 64, k=1, seed=0)
    history = rbm.fit(x_binary, epochs=5, batch_size=64)   # x: (N, 784) of 0 and 1
    features = rbm.transform(x_binary)                     # p(h = 1 | v)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina.callbacks.history import History
from lamina.classic.arrays import (
    ArrayLike,
    as_states,
    check_unit_interval,
    generator,
    non_negative,
    positive_int,
    to_output,
)
from lamina.runtime.cpu import cpu_run_settings


@dataclass(frozen=True)
class CDGradient:
    """One CD-k estimate of the log-likelihood gradient (before weight decay), with the chain's
    end: the sampled visible states and their hidden probabilities."""

    weights: torch.Tensor
    visible_bias: torch.Tensor
    hidden_bias: torch.Tensor
    negative_visible: torch.Tensor
    negative_hidden: torch.Tensor


class RBM:
    """A Bernoulli-Bernoulli RBM of `n_visible` x `n_hidden` units.

    Args:
        n_visible, n_hidden: unit counts.
        k: Gibbs steps per gradient estimate (CD-k).
        persistent: keep the negative chain across batches (PCD) instead of restarting it at
            the data; its particles are as many as the first batch.
        learning_rate, momentum, weight_decay: the update v <- momentum v + lr (grad - decay W),
            W <- W + v (the biases take no decay).
        seed: seeds the initial weights, the Gibbs draws and the batch order (None: drawn from
            torch's global generator).
        init_std: standard deviation of the initial weights (Gaussian, zero mean).
        device: where the weights live and the Gibbs chains run ('cpu', 'cuda', ...; None:
            the CPU). Inputs may come from anywhere; NumPy results come back on the host.
    """

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        k: int = 1,
        persistent: bool = False,
        learning_rate: float = 0.1,
        momentum: float = 0.5,
        weight_decay: float = 1e-4,
        seed: int | None = None,
        init_std: float = 0.01,
        device: str | torch.device | None = None,
    ) -> None:
        self.n_visible = positive_int(n_visible, "n_visible")
        self.n_hidden = positive_int(n_hidden, "n_hidden")
        self.k = positive_int(k, "k")
        self.persistent = bool(persistent)
        self.learning_rate = non_negative(learning_rate, "learning_rate")
        self.momentum = non_negative(momentum, "momentum")
        if self.momentum >= 1:
            raise ValueError(f"Expected momentum in [0, 1), received: momentum={momentum!r}")
        self.weight_decay = non_negative(weight_decay, "weight_decay")
        self.init_std = non_negative(init_std, "init_std")
        self.seed = seed
        self.device = torch.device(device if device is not None else "cpu")
        self._generator = generator(seed, self.device)
        shape = (self.n_visible, self.n_hidden)
        on = {"device": self.device}
        self.weights = torch.randn(shape, generator=self._generator, **on) * self.init_std
        self.visible_bias = torch.zeros(self.n_visible, **on)
        self.hidden_bias = torch.zeros(self.n_hidden, **on)
        self._velocity = [
            torch.zeros(shape, **on),
            torch.zeros(self.n_visible, **on),
            torch.zeros(self.n_hidden, **on),
        ]
        self._chain: torch.Tensor | None = None
        self._trained = False

    # -- conditionals and sampling ------------------------------------------------------------
    def _hidden(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(v @ self.weights + self.hidden_bias)

    def _visible(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(h @ self.weights.T + self.visible_bias)

    def _bernoulli(self, p: torch.Tensor) -> torch.Tensor:
        return torch.bernoulli(p, generator=self._generator)

    def _gibbs(
        self, h: torch.Tensor, steps: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`steps` rounds h -> v -> h from sampled hidden states: (v sample, p(v|h), p(h|v))."""
        for step in range(steps):
            pv = self._visible(h)
            v = self._bernoulli(pv)
            ph = self._hidden(v)
            if step < steps - 1:
                h = self._bernoulli(ph)
        return v, pv, ph

    def _input(self, x: ArrayLike, name: str) -> tuple[torch.Tensor, bool, bool]:
        """(batch, n_visible) float32 tensor of values in [0, 1]; images are flattened."""
        if not isinstance(x, torch.Tensor):
            x = np.asarray(x)
        if x.ndim > 2 and int(np.prod(x.shape[1:])) == self.n_visible:
            x = x.reshape(x.shape[0], -1)
        v, was_tensor, single = as_states(x, name, self.n_visible)
        check_unit_interval(v, name)
        return v.to(self.device), was_tensor, single

    def transform(self, v: ArrayLike) -> Any:
        """p(h = 1 | v): the hidden units' probabilities, the RBM's features of v."""
        t, was_tensor, single = self._input(v, "v")
        return to_output(self._hidden(t), was_tensor, single)

    def reconstruct(self, v: ArrayLike) -> Any:
        """Mean-field reconstruction p(v | h = p(h | v)): v -> hidden probabilities -> v."""
        t, was_tensor, single = self._input(v, "v")
        return to_output(self._visible(self._hidden(t)), was_tensor, single)

    def free_energy(self, v: ArrayLike) -> Any:
        """F(v) = -v.b - sum_j softplus(c_j + (v W)_j), so that p(v) = exp(-F(v)) / Z."""
        t, was_tensor, single = self._input(v, "v")
        return to_output(self._free_energy(t), was_tensor, single)

    def _free_energy(self, v: torch.Tensor) -> torch.Tensor:
        return -v @ self.visible_bias - F.softplus(v @ self.weights + self.hidden_bias).sum(-1)

    def gibbs_sample(self, v: ArrayLike, steps: int = 1, mean: bool = False) -> Any:
        """Visible states after `steps` block Gibbs steps v -> h -> v from `v`; with `mean`, the
        last step's probabilities p(v | h) instead of a binary sample (smoother to look at)."""
        t, was_tensor, single = self._input(v, "v")
        steps = positive_int(steps, "steps")
        sample, pv, _ = self._gibbs(self._bernoulli(self._hidden(t)), steps)
        return to_output(pv if mean else sample, was_tensor, single)

    def sample(self, n: int, steps: int = 1000, mean: bool = False) -> Any:
        """(n, n_visible) NumPy draws from `n` chains of `steps` Gibbs steps each, started at
        v ~ Bernoulli(sigmoid(b)) (the visible biases alone); `mean` as in `gibbs_sample`."""
        n = positive_int(n, "n")
        start = self._bernoulli(torch.sigmoid(self.visible_bias).expand(n, -1))
        return self.gibbs_sample(start, steps, mean).cpu().numpy()

    # -- training ------------------------------------------------------------------------------
    def cd_gradient(self, v: ArrayLike) -> CDGradient:
        """The CD-k (or PCD-k) estimate for batch `v`: <v p(h|v)>_data - <v_k p(h|v_k)>_chain,
        each averaged over its own rows; the biases' terms likewise."""
        return self._cd(self._input(v, "v")[0])

    def _cd(self, v0: torch.Tensor) -> CDGradient:
        ph0 = self._hidden(v0)
        if self.persistent:
            if self._chain is None:
                self._chain = self._bernoulli(v0)
            start = self._bernoulli(self._hidden(self._chain))
        else:
            start = self._bernoulli(ph0)
        vk, _, phk = self._gibbs(start, self.k)
        if self.persistent:
            self._chain = vk
        return CDGradient(
            weights=v0.T @ ph0 / len(v0) - vk.T @ phk / len(vk),
            visible_bias=v0.mean(0) - vk.mean(0),
            hidden_bias=ph0.mean(0) - phk.mean(0),
            negative_visible=vk,
            negative_hidden=phk,
        )

    def train_step(self, v: ArrayLike) -> float:
        """One CD-k update on batch `v`; returns the batch's mean squared reconstruction error
        (mean-field, per unit) before the update."""
        return self._train_step(self._input(v, "v")[0])

    def _train_step(self, v0: torch.Tensor) -> float:
        grad = self._cd(v0)
        error = float(((v0 - self._visible(self._hidden(v0))) ** 2).mean())
        steps = (
            grad.weights - self.weight_decay * self.weights,
            grad.visible_bias,
            grad.hidden_bias,
        )
        for velocity, step in zip(self._velocity, steps):
            velocity.mul_(self.momentum).add_(step, alpha=self.learning_rate)
        self.weights = self.weights + self._velocity[0]
        self.visible_bias = self.visible_bias + self._velocity[1]
        self.hidden_bias = self.hidden_bias + self._velocity[2]
        return error

    def pseudo_log_likelihood(self, v: ArrayLike) -> Any:
        """Per-sample stochastic pseudo-log-likelihood: n_visible * log sigmoid(F(v~) - F(v)),
        with v~ the sample with one random unit flipped (cheap; the exact log-likelihood needs
        the partition function)."""
        t, was_tensor, single = self._input(v, "v")
        unit = torch.randint(
            0, self.n_visible, (len(t),), generator=self._generator, device=self.device
        )
        flipped = t.clone()
        rows = torch.arange(len(t), device=self.device)
        flipped[rows, unit] = 1 - flipped[rows, unit]
        gap = self._free_energy(flipped) - self._free_energy(t)
        return to_output(self.n_visible * F.logsigmoid(gap), was_tensor, single)

    def fit(
        self,
        x: ArrayLike,
        epochs: int = 1,
        batch_size: int = 100,
        shuffle: bool = True,
        verbose: int = 0,
        pseudo_likelihood: bool = True,
    ) -> History:
        """Trains on (N, n_visible) data in [0, 1] (binary for a Bernoulli RBM), or (N, ...)
        images of n_visible pixels; returns a History whose `history` holds, per epoch, the
        mean 'reconstruction_error' over the batches and (when `pseudo_likelihood`) the mean
        'pseudo_log_likelihood' of up to 1,000 training samples after the epoch.

        The first fit sets each visible bias to log(p / (1 - p)) of its unit's mean in the
        data (p clipped to [0.01, 0.99]), so the RBM starts from the data's marginals."""
        data, _, _ = self._input(x, "x")
        epochs = positive_int(epochs, "epochs")
        batch_size = positive_int(batch_size, "batch_size")
        if not self._trained:
            p = data.mean(0).clamp(0.01, 0.99)
            self.visible_bias = torch.log(p / (1 - p))
            self._trained = True
        history = History()
        history.on_train_begin()
        with cpu_run_settings(self.device):  # as Model.fit: denormals flushed, threads capped
            for epoch in range(epochs):
                start = time.perf_counter()
                logs = self._epoch(data, batch_size, shuffle, pseudo_likelihood)
                history.on_epoch_end(epoch, logs)
                if verbose:
                    shown = " - ".join(f"{key}: {value:.4f}" for key, value in logs.items())
                    seconds = time.perf_counter() - start
                    print(f"Epoch {epoch + 1}/{epochs} - {seconds:.1f}s - {shown}")
        return history

    def _epoch(
        self, data: torch.Tensor, batch_size: int, shuffle: bool, pseudo_likelihood: bool
    ) -> dict[str, float]:
        """One pass over `data` in mini-batches: the epoch's logs."""
        n = len(data)
        on = {"device": self.device}
        order = (
            torch.randperm(n, generator=self._generator, **on) if shuffle else torch.arange(n, **on)
        )
        starts = range(0, n, batch_size)
        errors = [self._train_step(data[order[i : i + batch_size]]) for i in starts]
        sizes = [min(batch_size, n - i) for i in starts]
        logs = {"reconstruction_error": float(np.average(errors, weights=sizes))}
        if pseudo_likelihood:
            logs["pseudo_log_likelihood"] = float(self.pseudo_log_likelihood(data[:1000]).mean())
        return logs

    # -- inspection ----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "n_visible": self.n_visible,
            "n_hidden": self.n_hidden,
            "k": self.k,
            "persistent": self.persistent,
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
            "init_std": self.init_std,
            "device": None if self.device.type == "cpu" else str(self.device),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RBM:
        return cls(**config)

    def get_weights(self) -> list[np.ndarray]:
        """[W (n_visible, n_hidden), visible bias b, hidden bias c] as NumPy copies."""
        tensors = (self.weights, self.visible_bias, self.hidden_bias)
        return [t.cpu().numpy().copy() for t in tensors]

    def set_weights(self, weights: list[ArrayLike]) -> None:
        """Sets [W, b, c] (as `get_weights` returns); a model given weights counts as trained."""
        shapes = [(self.n_visible, self.n_hidden), (self.n_visible,), (self.n_hidden,)]
        if not isinstance(weights, (list, tuple)) or len(weights) != 3:
            raise ValueError(
                "Expected a list [W, visible_bias, hidden_bias], as get_weights() returns, "
                f"received: weights of type {type(weights).__name__}"
                + (f", len(weights)={len(weights)}" if isinstance(weights, (list, tuple)) else "")
            )
        arrays = [np.asarray(w, dtype=np.float32) for w in weights]
        for name, array, shape in zip(("W", "visible_bias", "hidden_bias"), arrays, shapes):
            if array.shape != shape:
                raise ValueError(
                    f"Expected {name} of shape {shape}, received: {name}.shape={array.shape}"
                )
        self.weights, self.visible_bias, self.hidden_bias = (
            torch.tensor(a, device=self.device) for a in arrays
        )
        self._trained = True

    def __repr__(self) -> str:
        return (
            f"RBM(n_visible={self.n_visible}, n_hidden={self.n_hidden}, k={self.k}, "
            f"persistent={self.persistent})"
        )
