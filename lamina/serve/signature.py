"""A served model's signature: the name, dtype and shape of each input and output, read
from the model once at load, and TF Serving's metadata document built from it.

Requests are checked against the input specs before they reach the model; the metadata
endpoint shows the same specs (`-1` for the batch axis and any axis the model leaves
open), in TF Serving's `signature_def` layout under the one signature, 'serving_default'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.preprocessing.image_files import ImageLayout, layout_for_shape

SIGNATURE_NAME = "serving_default"
METHOD_NAME = "tensorflow/serving/predict"
# TF Serving's DataType names of the dtypes a request may carry.
TF_DTYPES = {
    "float16": "DT_HALF",
    "bfloat16": "DT_BFLOAT16",
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: its name, shape with the batch axis first (None = any size)
    and dtype name; `image` is the picture an input reads, None when it reads none."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    image: ImageLayout | None = None

    @property
    def sample_shape(self) -> tuple[int | None, ...]:
        """The shape of one sample (no batch axis)."""
        return self.shape[1:]

    @property
    def numpy_dtype(self) -> np.dtype:
        """The NumPy dtype requests are converted to (bfloat16 arrives as float32)."""
        return np.dtype("float32" if self.dtype == "bfloat16" else self.dtype)

    def describe(self) -> dict[str, Any]:
        """TF Serving's TensorInfo of this tensor."""
        return {
            "dtype": TF_DTYPES.get(self.dtype, "DT_INVALID"),
            "tensor_shape": {
                "dim": [{"size": str(-1 if d is None else d), "name": ""} for d in self.shape],
                "unknown_rank": False,
            },
            "name": self.name,
        }


@dataclass(frozen=True)
class Signature:
    """The inputs a model takes and the outputs it gives, in the model's order."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @classmethod
    def of(cls, model: Any) -> Signature:
        """The signature of a built Lamina model (Sequential or functional)."""
        inputs = _tensors(model, "input")
        outputs = _tensors(model, "output")
        for spec in inputs:
            if spec.dtype not in TF_DTYPES:
                raise ValueError(
                    f"Expected a model whose inputs are numbers, received: input {spec.name!r} "
                    f"dtype={spec.dtype!r}"
                )
        with_images = tuple(
            TensorSpec(s.name, s.shape, s.dtype, layout_for_shape(s.sample_shape)) for s in inputs
        )
        return cls(with_images, outputs)

    def input_names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    def output_names(self) -> list[str]:
        return [spec.name for spec in self.outputs]

    def metadata(self, model_name: str, version: int) -> dict[str, Any]:
        """TF Serving's GetModelMetadata response for this signature."""
        signature = {
            "inputs": {spec.name: spec.describe() for spec in self.inputs},
            "outputs": {spec.name: spec.describe() for spec in self.outputs},
            "method_name": METHOD_NAME,
        }
        return {
            "model_spec": {"name": model_name, "signature_name": "", "version": str(version)},
            "metadata": {"signature_def": {"signature_def": {SIGNATURE_NAME: signature}}},
        }


def _tensors(model: Any, kind: str) -> tuple[TensorSpec, ...]:
    """The model's symbolic inputs or outputs as specs; names from their layers, made
    unique, else `input_0`, `output_1`..."""
    tensors = list(getattr(model, f"{kind}s", None) or [])
    if tensors:
        shapes = [tuple(t.shape) for t in tensors]
        dtypes = [str(getattr(t, "dtype", "float32")).removeprefix("torch.") for t in tensors]
        names = [getattr(getattr(t, "node", None), "layer", None) for t in tensors]
        labels = [getattr(layer, "name", None) for layer in names]
    else:
        shape = getattr(model, f"{kind}_shape", None)
        if shape is None:
            raise ValueError(
                f"Expected a built model with known {kind} shapes, received: {kind}_shape=None"
            )
        shapes = list(shape) if isinstance(shape, list) else [tuple(shape)]
        dtypes = ["float32"] * len(shapes)
        labels = [None] * len(shapes)
    if None in labels or len(set(labels)) != len(labels):
        labels = [f"{kind}_{i}" for i in range(len(shapes))]
    return tuple(
        TensorSpec(str(name), tuple(None if d is None else int(d) for d in shape), dtype)
        for name, shape, dtype in zip(labels, shapes, dtypes)
    )
