"""What `fit(distribute=N)` sends to its worker processes, and what comes back.

Going out (one file, written once, read by every worker; pickle, between processes of
the same user, in a private temporary directory):
- the model's architecture: its config (`get_config` / `from_config`) when that rebuilds
  the same weights (Sequential of registered layers), else the module pickled whole
  (its classes must then be importable: defined at module level);
- its weights (the state_dict tensors), the optimizer's config and state, and the
  compile arguments (the workers call `compile` again);
- the fit arguments: data, callbacks, class weights... (also pickled).
Coming back, from rank 0 only, loaded with `torch.load(weights_only=True)`: the weights,
the optimizer state, and the History (`history`, `epoch`, `params`), plain data only.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import inspect
import io
import pickle
from collections.abc import Iterator
from typing import Any

import torch

from lamina.callbacks.history import History

# Engine caches that are rebuilt in the worker (a compiled step does not pickle).
TRANSIENT = ("_step_fn", "_test_fn", "_predict_fn", "history")
# Trainer attributes holding compile() arguments, when compile did not record them.
_COMPILE_ATTRS = {
    "loss": "_loss_arg",
    "metrics": "_metrics_arg",
    "loss_weights": "_loss_weights_arg",
    "weighted_metrics": "_weighted_metrics_arg",
    "run_eagerly": "run_eagerly",
    "jit_compile": "_jit_compile",
    "steps_per_execution": "_steps_per_execution",
    "mixed_precision": "_mixed_precision",
}


def _structure(model: Any) -> dict[str, Any]:
    shapes = {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}
    grads = {k: p.requires_grad for k, p in model.named_parameters()}
    return {"state": shapes, "grads": grads}


def model_config(model: Any) -> dict[str, Any] | None:
    """The model's config when `from_config` rebuilds the same weights, else None."""
    try:
        config = model.get_config()
        with torch.random.fork_rng(devices=[]):  # the check must not move the user's RNG
            clone = type(model).from_config(copy.deepcopy(config))
        same = _structure(clone) == _structure(model)
    except Exception:
        return None
    return config if same else None


def _cpu_state(module: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


@contextlib.contextmanager
def _without_transient(model: Any) -> Iterator[None]:
    saved = {name: model.__dict__[name] for name in TRANSIENT if name in model.__dict__}
    for name in saved:
        model.__dict__[name] = None
    try:
        yield
    finally:
        model.__dict__.update(saved)


def compile_args(model: Any) -> dict[str, Any]:
    """The arguments to call `compile` with in a worker (the optimizer as config + state)."""
    recorded = getattr(model, "_compile_args", None)
    args = (
        dict(recorded)
        if isinstance(recorded, dict)
        else {k: getattr(model, a) for k, a in _COMPILE_ATTRS.items() if hasattr(model, a)}
    )
    opt = model.optimizer
    args["optimizer"] = (type(opt), opt.get_config(), opt.state_dict())
    device = getattr(model, "_device", None)
    args["device"] = None if device is None else str(device)
    return args


def pack(model: Any, fit_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The job: architecture, weights, compile and fit arguments."""
    config = model_config(model)
    if config is not None:
        arch = {"kind": "config", "class": type(model), "config": config}
    else:
        arch = {"kind": "module", "module": model}
    return {
        "model": arch,
        "state": _cpu_state(model),
        "compile": compile_args(model),
        "fit": fit_kwargs,
    }


def save(job: dict[str, Any], path: str) -> str:
    """Write the job and return its SHA-256; an argument that cannot be pickled gets an error.

    The job file is pickled (data and callbacks are arbitrary objects), so a worker
    unpickles it only when its bytes match the digest the parent handed it directly.
    """
    model = job["model"].get("module")
    with _without_transient(model) if model is not None else contextlib.nullcontext():
        try:
            torch.save(job, path, pickle_protocol=pickle.HIGHEST_PROTOCOL)
            with open(path, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        except Exception as err:
            label, value = _culprit(job) or ("the job", None)
            raise ValueError(
                "Expected fit arguments that can be sent to the worker processes (pickled), "
                f"received: {label}={_short(value)} ({type(err).__name__}: {err}). Define "
                "classes and functions at module level (not inside a function, not lambdas), "
                "or launch the script with torchrun."
            ) from err


def _parts(job: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if job["model"]["kind"] == "module":
        yield "model", job["model"]["module"]
    for key, value in job["compile"].items():
        yield key, value
    for key, value in job["fit"].items():
        if key == "callbacks" and value:
            for i, cb in enumerate(value):
                yield f"callbacks[{i}]", cb
        else:
            yield key, value


def _culprit(job: dict[str, Any]) -> tuple[str, Any] | None:
    for label, value in _parts(job):
        try:
            pickle.dumps(value)
        except Exception:
            return label, value
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_verified(path: str, digest: str) -> dict[str, Any]:
    """The job written by `save`, unpickled only if its SHA-256 is `digest`."""
    with open(path, "rb") as f:
        data = f.read()
    got = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(got, digest):
        raise RuntimeError(
            f"Expected the job file written by the parent process (sha256 {digest[:16]}...), "
            f"received: sha256 {got[:16]}... in {path}; refusing to unpickle it"
        )
    return torch.load(io.BytesIO(data), weights_only=False)


def unpack(job: dict[str, Any]) -> Any:
    """In a worker: the model, with its weights, compiled as in the parent."""
    arch = job["model"]
    if arch["kind"] == "config":
        model = arch["class"].from_config(arch["config"])
    else:
        model = arch["module"]
    model.load_state_dict(job["state"])
    args = dict(job["compile"])
    opt_class, opt_config, opt_state = args.pop("optimizer")
    optimizer = opt_class.from_config(opt_config)
    optimizer.load_state_dict(opt_state)
    accepted = inspect.signature(model.compile).parameters
    model.compile(optimizer=optimizer, **{k: v for k, v in args.items() if k in accepted})
    return model


def _plain(value: Any) -> Any:
    """History values as plain Python data (they travel back with weights_only=True)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return repr(value)


def result(model: Any, history: Any) -> dict[str, Any]:
    """What rank 0 sends back."""
    return {
        "state": _cpu_state(model),
        "optimizer": model.optimizer.state_dict(),
        "history": _plain(history.history),
        "epoch": _plain(history.epoch),
        "params": _plain(history.params),
        "stop_training": bool(model.stop_training),
    }


def apply_result(model: Any, res: dict[str, Any]) -> Any:
    """In the parent: load the trained weights and optimizer state; return the History."""
    model.load_state_dict(res["state"])
    if model.optimizer is not None:
        model.optimizer.load_state_dict(res["optimizer"])
    history = History()
    history.set_model(model)
    history.set_params(res["params"])
    history.history = res["history"]
    history.epoch = res["epoch"]
    model.history = history
    model.stop_training = res["stop_training"]
    return history
