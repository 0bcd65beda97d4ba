"""`lamina serve`: serve model files over HTTP with TF Serving's REST API (uvicorn).

    lamina serve mnist.lamina                      http://127.0.0.1:8501/v1/models/mnist
    lamina serve a=mlp.h5 cnn.keras --port 9000    two models, 'a' and 'cnn'
    LAMINA_SERVE_TOKEN=... lamina serve m.lamina --host 0.0.0.0 --workers 2

The command checks its arguments, loads the models (`lamina.saving.load_model`, which
runs no code from a file) and runs uvicorn until interrupted; with --workers N uvicorn
starts N processes through the app factory, each loading the models itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from lamina.cli.errors import USAGE, CliError

FACTORY = "lamina.serve.app:create_app"


@dataclass
class ServePlan:
    """What `serve` will run: the models by name, the settings, where to listen and how
    many worker processes."""

    models: dict[str, Path]
    config: Any
    host: str
    port: int
    workers: int
    log_level: str


def serve(
    models: Annotated[
        list[str],
        typer.Argument(
            metavar="MODEL...",
            help="Model files (.lamina, .keras, .h5), each PATH (named after the file) or "
            "NAME=PATH.",
            show_default=False,
        ),
    ],
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name",
            help="The name of each MODEL in turn (repeat the option), overriding its default.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="The address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="The TCP port.")] = 8501,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="LAMINA_SERVE_TOKEN",
            help="Require 'Authorization: Bearer TOKEN' on every /v1 request (prefer the "
            "environment variable: a command line is visible to other users).",
            show_default=False,
        ),
    ] = None,
    max_batch_size: Annotated[
        int, typer.Option(min=1, help="Samples per model call, at most.")
    ] = 64,
    batch_timeout_ms: Annotated[
        float,
        typer.Option(
            min=0,
            help="How long a request may wait for others, still arriving, to batch with it.",
        ),
    ] = 2.0,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="The largest request body accepted (413 beyond).")
    ] = 4 * 1024 * 1024,
    max_instances: Annotated[
        int, typer.Option(min=1, help="The most samples one request may carry.")
    ] = 256,
    scale: Annotated[
        list[str] | None,
        typer.Option(
            help="Pixel scaling of uploaded images: unit (0..1), signed (-1..1) or raw "
            "(0..255), for every model or NAME=SCALE for one (repeat the option). "
            "Default: unit.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (uvicorn workers) on this host.")
    ] = 1,
    log_level: Annotated[
        str, typer.Option(help="uvicorn's log level: critical, error, warning, info, debug.")
    ] = "info",
) -> None:
    """Serve models over HTTP with TF Serving's REST API.

    POST /v1/models/NAME:predict with {"instances": [...]} or {"inputs": ...} (images as
    {"b64": ...} or multipart uploads), GET /v1/models/NAME and /v1/models/NAME/metadata.
    Requests to a model are batched together (--max-batch-size, --batch-timeout-ms).
    Listens on 127.0.0.1 unless --host says otherwise.
    """
    plan = plan_serve(
        models,
        names=name or [],
        host=host,
        port=port,
        token=token,
        max_batch_size=max_batch_size,
        batch_timeout_ms=batch_timeout_ms,
        max_body_bytes=max_body_bytes,
        max_instances=max_instances,
        scales=scale or [],
        workers=workers,
        log_level=log_level,
    )
    run(plan)


def plan_serve(
    models: list[str],
    names: list[str],
    host: str,
    port: int,
    token: str | None,
    max_batch_size: int,
    batch_timeout_ms: float,
    max_body_bytes: int,
    max_instances: int,
    scales: list[str],
    workers: int,
    log_level: str,
) -> ServePlan:
    """The checked plan of a `serve` command line (a usage CliError when it is wrong)."""
    from lamina.serve.config import ServeConfig
    from lamina.serve.names import parse_model_arg, unique_sources

    if len(names) > len(models):
        raise CliError(
            f"Expected at most one --name per MODEL ({len(models)}), received: {len(names)}",
            USAGE,
        )
    try:
        sources = [
            parse_model_arg(arg, names[i] if i < len(names) else None)
            for i, arg in enumerate(models)
        ]
        table = unique_sources(sources)
        default_scales = [s for s in scales if "=" not in s]
        config = ServeConfig(
            max_batch_size=max_batch_size,
            batch_timeout_ms=batch_timeout_ms,
            max_body_bytes=max_body_bytes,
            max_instances=max_instances,
            scale=default_scales[-1] if default_scales else "unit",
            model_scales=dict(s.split("=", 1) for s in scales if "=" in s),
            token=token,
        )
    except ValueError as err:
        raise CliError(str(err), USAGE) from err
    for model_name in config.model_scales:
        if model_name not in table:
            raise CliError(
                f"Expected --scale NAME=SCALE to name a served model ({', '.join(table)}), "
                f"received: {model_name!r}",
                USAGE,
            )
    for path in table.values():
        if not path.is_file():
            raise CliError(f"Expected a model file, received: path={str(path)!r} (no such file)")
    levels = ("critical", "error", "warning", "info", "debug", "trace")
    if log_level not in levels:
        raise CliError(
            f"Expected --log-level in {', '.join(levels)}, received: {log_level!r}", USAGE
        )
    return ServePlan(table, config, host, port, workers, log_level)


def run(plan: ServePlan) -> None:
    """Load the models and serve them with uvicorn until interrupted."""
    from lamina.serve.config import MODELS_ENV, models_to_env

    options = {
        "host": plan.host,
        "port": plan.port,
        "log_level": plan.log_level,
        "server_header": False,
    }
    if plan.workers == 1:
        from lamina.serve.app import create_app

        app = create_app(plan.models, plan.config)  # a broken file fails here, before binding
        _announce(plan)
        run_uvicorn(app, **options)
        return
    os.environ.update(plan.config.to_env())  # the workers' factory reads these
    os.environ[MODELS_ENV] = models_to_env(plan.models)
    _announce(plan)
    run_uvicorn(FACTORY, factory=True, workers=plan.workers, **options)


def _announce(plan: ServePlan) -> None:
    where = f"http://{plan.host}:{plan.port}"
    for model_name, path in plan.models.items():
        typer.echo(f"Serving {model_name} ({path}) at {where}/v1/models/{model_name}")
    if plan.config.token is None and plan.host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            f"lamina: warning: listening on {plan.host} without a token "
            "(--token or LAMINA_SERVE_TOKEN)",
            err=True,
        )


def run_uvicorn(app: Any, **options: Any) -> None:
    """uvicorn.run (a separate function so tests can stand in for it)."""
    import uvicorn

    uvicorn.run(app, **options)
