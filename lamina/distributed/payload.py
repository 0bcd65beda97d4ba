"""What `fit(distribute=N)` sends to its worker processes, and what comes back; no pickle.

Going out, in the run's private folder (read by every worker, checked against a SHA-256
the parent hands each worker outside the files):
- `model.lamina`: the model as `model.save` writes it (architecture by registered
  names, weights, compile settings, optimizer state);
- `data.safetensors`: every array among the fit arguments (x, y, sample weights,
  validation data);
- `job.json`: the other fit arguments, the callbacks by registered name and config,
  the model's device, and the modules that define the user's registered classes (the
  worker imports them, as unpickling would have, so their registrations run).
Coming back from rank 0: `result.safetensors` (weights and optimizer state) and
`result.json` (History, optimizer step count, stop_training).

So data must be arrays (NumPy or torch, alone or in lists/dicts), and custom callbacks,
layers, models and losses must be registered (`lamina.saving.register_serializable`).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import inspect
import json
import os
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from lamina import callbacks as callbacks_mod
from lamina import registry
from lamina.callbacks.history import History
from lamina.io_utils import atomic_write
from lamina.saving.compile_config import compile_config
from lamina.saving.native import load_lamina, save_lamina
from lamina.saving.optimizer_state import optimizer_payload, restore_optimizer
from lamina.saving.weight_names import assign_weights, weight_tensors

JOB_FILES = ("job.json", "model.lamina", "data.safetensors")
RESULT_JSON, RESULT_TENSORS = "result.json", "result.safetensors"


# ------------------------------------------------------------------ going out
def save_job(model: Any, fit_kwargs: dict[str, Any], workdir: str) -> str:
    """Write the job into `workdir` and return its digest; anything that can't travel
    without pickle is named before any process starts."""
    if getattr(model, "compiled", False) and compile_config(model) is None:
        raise ValueError(
            f"Expected compile() arguments that can be sent to the worker processes by name, "
            f"received: model '{model.name}' compiled with an unnamed loss, metric or "
            "optimizer (a lambda or a torch.optim instance). Use registered names or "
            "functions (lamina.saving.register_serializable), or launch with torchrun."
        )
    _check_registered(model)
    tensors: dict[str, torch.Tensor] = {}
    fit: dict[str, Any] = {}
    for key, value in fit_kwargs.items():
        if key == "callbacks":
            continue
        try:
            fit[key] = _encode(value, key, tensors)
        except TypeError as err:
            raise ValueError(
                "Expected fit arguments that can be sent to the worker processes (arrays, "
                f"numbers, strings), received: {key}={_short(value)} ({err}). Launch the "
                "script with torchrun to train on other kinds of data."
            ) from None
    cbs = [_callback_entry(cb, i) for i, cb in enumerate(fit_kwargs.get("callbacks") or [])]
    job = {
        "fit": fit,
        "callbacks": cbs,
        "device": None if getattr(model, "_device", None) is None else str(model._device),
        "imports": sorted(_user_modules(model, fit_kwargs.get("callbacks") or [])),
    }
    save_lamina(model, os.path.join(workdir, "model.lamina"))
    save_file(tensors, os.path.join(workdir, "data.safetensors"))
    with atomic_write(os.path.join(workdir, "job.json")) as f:
        f.write(json.dumps(job).encode())
    return digest(workdir)


def digest(workdir: str) -> str:
    """SHA-256 over the job's files, in a fixed order."""
    h = hashlib.sha256()
    for name in JOB_FILES:
        with open(os.path.join(workdir, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read() + b"\0")
    return h.hexdigest()


def load_job(workdir: str, expected: str) -> tuple[Any, dict[str, Any]]:
    """In a worker: (the compiled model, the fit arguments), if the files match `expected`."""
    got = digest(workdir)
    if not hmac.compare_digest(got, expected):
        raise RuntimeError(
            f"Expected the job files written by the parent process (sha256 {expected[:16]}...), "
            f"received: sha256 {got[:16]}... in {workdir}; refusing to load them"
        )
    with open(os.path.join(workdir, "job.json"), "rb") as f:
        job = json.loads(f.read())
    for module in job["imports"]:
        importlib.import_module(module)  # the user's registrations, as unpickling would
    model = load_lamina(os.path.join(workdir, "model.lamina"))
    if job["device"] is not None and getattr(model, "compiled", False):
        model._device = torch.device(job["device"])
    tensors = load_file(os.path.join(workdir, "data.safetensors"))
    fit = {key: _decode(value, tensors) for key, value in job["fit"].items()}
    fit["callbacks"] = [_callback(entry) for entry in job["callbacks"]]
    return model, fit


# ------------------------------------------------------------------ arrays and values
def _encode(value: Any, name: str, tensors: dict[str, torch.Tensor]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"an array of dtype {array.dtype}")
        tensors[name] = torch.from_numpy(np.ascontiguousarray(array).copy())
        return {"tensor": name, "numpy": True}
    if isinstance(value, torch.Tensor):
        tensors[name] = value.detach().to("cpu", copy=True).contiguous()
        return {"tensor": name, "numpy": False}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{name}/{i}", tensors) for i, v in enumerate(value)]
        return {"list": items, "tuple": isinstance(value, tuple)}
    if isinstance(value, dict):
        if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in value):
            raise TypeError("a dict with keys other than strings and ints")
        return {"items": [[k, _encode(v, f"{name}/{k}", tensors)] for k, v in value.items()]}
    raise TypeError(f"a {type(value).__name__}")


def _decode(entry: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Any:
    if "value" in entry:
        return entry["value"]
    if "tensor" in entry:
        t = tensors[entry["tensor"]]
        return t.numpy() if entry["numpy"] else t
    if "list" in entry:
        items = [_decode(v, tensors) for v in entry["list"]]
        return tuple(items) if entry["tuple"] else items
    return {k: _decode(v, tensors) for k, v in entry["items"]}


# ------------------------------------------------------------------ callbacks
def _callback_entry(cb: Any, index: int) -> dict[str, Any]:
    name = _callback_name(type(cb))
    try:
        config = callback_config(cb)
        json.dumps(config)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Expected fit arguments that can be sent to the worker processes, received: "
            f"callbacks[{index}]={_short(cb)} ({err}). A callback travels as its registered "
            "name and config: give it a get_config() of JSON values (functions and lambdas "
            "can't travel), or launch the script with torchrun."
        ) from None
    return {"class_name": name, "config": config}


def callback_config(cb: Any) -> dict[str, Any]:
    """The callback's constructor arguments: its `get_config()`, else the attributes its
    `__init__` parameters name (as Lamina's callbacks store them)."""
    own = getattr(type(cb), "get_config", None)
    if own is not None:
        return cb.get_config()
    config: dict[str, Any] = {}
    for param in inspect.signature(type(cb).__init__).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"its constructor takes *{param.name}, which can't be read back")
        if param.name == "self":
            continue
        if not hasattr(cb, param.name):
            raise TypeError(f"no attribute {param.name!r} holds the argument {param.name}")
        config[param.name] = _json_value(getattr(cb, param.name), param.name)
    return config


def _json_value(value: Any, name: str) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v, name) for k, v in value.items()}
    raise TypeError(f"argument {name} is a {type(value).__name__}, not a JSON value")


def _callback_name(cls: type) -> str:
    if getattr(callbacks_mod, cls.__name__, None) is cls:
        return cls.__name__
    for name in registry.names("callback"):
        if registry.lookup("callback", name) is cls:
            return name
    raise ValueError(
        f"Expected callbacks whose classes are registered, received: {cls.__name__}. Decorate "
        "it with @lamina.saving.register_serializable() so the workers can rebuild it."
    )


def _callback(entry: dict[str, Any]) -> Any:
    name = entry["class_name"]
    cls = getattr(callbacks_mod, name, None) if name in callbacks_mod.__all__ else None
    if cls is None:
        cls = registry.get("callback", name)
    from_config = getattr(cls, "from_config", None)
    return from_config(entry["config"]) if from_config else cls(**entry["config"])


def _check_registered(model: Any) -> None:
    for layer in [model, *_all_layers(model)]:
        cls = type(layer)
        if registry.lookup("layer", cls.__name__) is not cls and not any(
            registry.lookup("layer", n) is cls for n in registry.names("layer")
        ):
            raise ValueError(
                f"Expected a model built from registered classes for fit(distribute=N), "
                f"received: {cls.__name__} ('{layer.name}'). Decorate it with "
                "@lamina.saving.register_serializable() (and give it a get_config() if its "
                "constructor takes arguments), or launch the script with torchrun."
            )


def _all_layers(model: Any) -> list[Any]:
    out, stack = [], list(model._sublayers())
    while stack:
        layer = stack.pop()
        out.append(layer)
        stack.extend(layer._sublayers())
    return out


def _user_modules(model: Any, cbs: list[Any]) -> set[str]:
    classes = [type(model), *(type(la) for la in _all_layers(model)), *(type(c) for c in cbs)]
    return {
        c.__module__
        for c in classes
        if not c.__module__.startswith("lamina.")
        and c.__module__ not in ("__main__", "__mp_main__")
    }


# ------------------------------------------------------------------ coming back
def write_result(model: Any, history: Any, workdir: str) -> None:
    """Rank 0: the trained weights and optimizer state, and the History as JSON."""
    tensors = {f"model/{k}": v for k, v in weight_tensors(model).items()}
    opt_tensors, opt_meta = optimizer_payload(model.optimizer)
    tensors.update({f"optimizer/{k}": v for k, v in opt_tensors.items()})
    meta = {
        "optimizer": opt_meta,
        "history": _plain(history.history),
        "epoch": _plain(history.epoch),
        "params": _plain(history.params),
        "stop_training": bool(model.stop_training),
    }
    save_file(tensors, os.path.join(workdir, RESULT_TENSORS))
    with atomic_write(os.path.join(workdir, RESULT_JSON)) as f:
        f.write(json.dumps(meta).encode())


def read_result(workdir: str) -> dict[str, Any]:
    with open(os.path.join(workdir, RESULT_JSON), "rb") as f:
        meta = json.loads(f.read())
    meta["tensors"] = load_file(os.path.join(workdir, RESULT_TENSORS))
    return meta


def apply_result(model: Any, res: dict[str, Any]) -> Any:
    """In the parent: load the trained weights and optimizer state; return the History."""
    tensors = res["tensors"]
    assign_weights(
        model,
        {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")},
        source="rank 0's result",
    )
    if model.optimizer is not None:
        if not model.optimizer.built:
            model.optimizer.build([p for p in model.parameters() if p.requires_grad])
        opt = {k[len("optimizer/") :]: v for k, v in tensors.items() if k.startswith("optimizer/")}
        restore_optimizer(model.optimizer, opt, res["optimizer"], "rank 0's result")
    history = History()
    history.set_model(model)
    history.set_params(res["params"])
    history.history = res["history"]
    history.epoch = res["epoch"]
    model.history = history
    model.stop_training = res["stop_training"]
    return history


def _plain(value: Any) -> Any:
    """History values as plain JSON data."""
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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
