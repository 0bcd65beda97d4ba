"""TF Serving's predict request and response bodies, read into and written from arrays.

Row format: `{"instances": [...]}`, one entry per sample; for a model with several inputs
each entry is an object keyed by input name. The answer is `{"predictions": [...]}`, one
entry per sample (an object keyed by output name when there are several outputs).
Columnar format: `{"inputs": batch}` or `{"inputs": {name: batch, ...}}`, answered by
`{"outputs": batch}` or `{"outputs": {name: batch, ...}}`. An image input also takes
`{"b64": "..."}` in place of a sample, or files of a multipart/form-data upload.
`"signature_name"` may name the one signature, 'serving_default'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.serve.errors import ServeError, shown
from lamina.serve.images import b64_bytes, image_sample, is_b64
from lamina.serve.signature import SIGNATURE_NAME, Signature, TensorSpec
from lamina.serve.tensors import shape_text, to_array

_KEYS = ("signature_name", "instances", "inputs")


@dataclass
class PredictRequest:
    """A request's samples: one (n, ...) array per model input, in the model's order, and
    whether it came in columnar form (which its answer keeps)."""

    inputs: list[np.ndarray]
    columnar: bool

    @property
    def rows(self) -> int:
        return len(self.inputs[0])


def parse_json(body: bytes) -> Any:
    """A request body as JSON; NaN and Infinity literals (which Python's parser would
    take) are refused."""
    if not body.strip():
        raise ServeError(400, "Expected a JSON body, received: an empty body")
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as err:
        reason = type(err).__name__ if isinstance(err, RecursionError) else str(err)
        raise ServeError(400, f"Expected a JSON body, received: {reason}") from err


def _refuse_constant(name: str) -> Any:
    raise ServeError(400, f"Expected finite numbers, received: {name}")


def check_signature_name(name: Any) -> None:
    """Only the one signature exists; '' and a missing name mean it too."""
    if name not in (None, "", SIGNATURE_NAME):
        raise ServeError(
            400, f"Expected signature_name {SIGNATURE_NAME!r}, received: {shown(name)}"
        )


class RequestReader:
    """Turns predict bodies into `PredictRequest`s for one model's signature."""

    def __init__(
        self, signature: Signature, scale: str, max_instances: int, max_image_pixels: int
    ) -> None:
        self.signature = signature
        self.specs = signature.inputs
        self.scale = scale
        self.max_instances = max_instances
        self.max_image_pixels = max_image_pixels

    # ------------------------------------------------------------------ JSON
    def from_json(self, payload: Any) -> PredictRequest:
        """A parsed JSON body -> the arrays it holds, checked against the signature."""
        if not isinstance(payload, dict):
            raise ServeError(
                400, f"Expected a JSON object body, received: {type(payload).__name__}"
            )
        extra = sorted(set(payload) - set(_KEYS))
        if extra or ("instances" in payload) == ("inputs" in payload):
            raise ServeError(
                400,
                "Expected an object with 'instances' (row format) or 'inputs' (columnar) and "
                f"optionally 'signature_name', received: keys={shown(sorted(payload))}",
            )
        check_signature_name(payload.get("signature_name"))
        if "instances" in payload:
            return PredictRequest(self._rows(payload["instances"]), columnar=False)
        return PredictRequest(self._columns(payload["inputs"]), columnar=True)

    def _count(self, n: int, what: str) -> None:
        if n == 0:
            raise ServeError(400, f"Expected at least one sample in {what}, received: none")
        if n > self.max_instances:
            raise ServeError(
                413, f"Expected at most {self.max_instances} samples per request, received: {n}"
            )

    def _rows(self, instances: Any) -> list[np.ndarray]:
        if not isinstance(instances, list):
            raise ServeError(
                400, f"Expected 'instances' to be a list, received: {type(instances).__name__}"
            )
        self._count(len(instances), "instances")
        if len(self.specs) == 1 and not any(isinstance(v, dict) for v in instances):
            try:  # the common case, all at once
                return [to_array(instances, self.specs[0], "instances", batched=True)]
            except ServeError:
                pass  # find the sample at fault for the message
        columns: list[list[np.ndarray]] = [[] for _ in self.specs]
        for i, instance in enumerate(instances):
            for k, value in enumerate(self._instance_values(instance, i)):
                where = f"instances[{i}]" + (
                    f".{self.specs[k].name}" if len(self.specs) > 1 else ""
                )
                columns[k].append(self._sample(value, self.specs[k], where))
        return [_stack(col, spec, "instances") for col, spec in zip(columns, self.specs)]

    def _instance_values(self, instance: Any, i: int) -> list[Any]:
        names = self.signature.input_names()
        if len(names) == 1 and not (isinstance(instance, dict) and not is_b64(instance)):
            return [instance]
        if not isinstance(instance, dict) or is_b64(instance) or set(instance) != set(names):
            got = sorted(instance) if isinstance(instance, dict) else type(instance).__name__
            raise ServeError(
                400,
                f"Expected instances[{i}] to be an object with the inputs {names}, received: "
                f"{shown(got)}",
            )
        return [instance[name] for name in names]

    def _sample(self, value: Any, spec: TensorSpec, where: str) -> np.ndarray:
        if is_b64(value):
            data = b64_bytes(value, where)
            return image_sample(data, spec, self.scale, self.max_image_pixels, where)
        return to_array(value, spec, where, batched=False)

    def _columns(self, inputs: Any) -> list[np.ndarray]:
        names = self.signature.input_names()
        if len(names) == 1 and not (
            isinstance(inputs, dict) and not is_b64(inputs) and set(inputs) == set(names)
        ):
            batches = [inputs]
        elif isinstance(inputs, dict) and set(inputs) == set(names):
            batches = [inputs[name] for name in names]
        else:
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise ServeError(
                400,
                f"Expected 'inputs' to be an object with the inputs {names}, received: "
                f"{shown(got)}",
            )
        arrays = []
        for spec, batch in zip(self.specs, batches):
            where = "inputs" + (f".{spec.name}" if len(names) > 1 else "")
            if not isinstance(batch, list):
                raise ServeError(
                    400,
                    f"Expected {where} to be a list of samples (batch first), received: "
                    f"{type(batch).__name__}",
                )
            self._count(len(batch), where)
            if any(isinstance(v, dict) for v in batch):
                samples = [self._sample(v, spec, f"{where}[{i}]") for i, v in enumerate(batch)]
                arrays.append(_stack(samples, spec, where))
            else:
                arrays.append(to_array(batch, spec, where, batched=True))
        if len({len(a) for a in arrays}) > 1:
            sizes = {spec.name: len(a) for spec, a in zip(self.specs, arrays)}
            raise ServeError(
                400, f"Expected the same number of samples for every input, received: {sizes}"
            )
        return arrays

    # ------------------------------------------------------------- multipart
    def from_files(self, files: list[tuple[str, bytes]], fields: dict[str, str]) -> PredictRequest:
        """Uploaded files (field name, bytes) -> images for the image inputs: every file
        for a one-input model, else the files of the field named after each input."""
        extra = sorted(set(fields) - {"signature_name"})
        if extra:
            raise ServeError(
                400,
                "Expected image files and optionally a 'signature_name' field, received: "
                f"fields={shown(extra)}",
            )
        check_signature_name(fields.get("signature_name"))
        names = self.signature.input_names()
        if len(names) == 1:
            groups = {names[0]: [data for _, data in files]}
        else:
            unknown = sorted({field for field, _ in files} - set(names))
            if unknown:
                raise ServeError(
                    400,
                    f"Expected file fields named after the inputs {names}, received: "
                    f"{shown(unknown)}",
                )
            groups = {name: [data for field, data in files if field == name] for name in names}
        arrays = []
        for spec in self.specs:
            images = groups[spec.name]
            where = f"files[{spec.name}]" if len(names) > 1 else "files"
            self._count(len(images), where)
            samples = [
                image_sample(data, spec, self.scale, self.max_image_pixels, f"{where}[{i}]")
                for i, data in enumerate(images)
            ]
            arrays.append(_stack(samples, spec, where))
        if len({len(a) for a in arrays}) > 1:
            sizes = {spec.name: len(a) for spec, a in zip(self.specs, arrays)}
            raise ServeError(
                400, f"Expected the same number of files for every input, received: {sizes}"
            )
        return PredictRequest(arrays, columnar=False)


def _stack(samples: list[np.ndarray], spec: TensorSpec, where: str) -> np.ndarray:
    shapes = {s.shape for s in samples}
    if len(shapes) > 1:
        raise ServeError(
            400,
            f"Expected samples of one shape in {where} for input {spec.name!r}, received: "
            + ", ".join(shape_text(s) for s in sorted(shapes)),
        )
    return np.stack(samples)


def response_body(outputs: list[np.ndarray], signature: Signature, columnar: bool) -> bytes:
    """`{"predictions": ...}` (rows) or `{"outputs": ...}` (columnar) as JSON bytes; a
    model that returned NaN or Infinity gives a 500, as JSON has no such numbers."""
    names = signature.output_names()
    if columnar:
        body: Any = {
            "outputs": outputs[0].tolist()
            if len(outputs) == 1
            else {name: out.tolist() for name, out in zip(names, outputs)}
        }
    elif len(outputs) == 1:
        body = {"predictions": outputs[0].tolist()}
    else:
        lists = [out.tolist() for out in outputs]
        body = {"predictions": [dict(zip(names, row)) for row in zip(*lists)]}
    try:
        return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
    except ValueError as err:
        raise ServeError(
            500, "Expected finite outputs from the model, received: NaN or Infinity"
        ) from err
