"""Model names, the NAME=PATH forms, and the settings with their environment form (what
`uvicorn --factory` workers read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lamina.serve.config import ServeConfig, models_from_env, models_to_env
from lamina.serve.names import ModelSource, parse_model_arg, unique_sources, valid_model_name


@pytest.mark.parametrize("name", ["mnist", "a", "m-1.v2_x", "0model", "A" * 64])
def test_valid_names(name):
    assert valid_model_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a..b",
        ".hidden",
        "-x",
        "_x",
        "a/b",
        "a\\b",
        "a b",
        "a:b",
        "é",
        "a\x00",
        "A" * 65,
        "../../etc/passwd",
        "%2e%2e",
    ],
)
def test_invalid_names(name):
    assert not valid_model_name(name)


def test_model_arguments(tmp_path):
    odd = tmp_path / "x=y.lamina"
    odd.write_bytes(b"")
    assert parse_model_arg("dir/mnist_cnn.lamina").name == "mnist_cnn"
    assert parse_model_arg("digits=dir/m.h5") == parse_model_arg("dir/m.h5", "digits")
    assert parse_model_arg("digits=dir/m.h5").path == Path("dir/m.h5")
    assert parse_model_arg(str(odd), "odd") == ModelSource("odd", odd)  # a file keeps its '='
    with pytest.raises(ValueError, match="--name"):
        parse_model_arg(str(odd))
    with pytest.raises(ValueError, match="model name"):
        parse_model_arg("dir/my model.lamina")
    with pytest.raises(ValueError, match="model name"):
        parse_model_arg("../x=m.lamina")
    with pytest.raises(ValueError, match="one model per name"):
        unique_sources([parse_model_arg("a/m.h5"), parse_model_arg("b/m.lamina")])


def test_settings_are_checked():
    for bad in (
        {"max_batch_size": 0},
        {"max_body_bytes": -1},
        {"max_instances": 2.5},
        {"batch_timeout_ms": float("nan")},
        {"body_timeout_s": 0},
        {"max_batch_size": True},
        {"scale": "percent"},
        {"model_scales": {"m": "percent"}},
        {"model_scales": {"..": "unit"}},
        {"token": "  "},
    ):
        with pytest.raises(ValueError, match="^Expected"):
            ServeConfig(**bad)


def test_the_environment_round_trip():
    config = ServeConfig(
        max_batch_size=32,
        batch_timeout_ms=0.5,
        max_body_bytes=1000,
        max_instances=7,
        scale="raw",
        model_scales={"cnn": "signed"},
        token="abc",
    )
    assert ServeConfig.from_env(config.to_env()) == config
    assert ServeConfig.from_env({}) == ServeConfig()
    with pytest.raises(ValueError, match="LAMINA_SERVE_MAX_BATCH_SIZE"):
        ServeConfig.from_env({"LAMINA_SERVE_MAX_BATCH_SIZE": "many"})


def test_models_from_the_environment():
    table = {"mnist": Path("/m/mnist.lamina"), "cnn": Path("/m/c.keras")}
    assert models_from_env({"LAMINA_SERVE_MODELS": models_to_env(table)}) == table
    assert models_from_env({"LAMINA_SERVE_MODELS": "mnist=/m/mnist.lamina, /m/c.keras"}) == {
        "mnist": Path("/m/mnist.lamina"),
        "c": Path("/m/c.keras"),
    }
    for bad in ("", json.dumps({"..": "/m/x.h5"}), json.dumps(["/m/x.h5"])):
        with pytest.raises(ValueError, match="^Expected"):
            models_from_env({"LAMINA_SERVE_MODELS": bad})
