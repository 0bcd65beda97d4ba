"""Keep a model's training exactly as it was around an extra forward pass.

A Diagnostics probe runs the model once more on a batch, in training mode, to read its
gradients and activations. That pass must leave no trace: dropout draws from random
generators (torch's global ones, and a layer's own when it has a seed), BatchNormalization
updates its moving statistics, and a seeded op advances its `SeedGenerator`.
`PreservedState` saves all of that on entry and puts it back on exit, so a fit with
diagnostics gives the same weights as one without.

    with PreservedState(model):
        model(x, training=True)      # dropout masks and BN statistics: restored afterwards
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import torch


class PreservedState:
    """Context manager: saves random generators and non-trainable tensors, then restores them.

    Saved: torch's global CPU generator (and every CUDA device's when CUDA is initialised),
    every `torch.Generator` and `SeedGenerator` held as an attribute of a module of the
    model, every buffer, and every parameter that does not require grad (Keras's
    non-trainable weights, e.g. BatchNormalization's moving mean and variance). A
    generator a layer creates on its first call (a seeded Dropout's) is taken away again,
    so the training step creates it afresh as it would have. Trainable weights are not
    saved: the probe only reads them.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self._cpu_rng: torch.Tensor | None = None
        self._cuda_rng: list[torch.Tensor] | None = None
        self._generators: list[tuple[torch.Generator, torch.Tensor]] = []
        self._seeds: list[tuple[Any, torch.Tensor, torch.Tensor]] = []
        self._tensors: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._before: list[tuple[Any, dict[str, Any]]] = []  # each module's random state attributes

    def __enter__(self) -> PreservedState:
        self._cpu_rng = torch.get_rng_state()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            self._cuda_rng = torch.cuda.get_rng_state_all()
        for module in self.model.modules():
            for value in vars(module).values():
                if isinstance(value, torch.Generator):
                    self._generators.append((value, value.get_state()))
                elif _is_seed_generator(value):
                    self._seeds.append((value, value.state, value.state.clone()))
            self._before.append((module, _random_attributes(module)))
        with torch.no_grad():
            self._tensors = [(b, b.detach().clone()) for b in self.model.buffers()]
            self._tensors += [
                (p, p.detach().clone()) for p in self.model.parameters() if not p.requires_grad
            ]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with torch.no_grad():
            for tensor, saved in self._tensors:
                tensor.copy_(saved)
        for module, before in self._before:
            for name, value in _random_attributes(module).items():
                if before.get(name, _MISSING) is not value:  # made during the probe
                    _put_back(module, name, before)
        for generator, state in self._generators:
            generator.set_state(state)
        for seed, tensor, state in self._seeds:  # the same tensor, as it was (a draw may
            seed.state = tensor  # advance it in place or rebind it)
            tensor.copy_(state)
        if self._cpu_rng is not None:
            torch.set_rng_state(self._cpu_rng)
        if self._cuda_rng is not None:
            torch.cuda.set_rng_state_all(self._cuda_rng)
        self._tensors, self._generators, self._seeds, self._before = [], [], [], []


_MISSING = object()


def _random_attributes(module: Any) -> dict[str, Any]:
    """The module's attributes holding a generator, or None (a generator not made yet)."""
    return {
        name: value
        for name, value in vars(module).items()
        if value is None or isinstance(value, torch.Generator) or _is_seed_generator(value)
    }


def _is_seed_generator(value: Any) -> bool:
    """A `lamina.random.SeedGenerator` (or a look-alike): a counter in a `state` tensor."""
    return isinstance(getattr(value, "state", None), torch.Tensor) and callable(
        getattr(value, "next", None)
    )


def _put_back(module: Any, name: str, before: dict[str, Any]) -> None:
    if name in before:
        module.__dict__[name] = before[name]
    else:
        del module.__dict__[name]
