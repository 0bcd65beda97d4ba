"""Keras-named optimizers backed by `torch.optim`, with Keras's defaults.

    opt = optimizers.Adam(learning_rate=1e-3, global_clipnorm=1.0)
    opt.build(trainable_params)            # once, by the engine
    loss.backward(); opt.step(); opt.zero_grad()

An optimizer is created unbound; `build(params)` creates the torch optimizer (fused
kernels where torch has them, else foreach). `step()` clips gradients, applies Keras's
decoupled weight decay, runs the torch update and increments `iterations`. Schedules
(`lamina.schedules`) are evaluated on the host from the step count.
"""

from __future__ import annotations

import copy
import functools
import inspect
import warnings
from collections.abc import Iterable
from typing import Any, ClassVar

import torch

from lamina import registry
from lamina.optimizers import schedules
from lamina.optimizers.schedules import LearningRateSchedule

# Keras 3 arguments accepted only at their defaults (features Lamina does not implement).
_UNSUPPORTED = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}
_COMMON = ["learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "name"]


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


def _undecorated_step(cls: type) -> Any:
    """`cls.step` without torch.optim's `_use_grad` / profiling wrappers."""
    fn = cls.step
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn


class Optimizer:
    """Base class: Keras's optimizer API over a lazily built `torch.optim` optimizer.

    Common arguments, as in Keras: `learning_rate` (float, `LearningRateSchedule` or a
    zero-argument callable), `weight_decay` (decoupled, `w -= lr * wd * w` before the
    update), `clipnorm` (per tensor), `clipvalue`, `global_clipnorm` (torch's
    `clip_grad_norm_`, whose denominator adds 1e-6), `name`. Keras 1/2 spellings: `lr=`
    (FutureWarning) and `decay=` (rate `lr / (1 + decay * iterations)`).
    """

    _torch_class: ClassVar[Any] = None
    _fusable: ClassVar[bool] = False  # torch has fused=True for this optimizer
    _torch_weight_decay: ClassVar[bool] = False  # torch applies the decoupled decay itself
    _owns_groups: ClassVar[bool] = True  # param-group hyperparameters come from this object

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        self.name = name or type(self).__name__.lower()
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
        self.iterations = torch.zeros(
            (), dtype=torch.int64
        )  # steps taken; never read on the hot path
        self._steps = 0  # host copy, for schedules
        self._params: list[torch.Tensor] | None = None
        self._torch: Any = None
        self._flags: dict[str, bool] = {}
        self._pending: dict[str, Any] | None = None
        self._lr: Any = None
        self.learning_rate = learning_rate

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

    # --------------------------------------------------------- learning rate
    @property
    def learning_rate(self) -> float:
        """The current rate as a float (a schedule is evaluated at `iterations`)."""
        if isinstance(self._lr, LearningRateSchedule):
            return float(self._lr(self._steps))
        return float(self._lr()) if callable(self._lr) else self._lr

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(value, LearningRateSchedule) or (
            callable(value) and not isinstance(value, torch.Tensor)
        ):
            self._lr = value
        elif isinstance(self._lr, LearningRateSchedule):
            raise TypeError(
                f"Optimizer '{self.name}' uses a LearningRateSchedule; expected a schedule, received: "
                f"learning_rate={value!r}. Create the optimizer with a float rate to set it directly."
            )
        else:
            self._lr = self._number("learning_rate", value)
        self._sync_lr()

    lr = learning_rate  # Keras 1/2 attribute name

    @property
    def schedule(self) -> LearningRateSchedule | None:
        """The LearningRateSchedule in use, or None."""
        return self._lr if isinstance(self._lr, LearningRateSchedule) else None

    def _sync_lr(self) -> float:
        lr = self.learning_rate
        lr = lr / (1.0 + self.decay * self._steps) if self.decay else lr
        if self._torch is not None:
            for group in self._torch.param_groups:
                if isinstance(group["lr"], torch.Tensor):  # a compiled step reads it as an input
                    group["lr"].fill_(lr)
                else:
                    group["lr"] = lr
        return lr

    def rates_ahead(self, n: int) -> list[float] | None:
        """The rates of the next `n` steps, or None when the rate cannot change between them.

        A compiled step that runs several updates per call (steps_per_execution) takes
        these as one tensor, so a schedule advances on every update, as in eager steps.
        """
        if not (self.decay or isinstance(self._lr, LearningRateSchedule)):
            return None
        start, rates = self._steps, []
        try:
            for k in range(n):
                self._steps = start + k
                lr = self.learning_rate
                rates.append(lr / (1.0 + self.decay * self._steps) if self.decay else lr)
        finally:
            self._steps = start
        return rates

    def use_tensor_lr(self) -> bool:
        """Hold the rate as a 0-d tensor, so a compiled step sees changes without recompiling.

        Returns False (rate stays a float) when torch rejects a tensor rate for this
        optimizer (e.g. foreach Adam without capturable).
        """
        if self._torch is None or not self._owns_groups:
            return False
        if all(isinstance(g["lr"], torch.Tensor) for g in self._torch.param_groups):
            return True
        if self._torch_class is torch.optim.Adam and "foreach" in self._flags:
            return False
        device = self._params[0].device if self._params else None
        for group in self._torch.param_groups:
            group["lr"] = torch.tensor(float(group["lr"]), device=device)
        return True

    # ------------------------------------------------------------------ build
    def _torch_hparams(self) -> dict[str, Any]:
        """Arguments of `_torch_class` besides params, lr and foreach/fused."""
        return {}

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> Any:
        kwargs = {"lr": lr, **self._torch_hparams()}
        floats = all(p.dtype in (torch.float32, torch.float64) for p in params)
        if self._fusable and floats and {p.device.type for p in params} <= {"cpu", "cuda"}:
            try:  # fused kernels: same results as foreach for float32/64, 2-3x faster on CPU
                self._flags = {"fused": True}
                return self._torch_class(params, **kwargs, fused=True)
            except (RuntimeError, ValueError):
                pass
        self._flags = {"foreach": True}
        return self._torch_class(params, **kwargs, foreach=True)

    def build(self, params: Iterable[torch.Tensor]) -> None:
        """Create the torch optimizer for `params` (the trainable parameters, stable order).

        A no-op for the same parameters; another set rebuilds, keeping the state
        (moments, step) of the parameters present in both.
        """
        params = list({id(p): p for p in params}.values())
        if self._params is not None and len(params) == len(self._params):
            if all(a is b for a, b in zip(params, self._params)):
                return
        old, self._params = self._torch, params
        self._torch = self._make_torch(params, self._sync_lr()) if params else None
        if old is not None and self._torch is not None:
            for p in params:
                if p in old.state:
                    self._torch.state[p] = old.state[p]
        if self._pending is not None and self._torch is not None:
            pending, self._pending = self._pending, None
            self._load_torch(pending)

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
    def _clip(self, params: list[torch.Tensor]) -> None:
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        if self.clipnorm is not None:  # Keras: g * clipnorm / max(||g||, clipnorm), per tensor
            scales = torch._foreach_norm(grads)
            torch._foreach_clamp_min_(scales, self.clipnorm)
            torch._foreach_reciprocal_(scales)
            torch._foreach_mul_(scales, self.clipnorm)
            torch._foreach_mul_(grads, scales)
        if self.global_clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(params, self.global_clipnorm, foreach=True)
        if self.clipvalue is not None:
            torch.nn.utils.clip_grad_value_(params, self.clipvalue, foreach=True)

    @_compiler_disable  # host-side counters would make torch.compile recompile every step
    @torch.no_grad()
    def step(self) -> None:
        """Clip gradients, apply weight decay, update the parameters, count the step."""
        if self._params is None:
            raise RuntimeError(
                f"Optimizer '{self.name}' expected build(params) before step(), received: an unbuilt optimizer"
            )
        if self._torch is not None:
            self.before_update()
            self.apply_update()
        self.count_step()

    def before_update(self) -> None:
        """Host-side work before an update: evaluate the schedule into the param groups."""
        if self.decay or not isinstance(self._lr, float):
            self._sync_lr()

    def apply_update(self) -> None:
        """The update itself, from `p.grad`: clipping, decoupled weight decay, the torch step.

        Pure tensor work with no host-side counters, so a compiled train step can trace it;
        the caller runs `before_update()` first and `count_step()` after.
        """
        self._clip(self._params)
        if self.weight_decay and not self._torch_weight_decay:
            decayed = [p for p in self._params if p.grad is not None]
            if decayed:
                lr = self._torch.param_groups[0]["lr"]
                torch._foreach_mul_(decayed, 1.0 - lr * self.weight_decay)
        if torch.compiler.is_compiling():
            # torch.optim's step wrapper graph-breaks around the update on purpose; inside
            # the compiled train step (already no_grad) the undecorated update fuses instead.
            _undecorated_step(type(self._torch))(self._torch)
        else:
            self._torch.step()

    def count_step(self) -> None:
        self.iterations.add_(1)
        self._steps += 1

    def zero_grad(self) -> None:
        """Set every gradient to None (the next backward writes fresh tensors)."""
        for p in self._params or []:
            p.grad = None

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, torch.Tensor]]) -> torch.Tensor:
        """Keras API: update the variables from explicit gradients (builds on first use).

        Other parameters stay untouched; every `.grad` is restored afterwards.
        """
        pairs = list(grads_and_vars)
        if not self.built:
            self.build([v for _, v in pairs])
        known = {id(p) for p in self._params or []}
        unknown = [tuple(v.shape) for _, v in pairs if id(v) not in known]
        if unknown:
            raise ValueError(
                f"Optimizer '{self.name}' expected the variables it was built with, received: unknown "
                f"variables of shapes {unknown}. Create a new optimizer for new variables."
            )
        pairs = [(g, v) for g, v in pairs if g is not None]
        if not pairs:
            raise ValueError(
                f"Optimizer '{self.name}' expected at least one gradient, received: all None"
            )
        saved = [(p, p.grad) for p in self._params or []]
        clipping = any(c is not None for c in (self.clipnorm, self.clipvalue, self.global_clipnorm))
        try:
            self.zero_grad()
            for g, v in pairs:
                g = torch.as_tensor(g).to(device=v.device, dtype=v.dtype)
                v.grad = g.clone() if clipping else g  # clipping works in place
            self.step()
        finally:
            for p, g in saved:
                p.grad = g
        return self.iterations

    def minimize(self, loss: Any, var_list: list[torch.Tensor]) -> torch.Tensor:
        """Keras API: one step on `loss` (a scalar tensor or a zero-argument callable)."""
        grads = torch.autograd.grad(loss() if callable(loss) else loss, var_list, allow_unused=True)
        return self.apply_gradients(zip(grads, var_list))

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """A snapshot (copies) of the step count, the learning rate and the torch state."""
        return {
            "iterations": self._steps,
            "learning_rate": self._lr if isinstance(self._lr, float) else None,
            "torch": copy.deepcopy(self._torch.state_dict()) if self._torch is not None else None,
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
        config.update({k: getattr(self, k) for k in _COMMON[1:5]})
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


class _Moments(Optimizer):
    """Shared arguments of the Adam family."""

    def _moments(self, beta_1: float, beta_2: float, epsilon: float) -> None:
        self.beta_1 = self._number("beta_1", beta_1, below=1.0)
        self.beta_2 = self._number("beta_2", beta_2, below=1.0)
        self.epsilon = self._number("epsilon", epsilon)

    def _own_config(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


@registry.register("optimizer", "SGD", "sgd")
class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum.

    Keras keeps `v = momentum * v - lr * g; w += v`, torch `b = momentum * b + g;
    w -= lr * b`: identical while the learning rate is constant (v = -lr * b).
    """

    _torch_class = torch.optim.SGD
    _fusable = True

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.momentum = self._number("momentum", momentum, below=1.0)
        self.nesterov = bool(nesterov)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    _own_config = _torch_hparams


@registry.register("optimizer", "RMSprop", "rmsprop")
class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): divide the gradient by a running RMS of past gradients.

    Keras divides by `sqrt(v + epsilon)`, torch by `sqrt(v) + epsilon` (relative difference
    about epsilon / sqrt(v)). With momentum Keras accumulates `lr * g / rms`, torch `g / rms`
    scaled by lr afterwards: identical for a constant learning rate.
    """

    _torch_class = torch.optim.RMSprop

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho = self._number("rho", rho, below=1.0)
        self.momentum = self._number("momentum", momentum, below=1.0)
        self.epsilon = self._number("epsilon", epsilon)
        self.centered = bool(centered)

    def _torch_hparams(self) -> dict[str, Any]:
        return {
            "alpha": self.rho,
            "eps": self.epsilon,
            "momentum": self.momentum,
            "centered": self.centered,
        }

    def _own_config(self) -> dict[str, Any]:
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


@registry.register("optimizer", "Adam", "adam")
class Adam(_Moments):
    """Adam (Kingma & Ba, 2014).

    Keras's epsilon is "epsilon hat": `w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`,
    while torch adds eps after bias correction, `sqrt(v / (1 - b2^t)) + eps`. Keras's rule is
    torch's with eps / sqrt(1 - b2^t), so updates differ by about that over sqrt(v), relatively
    (3e-6 for unit gradients at step 1, shrinking with t). `weight_decay` is decoupled.
    """

    _torch_class = torch.optim.Adam
    _fusable = True
    _torch_weight_decay = True

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self._moments(beta_1, beta_2, epsilon)
        self.amsgrad = bool(amsgrad)

    def _torch_hparams(self) -> dict[str, Any]:
        betas, wd = (self.beta_1, self.beta_2), self.weight_decay or 0.0
        hp = {"betas": betas, "eps": self.epsilon, "amsgrad": self.amsgrad, "weight_decay": wd}
        return (
            hp if self._torch_class is torch.optim.AdamW else {**hp, "decoupled_weight_decay": True}
        )

    def _own_config(self) -> dict[str, Any]:
        return {**super()._own_config(), "amsgrad": self.amsgrad}


@registry.register("optimizer", "AdamW", "adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): `w -= lr * weight_decay * w`
    before the Adam update, in Keras and in `torch.optim.AdamW`. Epsilon as in `Adam`."""

    _torch_class = torch.optim.AdamW

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, **kwargs: Any):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)


@registry.register("optimizer", "Adadelta", "adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): the same formula in Keras and torch.
    learning_rate=1.0 gives the paper's form."""

    _torch_class = torch.optim.Adadelta

    def __init__(
        self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho = self._number("rho", rho, below=1.0)
        self.epsilon = self._number("epsilon", epsilon)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"rho": self.rho, "eps": self.epsilon}

    def _own_config(self) -> dict[str, Any]:
        return {"rho": self.rho, "epsilon": self.epsilon}


@registry.register("optimizer", "Adagrad", "adagrad")
class Adagrad(Optimizer):
    """Adagrad: per-parameter rates that shrink with the sum of squared gradients.
    Keras divides by `sqrt(acc + epsilon)`, torch by `sqrt(acc) + epsilon`."""

    _torch_class = torch.optim.Adagrad
    _fusable = True

    def __init__(
        self,
        learning_rate: Any = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = self._number(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.epsilon = self._number("epsilon", epsilon)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self.initial_accumulator_value, "eps": self.epsilon}

    def _own_config(self) -> dict[str, Any]:
        return {
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


@registry.register("optimizer", "Adamax", "adamax")
class Adamax(_Moments):
    """Adamax: Adam with the infinity norm. Keras keeps `u = max(b2 * u, |g|)` and divides by
    `u + epsilon`; torch keeps `u = max(b2 * u, |g| + epsilon)` and divides by `u`."""

    _torch_class = torch.optim.Adamax

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self._moments(beta_1, beta_2, epsilon)

    def _torch_hparams(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon}


@registry.register("optimizer", "Nadam", "nadam")
class Nadam(_Moments):
    """Adam with Nesterov momentum (Dozat, 2015), with Keras 3's momentum schedule
    `mu_t = beta_1 * (1 - 0.5 * 0.96 ** t)` = torch's NAdam with momentum_decay=1 (epsilon
    after bias correction in both: the same formula). Keras 1/2 used `0.96 ** (t * 0.004)`:
    pass `schedule_decay=0.004` for it.
    """

    _torch_class = torch.optim.NAdam
    _torch_weight_decay = True

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        schedule_decay: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate, **kwargs)
        self._moments(beta_1, beta_2, epsilon)
        self.schedule_decay = (
            None if schedule_decay is None else self._number("schedule_decay", schedule_decay)
        )

    def _torch_hparams(self) -> dict[str, Any]:
        md = 1.0 if self.schedule_decay is None else self.schedule_decay
        wd = {"weight_decay": self.weight_decay or 0.0, "decoupled_weight_decay": True}
        return {
            "betas": (self.beta_1, self.beta_2),
            "eps": self.epsilon,
            "momentum_decay": md,
            **wd,
        }

    def _own_config(self) -> dict[str, Any]:
        extra = {} if self.schedule_decay is None else {"schedule_decay": self.schedule_decay}
        return {**super()._own_config(), **extra}


@registry.register("optimizer", "TorchOptimizer")
class TorchOptimizer(Optimizer):
    """Any `torch.optim` optimizer in Lamina's contract: an instance, or a class and its arguments.

        model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss="mse")
        model.compile(optimizer=TorchOptimizer(torch.optim.RAdam, lr=1e-3), loss="mse")

    Clipping and `learning_rate` (floats or schedules) work as for Keras optimizers;
    weight decay and everything else is the torch optimizer's own business.
    """

    _owns_groups = False

    def __init__(
        self,
        optimizer: Any,
        learning_rate: Any = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **torch_kwargs: Any,
    ):
        instance = optimizer if isinstance(optimizer, torch.optim.Optimizer) else None
        cls = type(optimizer) if instance is not None else optimizer
        if isinstance(cls, str):
            cls = getattr(torch.optim, cls, None)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            raise TypeError(
                f"Expected a torch.optim.Optimizer instance or class, received: optimizer={optimizer!r}"
            )
        self._torch_class, self._torch_kwargs = cls, torch_kwargs
        if learning_rate is None:
            default = inspect.signature(cls).parameters.get("lr")
            learning_rate = (
                instance.param_groups[0]["lr"]
                if instance is not None
                else torch_kwargs.get("lr", default.default if default else 0.001)
            )
        torch_kwargs.pop("lr", None)
        accepted = inspect.signature(cls).parameters
        for key in torch_kwargs:
            if key not in accepted:
                hint = registry.closest(key, accepted)
                raise TypeError(
                    f"Expected arguments of {cls.__name__}, received: {key}={torch_kwargs[key]!r}."
                    + (f" Did you mean: {', '.join(repr(h) for h in hint)}?" if hint else "")
                )
        self._owns_groups = instance is None
        super().__init__(float(learning_rate) if isinstance(learning_rate, (int, torch.Tensor)) else learning_rate,
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                         name=name or cls.__name__.lower())  # fmt: skip
        if instance is not None:
            self._torch = instance
            self._params = [p for g in instance.param_groups for p in g["params"]]

    def _make_torch(self, params: list[torch.Tensor], lr: float) -> Any:
        return self._torch_class(params, lr=lr, **self._torch_kwargs)

    def _torch_hparams(self) -> dict[str, Any]:
        return dict(self._torch_kwargs)

    def build(self, params: Iterable[torch.Tensor]) -> None:
        """Build from a class; an instance keeps its own parameters (checked to be the model's)."""
        if self._owns_groups:
            return super().build(params)
        mine = {id(p) for p in self._params or []}
        params = list(params)
        if params and not any(id(p) in mine for p in params):
            raise ValueError(
                f"Optimizer '{self.name}' expected a torch optimizer over the model's parameters, "
                f"received: one holding none of the {len(params)} trainable parameters"
            )

    def get_config(self) -> dict[str, Any]:
        kwargs = self._torch_kwargs if self._owns_groups else dict(self._torch.defaults)
        kwargs = {k: v for k, v in kwargs.items() if k != "lr"}
        config = super().get_config()
        config.pop("weight_decay", None)
        return {"optimizer": self._torch_class.__name__, **config, **kwargs}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """`{'class_name': ..., 'config': ...}`, as Keras saves optimizers."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any]) -> Optimizer:
    return registry.get("optimizer", config["class_name"]).from_config(config.get("config", {}))


def get(identifier: Any) -> Optimizer:
    """Resolve a name ('adam'), an Optimizer, a `{'class_name', 'config'}` dict, or a
    `torch.optim` optimizer instance or class (wrapped in `TorchOptimizer`)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, torch.optim.Optimizer) or (
        isinstance(identifier, type) and issubclass(identifier, torch.optim.Optimizer)
    ):
        return TorchOptimizer(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        return registry.get("optimizer", identifier)()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier)
    raise TypeError(
        f"Expected an optimizer name, Optimizer, config dict or torch.optim optimizer, "
        f"received: optimizer={identifier!r}"
    )
