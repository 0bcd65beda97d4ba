"""The optimizer base class: Keras 3's optimizer API over a lazily built `torch.optim`.

    opt = optimizers.Adam(learning_rate=1e-3, global_clipnorm=1.0)
    opt.build(trainable_params)            # once, by the engine
    loss.backward(); opt.step(); opt.zero_grad()
    opt.apply(grads, trainable_params)     # Keras 3's API, e.g. in a custom train_step

An optimizer is created unbound; `build(params)` creates the torch optimizer (fused
kernels where torch has them, else foreach). Every update, eager or compiled, goes
through `update.apply_update` (loss scale, clipping, weight decay, the rule, the
moving average, constraints); `step()` adds the host-side work around it: the
schedule's rate before, the step count after.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import torch

from lamina import registry
from lamina.optimizers import schedules
from lamina.optimizers.ema import WeightAverage
from lamina.optimizers.learning_rate import LearningRate
from lamina.optimizers.schedules import LearningRateSchedule
from lamina.optimizers.update import apply_update
from lamina.optimizers.variable_paths import path_of
from lamina.runtime.optim_without_dynamo import construct_optimizer, step_optimizer

# Keras 3 arguments accepted only at their defaults (features Lamina does not implement).
_UNSUPPORTED = {"gradient_accumulation_steps": None}
# The base arguments every optimizer's config carries, after its own.
_CONFIG = [
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
]
_COMMON = ["learning_rate", *_CONFIG, "name"]


def _snake_case(name: str) -> str:
    """Keras's automatic optimizer name: "AdamW" -> "adam_w", "RMSprop" -> "rm_sprop"."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _compiler_disable(fn: Any) -> Any:
    """`torch.compiler.disable(fn)` that imports the compiler only when a compile reaches `fn`.

    `torch.compiler.disable` imports torch._dynamo at once (most of `import lamina`'s
    time); eager calls go straight to `fn`, and Dynamo, tracing this wrapper, sees
    `is_compiling()` true and calls the disabled function, which graph-breaks around it.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if torch.compiler.is_compiling():
            return torch.compiler.disable(fn)(*args, **kwargs)
        return fn(*args, **kwargs)

    return wrapper


class Optimizer(LearningRate):
    """Base class: Keras's optimizer API over a lazily built `torch.optim` optimizer.

    Common arguments, as in Keras 3: `learning_rate` (float, `LearningRateSchedule` or
    a zero-argument callable), `weight_decay` (decoupled, `w -= lr * wd * w` before the
    update), `clipnorm` (per tensor), `clipvalue`, `global_clipnorm` (torch's
    `clip_grad_norm_`, whose denominator adds 1e-6), `use_ema`, `ema_momentum`,
    `ema_overwrite_frequency` (a moving average of the weights, `optimizers.ema`),
    `loss_scale_factor` (the engine multiplies the loss by it, the update divides the
    gradients), `name`. Keras 1/2 spellings: `lr=` (FutureWarning) and `decay=` (rate
    `lr / (1 + decay * iterations)`).
    """

    _torch_class: ClassVar[Any] = None
    _fusable: ClassVar[bool] = False  # torch has fused=True for this optimizer
    _owns_groups: ClassVar[bool] = True  # param-group hyperparameters come from this object
    _rule_decays: ClassVar[bool] = False  # the rule applies weight decay itself (Muon)

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        self.name = name or _snake_case(type(self).__name__)
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
            warnings.warn(
                f"Optimizer '{self.name}': `lr` is deprecated, use `learning_rate={learning_rate!r}`.",
                FutureWarning,
                stacklevel=3,
            )
        self.decay = self._number("decay", kwargs.pop("decay", None) or 0.0)
        kwargs.pop("jit_compile", None)  # tf.keras argument; compilation is the engine's choice
        for key, default in _UNSUPPORTED.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(
                    f"Optimizer '{self.name}' expected {key}={default!r} (not supported)."
                )
        if kwargs:
            key = next(iter(kwargs))
            own = [
                p
                for p in inspect.signature(type(self).__init__).parameters
                if p not in ("self", "kwargs")
            ]
            hint = registry.closest(key, own + _COMMON + ["lr", "decay"])
            raise TypeError(
                f"Optimizer '{self.name}' expected known arguments, received: {key}={kwargs[key]!r}."
                + (f" Did you mean: {', '.join(repr(h) for h in hint)}?" if hint else "")
            )
        self.weight_decay = (
            None if weight_decay is None else self._number("weight_decay", weight_decay)
        )
        self.clipnorm = None if clipnorm is None else self._number("clipnorm", clipnorm, True)
        self.clipvalue = None if clipvalue is None else self._number("clipvalue", clipvalue, True)
        self.global_clipnorm = (
            None
            if global_clipnorm is None
            else self._number("global_clipnorm", global_clipnorm, True)
        )
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(
                f"Optimizer '{self.name}' expected at most one of clipnorm and global_clipnorm, "
                f"received: clipnorm={clipnorm}, global_clipnorm={global_clipnorm}"
            )
        self._ema_arguments(use_ema, ema_momentum, ema_overwrite_frequency)
        self.loss_scale_factor = (
            None
            if loss_scale_factor is None
            else self._number("loss_scale_factor", loss_scale_factor, True)
        )
        self.iterations = torch.zeros(
            (), dtype=torch.int64
        )  # steps taken; never read on the hot path
        self._steps = 0  # host copy, for schedules
        self._params: list[torch.Tensor] | None = None
        self._torch: Any = None
        self._flags: dict[str, bool] = {}
        self._pending: dict[str, Any] | None = None
        self._lr: Any = None
        self._state_bound = False  # a compiled step holds the state tensors (bind_state)
        self.learning_rate = learning_rate

    def _ema_arguments(self, use_ema: Any, momentum: Any, frequency: Any) -> None:
        self.use_ema = bool(use_ema)
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, (int, float))
            or not (0 <= momentum <= 1)
        ):
            raise ValueError(
                f"Optimizer '{self.name}' expected ema_momentum in [0, 1], "
                f"received: ema_momentum={momentum!r}"
            )
        self.ema_momentum = float(momentum)
        if frequency is not None and (
            isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 1
        ):
            raise ValueError(
                f"Optimizer '{self.name}' expected ema_overwrite_frequency an int >= 1 or None, "
                f"received: ema_overwrite_frequency={frequency!r}"
            )
        self.ema_overwrite_frequency = frequency
        # the averages (None without use_ema); apply_update advances them
        self.ema = WeightAverage(self.ema_momentum, frequency) if self.use_ema else None

    def _number(
        self, name: str, value: Any, positive: bool = False, below: float = float("inf")
    ) -> float:
        """`value` as a float >= 0 (> 0 if `positive`) and < `below`, else a clear ValueError."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = float("nan")
        if isinstance(value, bool) or not 0 <= v < below or (positive and v == 0):
            bound = ("> 0" if positive else ">= 0") + (
                f" and < {below}" if below < float("inf") else ""
            )
            raise ValueError(
                f"Optimizer '{self.name}' expected {name} {bound}, received: {name}={value!r}"
            )
        return v

    def exclude_from_weight_decay(
        self, var_list: Iterable[Any] | None = None, var_names: Iterable[str] | None = None
    ) -> None:
        """Keras API, before `build`: no weight decay for the weights in `var_list`, nor for
        those whose name (the last part of their path, `variable_paths.tag_paths`)
        contains a match of any regular expression in `var_names`."""
        if self.built:
            raise ValueError(
                f"Optimizer '{self.name}' expected exclude_from_weight_decay() before build(), "
                "received: a built optimizer"
            )
        self._no_decay_ids = {id(v) for v in var_list or []}
        names = sorted(set(var_names or []))
        self._no_decay_pattern = re.compile("|".join(names)) if names else None

    def decayed_params(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        """The weights of `params` that weight decay applies to (Keras's `_use_weight_decay`)."""
        ids, pattern = (
            getattr(self, "_no_decay_ids", None),
            getattr(self, "_no_decay_pattern", None),
        )
        if not ids and pattern is None:
            return params
        return [
            p
            for p in params
            if id(p) not in (ids or ())
            and not (pattern is not None and pattern.search(path_of(p).rsplit("/", 1)[-1]))
        ]

    # ------------------------------------------------------------------ build
    def _torch_hparams(self) -> dict[str, Any]:
        """Arguments of `_torch_class` besides params, lr and foreach/fused."""
        return {}

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> Any:
        kwargs = {"lr": lr, **self._torch_hparams()}
        floats = all(p.dtype in (torch.float32, torch.float64) for p in params)
        if self._fusable and floats and {p.device.type for p in params} <= {"cpu", "cuda"}:
            try:  # fused kernels: same results as foreach for float32/64, faster on the CPU
                self._flags = {"fused": True}
                return construct_optimizer(self._torch_class, params, **kwargs, fused=True)
            except (RuntimeError, ValueError):
                pass
        self._flags = {"foreach": True}
        return construct_optimizer(self._torch_class, params, **kwargs, foreach=True)

    def build(self, params: Iterable[torch.Tensor]) -> None:
        """Create the torch optimizer for `params` (the trainable parameters, stable order).

        A no-op for the same parameters; another set rebuilds, keeping the state
        (moments, step) of the parameters present in both.
        """
        params = list({id(p): p for p in params}.values())
        if self._params is not None and len(params) == len(self._params):
            if all(a is b for a, b in zip(params, self._params)):
                return
        old, old_params, self._params = self._torch, self._params, params
        self._torch = self._make_torch(params, self._sync_lr()) if params else None
        if self.ema is not None:
            self.ema.build(params, old_params)
        if old is not None and self._torch is not None:
            for p in params:
                if p in old.state:
                    self._torch.state[p] = old.state[p]
            self._complete_state(params)
        if self._pending is not None and self._torch is not None:
            pending, self._pending = self._pending, None
            self._load_torch(pending)

    def _complete_state(self, params: list[torch.Tensor]) -> None:
        """After a rebuild kept the state of some parameters: give the new ones theirs, when
        the torch optimizer cannot mix parameters with and without state (SGD's buffers)."""

    @property
    def built(self) -> bool:
        return self._params is not None

    @property
    def torch_optimizer(self) -> Any:
        """The underlying `torch.optim.Optimizer` (None before `build`)."""
        return self._torch

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The torch param groups (lets `torch.amp.GradScaler.unscale_` accept this object)."""
        return self._torch.param_groups if self._torch is not None else []

    # ------------------------------------------------------------------- step
    @_compiler_disable  # host-side counters would make torch.compile recompile every step
    @torch.no_grad()
    def step(self, constraints: Iterable[Any] = ()) -> None:
        """Update the parameters from their `.grad` and count the step.

        `constraints`: layers whose `apply_constraints()` runs after the update (the
        engine passes the model's constrained layers).
        """
        if self._params is None:
            raise RuntimeError(
                f"Optimizer '{self.name}' expected build(params) before step(), received: an unbuilt optimizer"
            )
        if self._torch is not None:
            self.before_update()
            self.update(constraints)
        self.count_step()

    def update(self, constraints: Iterable[Any] = ()) -> None:
        """`apply_update` from `p.grad` with torch.optim's step as the rule (its foreach or
        fused kernels), without the host-side work of `step()` (the caller does it)."""
        params = self._params
        grads = [p.grad for p in params]
        if any(g is None for g in grads):  # no gradient: neither decayed nor updated
            params = [p for p in params if p.grad is not None]
            grads = [p.grad for p in params]
        apply_update(self, params, grads, self._torch.param_groups[0]["lr"], self._torch_step,
                     constraints)  # fmt: skip

    def _torch_step(self, params: list[torch.Tensor], grads: list[torch.Tensor], lr: Any) -> None:
        """The eager rule: torch.optim reads the gradients from `p.grad` (the same tensors)."""
        step_optimizer(self._torch)

    def bind_state(self) -> None:
        """A compiled step now holds the weights' and state's tensor objects: from here on
        they must stay the same objects (no eager re-layout may replace them)."""
        self._state_bound = True

    def count_step(self) -> None:
        self.iterations.add_(1)
        self._steps += 1

    def zero_grad(self) -> None:
        """Set every gradient to None (the next backward writes fresh tensors)."""
        for p in self._params or []:
            p.grad = None

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """Keras API: the loss times `loss_scale_factor` (the update divides the gradients)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def apply(self, grads: Sequence[Any], trainable_variables: Iterable[Any] | None = None) -> None:
        """Keras API: update `trainable_variables` (default: the built ones) from `grads`.

        Builds on first use. A None gradient leaves its variable alone; other parameters
        stay untouched, and every `.grad` is restored afterwards. Goes through the same
        `apply_update` as `fit`.
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"Optimizer '{self.name}' expected trainable_variables or build(variables) "
                    "before apply(grads), received: an unbuilt optimizer"
                )
            variables = list(self._params)
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Optimizer '{self.name}' expected one gradient per variable, received: "
                f"{len(grads)} gradients for {len(variables)} variables"
            )
        known = {id(p) for p in self._params or []}
        unknown = [tuple(v.shape) for v in variables if id(v) not in known]
        if unknown:
            raise ValueError(
                f"Optimizer '{self.name}' expected the variables it was built with, received: unknown "
                f"variables of shapes {unknown}. Create a new optimizer for new variables."
            )
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError(
                f"Optimizer '{self.name}' expected at least one gradient, received: all None"
            )
        saved = [(p, p.grad) for p in self._params or []]
        in_place = self._mutates_grads()
        try:
            self.zero_grad()
            for g, v in pairs:
                g = torch.as_tensor(g).to(device=v.device, dtype=v.dtype)
                v.grad = g.clone() if in_place else g  # the update scales gradients in place
            self.step(constraints=_constraining_layers(v for _, v in pairs))
        finally:
            for p, g in saved:
                p.grad = g

    def _mutates_grads(self) -> bool:
        """True when the update scales gradients in place (`apply` then hands it copies)."""
        return self.loss_scale_factor is not None or any(
            c is not None for c in (self.clipnorm, self.clipvalue, self.global_clipnorm)
        )

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, torch.Tensor]]) -> torch.Tensor:
        """Keras API: `apply` on (gradient, variable) pairs; returns `iterations`."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    def minimize(self, loss: Any, var_list: list[torch.Tensor]) -> torch.Tensor:
        """Keras API: one step on `loss` (a scalar tensor or a zero-argument callable)."""
        loss = self.scale_loss(loss() if callable(loss) else loss)
        grads = torch.autograd.grad(loss, var_list, allow_unused=True)
        return self.apply_gradients(zip(grads, var_list))

    def finalize_variable_values(self, var_list: Iterable[torch.Tensor]) -> None:
        """Keras API, called at the end of `fit`: with `use_ema`, copy the moving averages
        into `var_list` (variables this optimizer was built with)."""
        if self.ema is None or not self.built:
            return
        variables = list(var_list)
        known = {id(p) for p in self._params}
        unknown = [tuple(v.shape) for v in variables if id(v) not in known]
        if unknown:
            raise ValueError(
                f"Optimizer '{self.name}' expected the variables it was built with, received: "
                f"unknown variables of shapes {unknown}"
            )
        self.ema.overwrite(self._params, variables)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """A snapshot (copies) of the step count, the learning rate, the torch state and the
        moving averages."""
        return {
            "iterations": self._steps,
            "learning_rate": self._lr if isinstance(self._lr, float) else None,
            "torch": copy.deepcopy(self._torch.state_dict()) if self._torch is not None else None,
            "ema": self.ema.state_dict() if self.ema is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a `state_dict()`; before `build`, its torch part is applied at build time."""
        self._steps = int(state.get("iterations", 0))
        self.iterations.fill_(self._steps)
        if state.get("learning_rate") is not None and not callable(self._lr):
            self._lr = float(state["learning_rate"])
        if state.get("torch") is not None:
            if self._torch is None:
                self._pending = copy.deepcopy(state["torch"])
            else:
                self._load_torch(copy.deepcopy(state["torch"]))
        if state.get("ema") is not None and self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        if self._owns_groups:
            self._sync_lr()

    def _load_torch(self, torch_state: dict[str, Any]) -> None:
        dtypes = {  # torch casts float state to the param dtype (e.g. NAdam's float32 mu_product)
            (i, k): v.dtype
            for i, s in torch_state.get("state", {}).items()
            for k, v in s.items()
            if isinstance(v, torch.Tensor)
        }
        try:
            self._torch.load_state_dict(torch_state)
            for saved, live in zip(torch_state["param_groups"], self._torch.param_groups):
                for i, p in zip(saved["params"], live["params"]):
                    for k, v in self._torch.state.get(p, {}).items():
                        if isinstance(v, torch.Tensor) and dtypes.get((i, k), v.dtype) != v.dtype:
                            self._torch.state[p][k] = v.to(dtypes[(i, k)])
        except ValueError as err:
            raise ValueError(
                f"Optimizer '{self.name}' expected state saved for the same {len(self._params or [])} "
                f"parameters, received: incompatible state ({err})"
            ) from err
        if self._owns_groups:  # this object's hyperparameters win over the saved ones
            for group in self._torch.param_groups:
                group.update({**self._torch_hparams(), **self._flags})
            self._sync_lr()
        elif isinstance(self._lr, float):  # a wrapped torch optimizer keeps its group rates
            self._lr = float(self._torch.param_groups[0]["lr"])

    # ----------------------------------------------------------------- config
    def _own_config(self) -> dict[str, Any]:
        return {}

    def get_config(self) -> dict[str, Any]:
        lr = (
            schedules.serialize(self._lr)
            if isinstance(self._lr, LearningRateSchedule)
            else self._lr
        )
        config = {"name": self.name, "learning_rate": lr, **self._own_config()}
        config.update({k: getattr(self, k) for k in _CONFIG})
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


def _constraining_layers(variables: Iterable[Any]) -> list[Any]:
    """The layers whose constraints project `variables` (as Keras applies each variable's
    constraint in `apply`), each once, in order."""
    layers: list[Any] = []
    for v in variables:
        ref = getattr(v, "_lamina_constrained_by", None)
        layer = ref() if ref is not None else None
        if layer is not None and all(layer is not seen for seen in layers):
            layers.append(layer)
    return layers
