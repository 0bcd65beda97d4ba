"""`lamina serve`'s command line: its arguments become the server's plan (uvicorn itself
is replaced by a recorder; the command is registered on a Typer app of the test's own)."""

from __future__ import annotations

import os

import pytest
import typer

from lamina.cli import serve_command
from lamina.cli.entry import _report
from lamina.serve.config import ServeConfig
from tests.serve.serve_helpers import mlp


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve_cli")
    path = folder / "digits.lamina"
    mlp().save(path)
    mlp(seed=4).save(folder / "other.h5")
    return path


@pytest.fixture
def started(monkeypatch):
    """Runs the command with uvicorn replaced: (exit code, [(app, options)], stderr line)."""
    calls: list = []
    monkeypatch.setattr(serve_command, "run_uvicorn", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.setattr(os, "environ", dict(os.environ))  # --workers writes the environment
    os.environ.pop("LAMINA_SERVE_TOKEN", None)
    cli = typer.Typer()
    cli.command()(serve_command.serve)

    @cli.callback()
    def root() -> None:
        """A stand-in for lamina's root command."""

    def start(*args: str) -> tuple[int, list, str]:
        command = typer.main.get_command(cli)
        try:
            command.main(args=["serve", *args], prog_name="lamina", standalone_mode=False)
        except Exception as err:
            shown = err.format_message() if hasattr(err, "format_message") else str(err)
            return _report(err, debug=False), calls, shown
        return 0, calls, ""

    return start


def test_defaults_serve_on_loopback_port_8501(started, model_file, capsys):
    code, calls, _ = started(str(model_file))
    assert code == 0
    [(app, options)] = calls
    assert options == {
        "host": "127.0.0.1",
        "port": 8501,
        "log_level": "info",
        "server_header": False,
    }
    served = app.state.serve.models
    assert list(served.models) == ["digits"] and served.config == ServeConfig()
    assert "Serving digits" in capsys.readouterr().out
    served.close()


def test_names_options_and_scales(started, model_file):
    other = model_file.with_name("other.h5")
    code, calls, message = started(
        f"first={model_file}",
        str(other),
        "--name", "renamed",
        "--name", "second",
        "--port", "9000",
        "--host", "0.0.0.0",
        "--token", "tok",
        "--max-batch-size", "8",
        "--batch-timeout-ms", "0",
        "--max-body-bytes", "1000",
        "--max-instances", "4",
        "--scale", "raw",
        "--scale", "second=signed",
    )  # fmt: skip
    assert code == 0, message
    [(app, options)] = calls
    assert (options["host"], options["port"]) == ("0.0.0.0", 9000)
    served = app.state.serve.models
    assert list(served.models) == ["renamed", "second"]
    assert served.config == ServeConfig(
        max_batch_size=8,
        batch_timeout_ms=0,
        max_body_bytes=1000,
        max_instances=4,
        scale="raw",
        model_scales={"second": "signed"},
        token="tok",
    )
    served.close()


def test_the_token_comes_from_the_environment(started, model_file):
    os.environ["LAMINA_SERVE_TOKEN"] = "from-env"
    code, calls, _ = started(str(model_file))
    assert code == 0 and calls[0][0].state.serve.models.config.token == "from-env"
    calls[0][0].state.serve.models.close()


def test_workers_start_the_factory_with_the_environment(started, model_file):
    code, calls, _ = started(str(model_file), "--workers", "3", "--max-batch-size", "16")
    assert code == 0
    [(app, options)] = calls
    assert app == "lamina.serve.app:create_app"
    assert options["factory"] is True and options["workers"] == 3
    assert os.environ["LAMINA_SERVE_MAX_BATCH_SIZE"] == "16"
    from lamina.serve.config import models_from_env

    assert models_from_env(os.environ) == {"digits": model_file}


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["../bad name.lamina"], 2, "--name"),
        (["..=x.lamina"], 2, "model name"),
        (["{f}", "{f}"], 2, "one model per name"),
        (["{f}", "--name", "a", "--name", "b"], 2, "at most one --name"),
        (["{f}", "--scale", "percent"], 2, "scale"),
        (["{f}", "--scale", "nobody=raw"], 2, "served model"),
        (["{f}", "--max-batch-size", "0"], 2, "greater than or equal to 1"),
        (["{f}", "--log-level", "loud"], 2, "log-level"),
        (["missing.lamina"], 1, "no such file"),
        ([], 2, "MODEL"),
    ],
)
def test_wrong_command_lines(started, model_file, args, code, words):
    got, calls, message = started(*[a.replace("{f}", str(model_file)) for a in args])
    assert got == code and calls == []
    assert words in message


def test_a_file_that_is_not_a_model_fails_before_listening(started, tmp_path):
    broken = tmp_path / "broken.lamina"
    broken.write_bytes(b"not a model")
    code, calls, _ = started(str(broken))
    assert code == 1 and calls == []
