"""Reading requests and writing answers safely: the bearer token check, the body read
under a byte limit and a time limit, and JSON error bodies.

The byte limit is enforced while the body streams in (a client can omit Content-Length
or send more than it announced), after refusing at once a Content-Length above it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from lamina.serve.errors import ServeError

REALM = 'Bearer realm="lamina serve"'
DRAIN_BYTES = 1024 * 1024  # read past the limit at most this much so a 413 can be read
DRAIN_S = 1.0
_PLAIN = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def check_token(request: Request, token: bytes | None) -> None:
    """A 401 unless the request carries `Authorization: Bearer <token>` (when the server
    has a token). The comparison takes the same time wherever the strings differ."""
    if token is None:
        return
    header = request.headers.get("authorization")
    if header is None:
        raise ServeError(
            401,
            "Expected an 'Authorization: Bearer <token>' header, received: none",
            {"WWW-Authenticate": REALM},
        )
    scheme, _, given = header.partition(" ")
    presented = given.strip().encode("latin-1", "replace")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented, token):
        raise ServeError(
            401,
            "Expected the server's bearer token, received: a wrong or malformed one",
            {"WWW-Authenticate": REALM + ', error="invalid_token"'},
        )


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The whole body, at most `limit` bytes (413 beyond) within `timeout_s` (408).

    A Content-Length far over the limit (or with `Expect: 100-continue`) is refused before
    a byte of the body is read. A body found too large while it streams in, or announced
    only a little over the limit, is read on and discarded for at most `DRAIN_BYTES` and
    `DRAIN_S` more, so that a client still sending can read the 413 (a connection closed
    with unread data reaches the client as a reset); beyond that the connection is cut."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ServeError(
                400, f"Expected a Content-Length in digits, received: {declared[:40]!r}"
            )
        size = int(declared)
        if size > limit:
            expects = "100-continue" in request.headers.get("expect", "").lower()
            if not expects and size - limit <= DRAIN_BYTES:
                await _drain(request, size)
            raise _too_large(limit, f"Content-Length={size}")
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()
    try:
        with anyio.fail_after(timeout_s):
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    await _drain(request, DRAIN_BYTES, stream)
                    raise _too_large(limit, f"more than {limit} bytes sent")
                chunks.append(chunk)
    except TimeoutError as err:
        raise ServeError(
            408, f"Expected the request body within {timeout_s:g} s, received: {size} bytes"
        ) from err
    except ClientDisconnect as err:
        raise ServeError(400, "Expected a whole request body, received: a disconnect") from err
    return b"".join(chunks)


async def _drain(request: Request, budget: int, stream: AsyncIterator[bytes] | None = None) -> None:
    """Read and drop up to `budget` bytes of the body within `DRAIN_S`, then stop."""
    with anyio.move_on_after(DRAIN_S):
        try:
            async for chunk in stream if stream is not None else request.stream():
                budget -= len(chunk)
                if budget <= 0:
                    return
        except ClientDisconnect:
            return


def _too_large(limit: int, received: str) -> ServeError:
    return ServeError(
        413, f"Expected a request body of at most {limit} bytes, received: {received}"
    )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` as compact JSON (already-encoded bytes pass as they are)."""
    content = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return Response(
        content,
        status_code=status,
        headers={**_PLAIN, **(headers or {})},
        media_type="application/json",
    )


def error_response(error: ServeError) -> Response:
    """TF Serving's error body, `{"error": "..."}`, with the error's status and headers."""
    headers = dict(error.headers)
    if error.status in (408, 413):  # the rest of the body is not read: end the connection
        headers.setdefault("Connection", "close")
    return json_response({"error": error.message}, error.status, headers)
