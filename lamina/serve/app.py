"""The ASGI app: TF Serving's REST API over the served models, on Starlette.

`create_app()` with no arguments reads the models and settings from the environment
(`lamina.serve.config`), so `uvicorn --factory --workers N lamina.serve.app:create_app`
runs N identical workers; `create_app({"mnist": "mnist.lamina"}, ServeConfig(...))`
builds one in code (a model already in memory serves as well as a file).

Each /v1 request is checked in this order: token (401), URL (404), method (405), model
name (400 malformed, 404 unknown), version (404), body size and time (413, 408), body
format and values against the signature (400, 413 for too many samples), queue room
(503). Any other failure answers 500 and the server keeps serving. `/healthz` answers
without a token, for load balancers; `/monitoring/prometheus/metrics` counts requests
and batches per model.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lamina.serve.config import ServeConfig, models_from_env
from lamina.serve.errors import ServeError
from lamina.serve.http_io import check_token, error_response, json_response, read_body
from lamina.serve.metrics import metrics_text
from lamina.serve.predict_request import PredictRequest, parse_json, response_body
from lamina.serve.routes import check_method, parse_target
from lamina.serve.served_model import VERSION, ModelSet, ServedModel

log = logging.getLogger("lamina.serve")
INLINE_BYTES = 64 * 1024  # bodies up to this size are parsed on the event loop itself
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class ServeApp:
    """The request handlers over one `ModelSet`; `responses` counts answers by status."""

    def __init__(self, models: ModelSet) -> None:
        self.models = models
        self.config = models.config
        self.token = self.config.token.encode() if self.config.token else None
        self.responses: collections.Counter[int] = collections.Counter()

    async def v1(self, request: Request) -> Response:
        """Every /v1/models URL: checks, then status, metadata or predict."""
        try:
            check_token(request, self.token)
            target = parse_target("/v1/models/" + request.path_params["rest"])
            check_method(target, request.method)
            served = self.models.get(target.name)
            if target.version not in (None, VERSION):
                raise ServeError(
                    404,
                    f"Expected version {VERSION} of {served.name!r} (the one served), "
                    f"received: version={target.version}",
                )
            if target.kind == "status":
                response = json_response(_status())
            elif target.kind == "metadata":
                response = json_response(served.signature.metadata(served.name, VERSION))
            else:
                response = await self.predict(request, served)
        except ServeError as error:
            response = error_response(error)
        except Exception as error:  # the server answers and goes on serving
            log.exception("request %s %s failed", request.method, request.url.path)
            response = error_response(
                ServeError(500, f"Expected to answer the request, received: {type(error).__name__}")
            )
        self.responses[response.status_code] += 1
        return response

    async def predict(self, request: Request, served: ServedModel) -> Response:
        """Read, check, queue for the batcher, answer with this request's rows."""
        served.batcher.expect()
        try:
            parsed = await self._read(request, served)
        except BaseException:
            served.batcher.unexpect()
            raise
        future = served.batcher.submit(parsed.inputs, expected=True)
        outputs = await asyncio.wrap_future(future)
        if sum(out.size for out in outputs) > 100_000:
            content = await run_in_threadpool(
                response_body, outputs, served.signature, parsed.columnar
            )
        else:
            content = response_body(outputs, served.signature, parsed.columnar)
        return json_response(content)

    async def _read(self, request: Request, served: ServedModel) -> PredictRequest:
        """The request's samples, checked (large bodies and images parsed off the loop)."""
        body = await read_body(request, self.config.max_body_bytes, self.config.body_timeout_s)
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith("multipart/form-data"):
            files, fields = await _form(request, body, self.config)
            return await run_in_threadpool(served.reader.from_files, files, fields)
        if len(body) > INLINE_BYTES or b'"b64"' in body:
            return await run_in_threadpool(_from_json, served, body)
        return _from_json(served, body)

    async def health(self, request: Request) -> Response:
        """Up and serving (no token needed, nothing about the models shown)."""
        return json_response({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        """Prometheus' text format: answers by status, batches and samples per model."""
        try:
            check_token(request, self.token)
        except ServeError as error:
            return error_response(error)
        text = metrics_text(self.models, self.responses)
        return Response(text, media_type="text/plain; version=0.0.4")


def _from_json(served: ServedModel, body: bytes) -> PredictRequest:
    return served.reader.from_json(parse_json(body))


def _status() -> dict[str, Any]:
    """TF Serving's GetModelStatus response: the one version, available."""
    return {
        "model_version_status": [
            {
                "version": str(VERSION),
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


async def _form(
    request: Request, body: bytes, config: ServeConfig
) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """The files and text fields of a multipart body already read (within the limit)."""
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return {"type": "http.disconnect"}
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=config.max_instances, max_fields=8, max_part_size=64 * 1024
        )
    except (MultiPartException, HTTPException) as err:
        message = getattr(err, "message", None) or getattr(err, "detail", "")
        raise ServeError(400, f"Expected a multipart/form-data body, received: {message}") from err
    files: list[tuple[str, bytes]] = []
    fields: dict[str, str] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append((key, await value.read()))
            else:
                fields[key] = value
    finally:
        await form.close()
    return files, fields


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(
        ServeError(
            404, f"Expected a path under /v1/models/, received: path={request.url.path[:80]!r}"
        )
    )


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(
        ServeError(405, f"Expected GET, received: {request.method[:20]!r}", {"Allow": "GET, HEAD"})
    )


def build_app(models: ModelSet) -> Starlette:
    """The Starlette app over `models`; its shutdown stops their workers."""
    handlers = ServeApp(models)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The models, torch and Lamina are millions of objects that live as long as the
        # server: frozen out of the cyclic collector, its full collections (which parsing
        # JSON's many lists sets off) stop walking them on every pass.
        gc.freeze()
        try:
            yield
        finally:
            models.close()

    app = Starlette(
        routes=[
            Route("/v1/models/{rest:path}", handlers.v1, methods=_METHODS),
            Route("/healthz", handlers.health, methods=["GET"]),
            Route("/monitoring/prometheus/metrics", handlers.metrics, methods=["GET"]),
        ],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
        lifespan=lifespan,
    )
    app.state.serve = handlers
    return app


def create_app(
    models: Mapping[str, Any] | None = None, config: ServeConfig | None = None
) -> Starlette:
    """The server for `models` (name -> model file or model) under `config`; with no
    arguments both come from the environment (LAMINA_SERVE_MODELS, LAMINA_SERVE_*)."""
    if models is None:
        models = models_from_env(os.environ)
    if config is None:
        config = ServeConfig.from_env(os.environ)
    return build_app(ModelSet(models, config))
