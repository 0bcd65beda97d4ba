"""`model.export(path, format=...)`: an inference artifact that runs without Lamina.

Both formats start from one `torch.export` trace of the model's inference call
(`training=False`), with the batch axis, and any other axis the model leaves open, kept
dynamic:
- `format="torch"` saves that `ExportedProgram` (`.pt2`): ATen operations only, loaded by
  `torch.export.load(path).module()` in plain PyTorch;
- `format="onnx"` translates it with `torch.onnx` (needs the `onnx` and `onnxscript`
  packages: `pip install lamina[export]`), for onnxruntime and other ONNX runtimes.

The inputs are named after the model's inputs and the outputs after its output layers, so
a runtime's feeds read like the model's summary. Files are written atomically.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.fx.experimental.symbolic_shapes import is_concrete_int

from lamina.io_utils import atomic_write
from lamina.ops.dtypes import to_torch_dtype
from lamina.tree import flatten

FORMATS = {"onnx": ".onnx", "torch": ".pt2"}
# Keras 3's other formats need TensorFlow or OpenVINO: named in the error, not accepted.
_OTHER_FORMATS = ("tf_saved_model", "openvino", "litert")
_BATCH_SAMPLE = 2  # torch.export fixes an axis traced at size 0 or 1 to a constant


@dataclass(frozen=True)
class ExportInput:
    """One input of the exported program: its name, shape (None = dynamic) and dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: torch.dtype


def export_model(
    model: nn.Module,
    filepath: str | os.PathLike,
    format: str | None = None,
    verbose: bool | None = None,
    input_signature: Any = None,
    opset_version: int | None = None,
    **kwargs: Any,
) -> str:
    """Write `model`'s inference call to `filepath` as ONNX or a torch.export program.

    `format=None` reads the suffix (`.onnx`, `.pt2`). `input_signature` overrides the
    model's input shapes: a shape tuple, an `InputSpec`/tensor, or a list of them (one per
    input). Other keyword arguments go to `torch.export.export` (`strict`, ...).
    """
    path = Path(filepath)
    fmt = _resolve_format(path, format)
    inputs = signature(model, input_signature)
    if fmt == "torch":
        program = trace(model, inputs, **kwargs)
        _check_open_axes([_placeholder_shape(program, i) for i in range(len(inputs))], inputs)
        # fit may keep the weights as views of one flat buffer; the archive then notes that
        # it stores the shared storage once, which is what Lamina wants.
        with atomic_write(path) as f, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No complete tensor found in the group")
            torch.export.save(program, f)
        what = "PyTorch ExportedProgram"
    else:
        _write_onnx(model, path, inputs, output_names(model), opset_version, **kwargs)
        what = "ONNX model"
    if verbose is None or verbose:
        print(f"Saved {what} at '{path}'.")
    return str(path)


def _resolve_format(path: Path, format: str | None) -> str:
    if format is None:
        by_suffix = {suffix: name for name, suffix in FORMATS.items()}
        found = by_suffix.get(path.suffix.lower())
        if found is None:
            raise ValueError(
                "Expected format='onnx' or format='torch', or a path ending in .onnx or "
                f".pt2, received: format=None, path={str(path)!r}"
            )
        return found
    if format in _OTHER_FORMATS:
        raise ValueError(
            f"Expected format='onnx' or format='torch' (Lamina runs on PyTorch; "
            f"'{format}' needs TensorFlow or OpenVINO; convert the ONNX file with their "
            f"tools), received: format={format!r}"
        )
    if format not in FORMATS:
        raise ValueError(f"Expected format='onnx' or format='torch', received: format={format!r}")
    if format == "torch" and path.suffix != ".pt2":
        raise ValueError(
            "Expected a path ending in .pt2 for format='torch' (torch.export's file), "
            f"received: path={str(path)!r}"
        )
    return format


def signature(model: nn.Module, input_signature: Any = None) -> list[ExportInput]:
    """The exported program's inputs: the model's own, or `input_signature`'s shapes."""
    names, shapes, dtypes = _model_inputs(model)
    if input_signature is not None:
        given = _as_shape_list(input_signature, len(names))
        shapes = [s for s, _ in given]
        dtypes = [d or old for (_, d), old in zip(given, dtypes)]
    return [
        ExportInput(name, tuple(shape), _torch_dtype(dtype, name))
        for name, shape, dtype in zip(names, shapes, dtypes)
    ]


def _model_inputs(model: nn.Module) -> tuple[list[str], list[tuple], list[Any]]:
    try:
        tensors = list(model.inputs)
    except (AttributeError, ValueError):
        tensors = []
    if tensors:
        names = [
            t.node.layer.name if t.node is not None else f"input_{i}" for i, t in enumerate(tensors)
        ]
        return (
            _unique(names, "input"),
            [tuple(t.shape) for t in tensors],
            [t.dtype for t in tensors],
        )
    shape = getattr(model, "_build_input_shape", None)
    if shape is None:
        raise ValueError(
            f"Expected a built model (call it on data, fit it, or start it with lamina.Input) "
            f"or an input_signature, received: model '{getattr(model, 'name', model)}' unbuilt"
        )
    parts = shape.values() if isinstance(shape, dict) else shape
    shapes = [tuple(shape)] if _is_shape(shape) else [tuple(s) for s in parts]
    return [f"input_{i}" for i in range(len(shapes))], shapes, ["float32"] * len(shapes)


def _as_shape_list(spec: Any, count: int) -> list[tuple[tuple, Any]]:
    items = [spec] if count == 1 and _one_spec(spec) else list(spec)
    if len(items) != count:
        raise ValueError(
            f"Expected an input_signature with {count} entr{'y' if count == 1 else 'ies'} "
            f"(one per model input), received: {len(items)}"
        )
    out = []
    for item in items:
        if _is_shape(item):
            out.append((tuple(item), None))
        elif hasattr(item, "shape"):
            out.append(
                (
                    tuple(None if d is None else int(d) for d in item.shape),
                    getattr(item, "dtype", None),
                )
            )
        else:
            raise ValueError(
                "Expected input_signature entries as shape tuples, InputSpecs or tensors, "
                f"received: {type(item).__name__}"
            )
    return out


def _one_spec(spec: Any) -> bool:
    return _is_shape(spec) or hasattr(spec, "shape")


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, int) for d in value)


def _torch_dtype(dtype: Any, name: str) -> torch.dtype:
    try:
        return to_torch_dtype(dtype or "float32")
    except ValueError as error:
        raise ValueError(
            f"Expected numeric inputs (ONNX and torch.export take tensors; keep string "
            f"preprocessing such as TextVectorization outside the exported model), received: "
            f"input {name!r} dtype={dtype!r}"
        ) from error


def output_names(model: nn.Module) -> list[str]:
    """Names for the program's outputs: the output layers' names, made unique."""
    try:
        names = list(model.output_names)
    except (AttributeError, ValueError):
        names = []
    if not names:
        outputs = getattr(model, "outputs", None) or []
        names = [t.node.layer.name for t in outputs if getattr(t, "node", None) is not None]
    return _unique(names or ["output_0"], "output")


def _unique(names: list[str], stem: str) -> list[str]:
    if len(set(names)) == len(names):
        return names
    return [f"{stem}_{i}" for i in range(len(names))]


class InferenceCall(nn.Module):
    """The model's call as `forward(*tensors) -> tensor | tuple`: the model in inference
    mode, its inputs as flat positional tensors and its outputs flattened, which is the
    interface ONNX and a plain `ExportedProgram.module()` caller expect."""

    def __init__(self, model: nn.Module, n_inputs: int) -> None:
        super().__init__()
        self.model = model
        self.n_inputs = n_inputs

    def forward(self, *tensors: torch.Tensor) -> Any:
        x: Any = tensors[0] if self.n_inputs == 1 else list(tensors)
        out = flatten(self.model(x, training=False))
        return out[0] if len(out) == 1 else tuple(out)


def trace(
    model: nn.Module, inputs: list[ExportInput], **kwargs: Any
) -> torch.export.ExportedProgram:
    """One `torch.export` trace of the inference call, dynamic where the shapes say None."""
    samples, dynamic = _samples(model, inputs)
    kwargs.setdefault("strict", False)
    with _tracing(model, inputs):
        call = InferenceCall(model, len(inputs)).eval()  # inside: the modes are restored
        return torch.export.export(call, samples, dynamic_shapes=dynamic, **kwargs)


@contextlib.contextmanager
def _tracing(model: nn.Module, inputs: list[ExportInput]) -> Iterator[None]:
    """Inference mode for the trace, and a trace failure as one readable error."""
    with _eval_mode(model), torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not properly registered as a submodule.*")
        warnings.simplefilter("ignore", FutureWarning)
        try:
            yield
        except Exception as error:
            text = str(error).strip()
            first = text.splitlines()[0] if text else ""
            raise ValueError(
                f"Expected a model torch.export can trace for inputs "
                f"{[(i.name, i.shape) for i in inputs]}, received: {type(error).__name__}: "
                f"{first} (give input_signature=... with fixed sizes if an open axis is the "
                "cause)"
            ) from error


def _placeholder_shape(program: torch.export.ExportedProgram, index: int) -> tuple:
    spec = program.graph_signature.user_inputs[index]
    node = next(n for n in program.graph.nodes if n.op == "placeholder" and n.name == spec)
    return tuple(int(d) if is_concrete_int(d) else None for d in node.meta["val"].shape)


def _check_open_axes(traced: list[tuple], inputs: list[ExportInput]) -> None:
    """An axis the model leaves open (None) must stay open in the file: a trace that fixed
    one to the sample's size would fail, or be wrong, on other sizes."""
    for spec, shape in zip(inputs, traced):
        for axis, (want, got) in enumerate(zip(spec.shape, shape)):
            if want is None and got is not None:
                raise ValueError(
                    f"Expected axis {axis} of input {spec.name!r} to stay dynamic in the "
                    f"exported file (the model's shape {spec.shape}), received: the trace fixed "
                    f"it to {got} (a recurrent layer's steps, for one). Give "
                    "input_signature=... with the size to use there."
                )


def _samples(model: nn.Module, inputs: list[ExportInput]) -> tuple[tuple, tuple]:
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    samples, dynamic = [], []
    batch = torch.export.Dim("batch", min=1)  # one for every input: a batch has one size
    for k, spec in enumerate(inputs):
        shape, dims = [], {}
        for axis, size in enumerate(spec.shape):
            if size is None:
                dims[axis] = batch if axis == 0 else torch.export.Dim.AUTO
                size = _BATCH_SAMPLE if axis == 0 else 16 + 2 * k + axis
            shape.append(size)
        if spec.dtype.is_floating_point:
            sample = torch.rand(shape, dtype=spec.dtype, device=device)
        else:
            sample = torch.ones(shape, dtype=spec.dtype, device=device)
        samples.append(sample)
        dynamic.append(dims or None)
    return tuple(samples), (tuple(dynamic),)  # forward(*tensors): one varargs entry


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for module, mode in modes.items():
            module.train(mode)


def _write_onnx(
    model: nn.Module,
    path: Path,
    inputs: list[ExportInput],
    outputs: list[str],
    opset_version: int | None,
    **kwargs: Any,
) -> None:
    try:
        import onnxscript  # noqa: F401  torch.onnx's translator needs it
    except ImportError as error:
        raise ImportError(
            "Expected the onnx and onnxscript packages for format='onnx' "
            "(pip install 'lamina[export]'), received: ImportError: " + str(error)
        ) from error
    samples, dynamic = _samples(model, inputs)
    with _tracing(model, inputs), _quiet_torchvision_notes(), warnings.catch_warnings():
        # Several inputs share the one batch axis; torch.onnx notes it names it only once.
        warnings.filterwarnings("ignore", message=".*shares the same shape constraints.*")
        onnx_program = torch.onnx.export(
            InferenceCall(model, len(inputs)).eval(),
            samples,
            dynamo=True,
            dynamic_shapes=dynamic,
            input_names=[i.name for i in inputs],
            output_names=outputs,
            opset_version=opset_version,
            verbose=False,
            **kwargs,
        )
    proto = onnx_program.model_proto
    graph_inputs = {v.name: v for v in proto.graph.input}
    shapes = [_onnx_shape(graph_inputs[i.name]) for i in inputs]
    _check_open_axes(shapes, inputs)
    _check_recurrent_time(proto, inputs)
    # Saved inside a scratch folder beside the target, then moved: a model over ONNX's
    # 2 GB protobuf limit gets a `.data` file whose name the .onnx file records.
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        onnx_program.save(scratch / path.name)
        for item in sorted(scratch.iterdir(), key=lambda p: p.name == path.name):
            os.replace(item, path.parent / item.name)  # the .onnx file itself last
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _onnx_shape(value: Any) -> tuple:
    dims = value.type.tensor_type.shape.dim
    return tuple(None if d.HasField("dim_param") else int(d.dim_value) for d in dims)


def _check_recurrent_time(proto: Any, inputs: list[ExportInput]) -> None:
    """torch.onnx writes LSTM/GRU/RNN nodes whose output reshape holds the traced number of
    steps (torch 2.13): with an open time axis the file would fail on other lengths."""
    recurrent = {n.op_type for n in proto.graph.node} & {"LSTM", "GRU", "RNN"}
    open_axes = [(i.name, i.shape) for i in inputs if None in i.shape[1:]]
    if recurrent and open_axes:
        raise ValueError(
            "Expected fixed sizes for every axis but the batch in an ONNX file with "
            f"{'/'.join(sorted(recurrent))} nodes (torch.onnx fixes their number of steps), "
            f"received: inputs {open_axes}. Give input_signature=[(None, steps, features)]."
        )


@contextlib.contextmanager
def _quiet_torchvision_notes() -> Iterator[None]:
    """torch.onnx logs one warning per torchvision op it cannot register when torchvision
    is absent (Lamina does not use it): those lines are noise for a Lamina model."""
    import logging

    class _Filter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "torchvision" not in record.getMessage()

    import torch.onnx  # noqa: F401  its logger gets its own handler on import

    names = ("torch.onnx", "torch", "")
    handlers = [h for name in names for h in logging.getLogger(name).handlers]
    note = _Filter()
    for handler in handlers:
        handler.addFilter(note)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(note)
