"""The server's settings (`ServeConfig`) and their environment form, which the app
factory reads so that `uvicorn --factory --workers N lamina.serve.app:create_app` starts
N identical processes.

    LAMINA_SERVE_MODELS="mnist=/models/mnist.lamina,cnn=/models/cnn.keras"  (or JSON)
    LAMINA_SERVE_TOKEN=...             bearer token (unset: no authentication)
    LAMINA_SERVE_MAX_BATCH_SIZE=64     LAMINA_SERVE_BATCH_TIMEOUT_MS=2
    LAMINA_SERVE_MAX_BODY_BYTES=...    LAMINA_SERVE_MAX_INSTANCES=256
    LAMINA_SERVE_SCALE="unit,cnn=signed"
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from lamina.preprocessing.image_files import SCALES
from lamina.serve.names import check_model_name, parse_model_arg, unique_sources

ENV_PREFIX = "LAMINA_SERVE_"
MODELS_ENV = "LAMINA_SERVE_MODELS"
TOKEN_ENV = "LAMINA_SERVE_TOKEN"
_NUMBERS = {
    "max_batch_size": int,
    "batch_timeout_ms": float,
    "max_body_bytes": int,
    "max_instances": int,
    "max_queue_rows": int,
    "max_image_pixels": int,
    "body_timeout_s": float,
}


@dataclass(frozen=True)
class ServeConfig:
    """What the server accepts and how it batches.

    - `max_batch_size` samples per model call, or `batch_timeout_ms` waited after a
      request arrives for others still arriving to join it, whichever comes first;
    - `max_body_bytes` per request body (413 beyond), `max_instances` per request,
      `max_queue_rows` samples waiting per model (503 beyond), `max_image_pixels` per
      decoded image, `body_timeout_s` to receive a body (408 beyond);
    - `scale`: pixel scaling of uploaded images ('unit' 0..1, 'signed' -1..1, 'raw'
      0..255), `model_scales` per model name;
    - `token`: the bearer token every /v1 request must carry (None: no authentication).
    """

    max_batch_size: int = 64
    batch_timeout_ms: float = 2.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_instances: int = 256
    max_queue_rows: int = 4096
    max_image_pixels: int = 4096 * 4096
    body_timeout_s: float = 30.0
    scale: str = "unit"
    model_scales: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None

    def __post_init__(self) -> None:
        for name, kind in _NUMBERS.items():
            value = getattr(self, name)
            low, rule = (0, ">= 0") if name == "batch_timeout_ms" else (1e-9, "> 0")
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < low
                or (kind is int and int(value) != value)
            ):
                raise ValueError(
                    f"Expected {name} to be a {kind.__name__} {rule}, received: {name}={value!r}"
                )
        for name, scale in {"": self.scale, **self.model_scales}.items():
            if name:
                check_model_name(name)
            if scale not in SCALES:
                raise ValueError(
                    f"Expected a scale in {', '.join(SCALES)}, received: "
                    f"scale={scale!r}" + (f" for model {name!r}" if name else "")
                )
        if self.token is not None and not self.token.strip():
            raise ValueError("Expected a non-empty token, received: token=''")

    def scale_for(self, model_name: str) -> str:
        """The pixel scaling of `model_name`'s uploaded images."""
        return self.model_scales.get(model_name, self.scale)

    def to_env(self) -> dict[str, str]:
        """The environment that `from_env` reads back into this config."""
        env = {ENV_PREFIX + name.upper(): str(getattr(self, name)) for name in _NUMBERS}
        env[ENV_PREFIX + "SCALE"] = ",".join(
            [self.scale, *(f"{k}={v}" for k, v in self.model_scales.items())]
        )
        if self.token is not None:
            env[TOKEN_ENV] = self.token
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServeConfig:
        """The settings `LAMINA_SERVE_*` give; unset ones keep their defaults."""
        values: dict[str, object] = {}
        for item in fields(cls):
            key = ENV_PREFIX + item.name.upper()
            if item.name in _NUMBERS and environ.get(key, "").strip():
                try:
                    values[item.name] = _NUMBERS[item.name](environ[key])
                except ValueError as err:
                    raise ValueError(
                        f"Expected a number in {key}, received: {key}={environ[key]!r}"
                    ) from err
        scales = [s.strip() for s in environ.get(ENV_PREFIX + "SCALE", "").split(",") if s.strip()]
        values["model_scales"] = dict(s.split("=", 1) for s in scales if "=" in s)
        defaults = [s for s in scales if "=" not in s]
        if defaults:
            values["scale"] = defaults[-1]
        token = environ.get(TOKEN_ENV)
        values["token"] = token if token else None
        return cls(**values)  # type: ignore[arg-type]


def models_from_env(environ: Mapping[str, str]) -> dict[str, Path]:
    """The models `LAMINA_SERVE_MODELS` names: a JSON object {name: path}, or comma
    separated `NAME=PATH` / `PATH` entries."""
    text = environ.get(MODELS_ENV, "").strip()
    if not text:
        raise ValueError(
            f"Expected the models to serve in {MODELS_ENV} (e.g. mnist=/models/mnist.lamina), "
            "received: nothing"
        )
    if text.startswith(("{", "[")):
        try:
            table = json.loads(text)
        except ValueError as err:
            raise ValueError(f"Expected JSON in {MODELS_ENV}, received: {err}") from err
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ValueError(
                f"Expected {MODELS_ENV} to be a JSON object of name: path, received: {text[:80]!r}"
            )
        entries = [parse_model_arg(path, name) for name, path in table.items()]
    else:
        entries = [parse_model_arg(part.strip()) for part in text.split(",") if part.strip()]
    return unique_sources(entries)


def models_to_env(models: Mapping[str, Path]) -> str:
    """`LAMINA_SERVE_MODELS`'s JSON form of `models`."""
    return json.dumps({name: str(path) for name, path in models.items()})
