"""Helpers of the serving tests: small models, requests to the ASGI app in process (with
httpx, or raw ASGI messages for URLs and bodies a client library would tidy up), and PNGs."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any
from urllib.parse import unquote

import httpx
import numpy as np

import lamina as keras
from lamina import layers

TOKEN = "test-token-1234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def mlp(seed: int = 0) -> Any:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            layers.Input((784,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def cnn(seed: int = 1) -> Any:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )


def two_in_two_out(seed: int = 2) -> Any:
    """Inputs 'image' (28, 28, 1) and 'meta' (5,); outputs 'digit' (10) and 'size' (1)."""
    keras.utils.set_random_seed(seed)
    image = keras.Input((28, 28, 1), name="image")
    meta = keras.Input((5,), name="meta")
    h = layers.Concatenate()([layers.Flatten()(image), meta])
    h = layers.Dense(8, activation="relu")(h)
    digit = layers.Dense(10, activation="softmax", name="digit")(h)
    size = layers.Dense(1, name="size")(h)
    return keras.Model([image, meta], [digit, size])


def token_ids(seed: int = 3) -> Any:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            layers.Input((5,), dtype="int32"),
            layers.Embedding(10, 3),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request through httpx to the app in process."""

    async def go() -> httpx.Response:
        async with client(app) as c:
            return await c.request(method, url, **kwargs)

    return run(go())


def raw_call(
    app: Any,
    method: str,
    raw_path: bytes,
    headers: dict[str, str] | None = None,
    chunks: list[bytes] | None = None,
    stall: float = 0.0,
) -> tuple[int, dict[str, str], Any, int]:
    """The app called with ASGI messages as a server would send them (path percent-decoded,
    raw_path kept, body in `chunks`, then `stall` seconds of silence): status, headers,
    JSON body and how many body chunks the app read."""
    chunks = chunks if chunks is not None else [b""]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        if read < len(chunks):
            read += 1
            return {
                "type": "http.request",
                "body": chunks[read - 1],
                "more_body": read < len(chunks) or stall > 0,
            }
        await asyncio.sleep(stall)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    out_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], out_headers, json.loads(body) if body else None, read


def png_bytes(pixels: np.ndarray) -> bytes:
    """A uint8 (h, w) or (h, w, 3) array as PNG bytes."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    """The response is `status` with TF Serving's error body in Lamina's wording."""
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert message.startswith("Expected"), message
    for word in words:
        assert word in message, message
