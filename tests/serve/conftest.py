"""Fixtures of the serving tests: the models (built once) and an app serving them."""

from __future__ import annotations

import pytest

from lamina.serve.app import create_app
from lamina.serve.config import ServeConfig
from tests.serve.serve_helpers import TOKEN, cnn, mlp, token_ids, two_in_two_out


@pytest.fixture(scope="session")
def models() -> dict:
    return {"mlp": mlp(), "cnn": cnn(), "multi": two_in_two_out(), "ids": token_ids()}


@pytest.fixture
def app(models):
    """All four models, with the test token; its workers stop after the test."""
    served = create_app(models, ServeConfig(token=TOKEN, batch_timeout_ms=1))
    yield served
    served.state.serve.models.close()
