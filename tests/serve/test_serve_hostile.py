"""Hostile and malformed requests: each is refused with a 4xx and Lamina's error wording,
and the server answers the next good request correctly."""

from __future__ import annotations

import hmac

import numpy as np
import pytest

from lamina.serve import http_io
from lamina.serve.app import create_app
from lamina.serve.config import ServeConfig
from tests.serve.serve_helpers import AUTH, TOKEN, assert_error, call, mlp, raw_call

ROW = [0.5] * 784
BAD_BODIES = {
    "broken JSON": (b'{"instances": [[1, 2', "JSON"),
    "empty body": (b"", "empty"),
    "not an object": (b"[1, 2, 3]", "object"),
    "NaN literal": (b'{"instances": [[NaN]]}', "NaN"),
    "Infinity literal": (b'{"instances": [[Infinity]]}', "Infinity"),
    "minus Infinity": (b'{"instances": [[-Infinity]]}', "Infinity"),
    "overflowing number": (b'{"instances": [[1e999' + b", 0" * 783 + b"]]}", "overflows"),
    "strings": (b'{"instances": [["0.5"' + b', "1"' * 783 + b"]]}", "strings"),
    "booleans among numbers": (b'{"instances": [[true' + b", 0.5" * 783 + b"]]}", "booleans"),
    "null": (b'{"instances": [[null' + b", 0.5" * 783 + b"]]}", "null"),
    "ragged rows": (b'{"inputs": [[0' + b", 0" * 783 + b"], [3]]}", "ragged"),
    "nested deeper than the input": (b'{"instances": [[[1, 2]' + b", 0" * 783 + b"]]}", "ragged"),
    "wrong shape": (b'{"instances": [[1, 2, 3]]}', "shape=(3,)"),
    "a scalar instance": (b'{"instances": [7]}', "shape=()"),
    "instances not a list": (b'{"instances": {"a": 1}}', "list"),
    "no instances": (b'{"instances": []}', "at least one"),
    "both formats": (b'{"instances": [], "inputs": []}', "'instances'"),
    "unknown key": (b'{"instances": [[1]], "extra": 1}', "keys="),
    "unknown signature": (b'{"signature_name": "other", "instances": [[1]]}', "serving_default"),
    "deep nesting": (b'{"instances": ' + b"[" * 90_000 + b"]" * 90_000 + b"}", "JSON"),
    "invalid UTF-8": (b'{"instances": "\xff\xfe\xfa"}', "JSON"),
    "columnar batch not a list": (b'{"inputs": 3}', "list of samples"),
}


@pytest.fixture(scope="module")
def guarded():
    app = create_app(
        {"mlp": mlp()},
        ServeConfig(token=TOKEN, max_body_bytes=200_000, max_instances=8, batch_timeout_ms=0),
    )
    yield app
    app.state.serve.models.close()


def _good_request_still_answered(app) -> None:
    x = np.linspace(0, 1, 2 * 784, dtype=np.float32).reshape(2, 784)
    response = call(
        app, "POST", "/v1/models/mlp:predict", json={"instances": x.tolist()}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    model = app.state.serve.models.models["mlp"].model
    np.testing.assert_allclose(
        response.json()["predictions"], model.predict(x, verbose=0), atol=1e-5
    )


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_malformed_bodies_are_refused_with_400(guarded, case):
    body, word = BAD_BODIES[case]
    headers = {**AUTH, "content-type": "application/json"}
    response = call(guarded, "POST", "/v1/models/mlp:predict", content=body, headers=headers)
    assert_error(response, 400, word)
    _good_request_still_answered(guarded)


def test_too_many_instances_is_413(guarded):
    response = call(
        guarded, "POST", "/v1/models/mlp:predict", json={"instances": [ROW] * 9}, headers=AUTH
    )
    assert_error(response, 413, "at most 8")


def test_a_declared_body_over_the_limit_is_refused_unread(guarded):
    headers = {**AUTH, "content-length": str(100 * 1024 * 1024)}
    status, out, body, read = raw_call(
        guarded, "POST", b"/v1/models/mlp:predict", headers, [b"{"] * 50
    )
    assert status == 413 and body["error"].startswith("Expected") and read == 0
    assert out["connection"] == "close"


def test_a_streamed_body_over_the_limit_is_cut_off_while_reading(guarded):
    chunks = [b"[" * 65536] * 1600  # 100 MiB without a Content-Length
    status, _, body, read = raw_call(guarded, "POST", b"/v1/models/mlp:predict", AUTH, chunks)
    assert status == 413 and "at most 200000 bytes" in body["error"]
    # read up to the limit and DRAIN_BYTES more (so a client still sending can read the
    # 413), not 100 MiB
    assert read <= (200_000 + http_io.DRAIN_BYTES) // 65536 + 2
    _good_request_still_answered(guarded)


def test_a_body_a_little_over_the_limit_is_read_out_so_the_client_gets_the_413(guarded):
    body = b"[" * 300_000
    headers = {**AUTH, "content-length": str(len(body))}
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    status, _, answer, read = raw_call(guarded, "POST", b"/v1/models/mlp:predict", headers, chunks)
    assert status == 413 and read == len(chunks)
    headers["expect"] = "100-continue"  # the client waits: refused before any byte is read
    status, _, answer, read = raw_call(guarded, "POST", b"/v1/models/mlp:predict", headers, chunks)
    assert status == 413 and read == 0
    response = call(guarded, "POST", "/v1/models/mlp:predict", content=body, headers=AUTH)
    assert_error(response, 413, "Content-Length=300000")


def test_a_body_that_never_finishes_times_out(models):
    app = create_app({"mlp": models["mlp"]}, ServeConfig(body_timeout_s=0.2))
    status, _, body, _ = raw_call(app, "POST", b"/v1/models/mlp:predict", {}, [b'{"inst'], stall=5)
    assert status == 408 and body["error"].startswith("Expected the request body within")


@pytest.mark.parametrize(
    "raw_path, statuses",
    [
        (b"/v1/models/%2e%2e/%2e%2e/etc/passwd:predict", (400, 404)),
        (b"/v1/models/../../etc/passwd:predict", (400, 404)),
        (b"/v1/models/..%2f..%2fetc%2fpasswd:predict", (400, 404)),
        (b"/v1/models/%2e%2e:predict", (400,)),
        (b"/v1/models/..:predict", (400,)),
        (b"/v1/models/.hidden:predict", (400,)),
        (b"/v1/models/a..b:predict", (400,)),
        (b"/v1/models/mlp%00:predict", (400,)),
        (b"/v1/models/%C3%A9t%C3%A9:predict", (400,)),
        (b"/v1/models/" + b"a" * 65 + b":predict", (400,)),
        (b"/v1/models/:predict", (400,)),
        (b"/v1/models/mlp/versions/..%2f1:predict", (404,)),
        (b"/v1/models/mlp/versions/99999999999999999999999:predict", (404,)),
    ],
)
def test_path_names_never_reach_a_model_or_a_file(guarded, raw_path, statuses):
    body = b'{"instances": [[' + b"0," * 783 + b"0]]}"
    status, _, answer, _ = raw_call(guarded, "POST", raw_path, AUTH, [body])
    assert status in statuses, (raw_path, status, answer)
    assert answer["error"].startswith("Expected")


def test_the_token_is_required_and_compared_in_constant_time(guarded, monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(http_io.hmac, "compare_digest", spy)
    url, body = "/v1/models/mlp:predict", {"instances": [ROW]}
    missing = call(guarded, "POST", url, json=body)
    assert_error(missing, 401, "Authorization")
    assert missing.headers["www-authenticate"] == 'Bearer realm="lamina serve"'
    for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN, "Bearer wrong"):
        response = call(guarded, "POST", url, json=body, headers={"Authorization": header})
        assert_error(response, 401, "token")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    for path in ("/v1/models/mlp", "/v1/models/mlp/metadata", "/v1/models/nobody"):
        assert call(guarded, "GET", path, headers={"Authorization": "Bearer no"}).status_code == 401
    assert call(guarded, "POST", url, json=body, headers=AUTH).status_code == 200
    assert (TOKEN.encode(), TOKEN.encode()) in compared


def test_a_failing_model_answers_500_and_the_server_goes_on(models, monkeypatch):
    app = create_app({"mlp": models["mlp"]}, ServeConfig())
    runner = app.state.serve.models.models["mlp"].batcher
    real = runner.run
    calls = []

    def flaky(arrays):
        calls.append(len(arrays[0]))
        if len(calls) == 1:
            raise RuntimeError("internal detail that must not reach the client")
        return real(arrays)

    monkeypatch.setattr(runner, "run", flaky)
    response = call(app, "POST", "/v1/models/mlp:predict", json={"instances": [ROW]})
    assert_error(response, 500, "RuntimeError")
    assert "internal detail" not in response.text
    _good_request_still_answered(app)
    app.state.serve.models.close()


def test_outputs_that_are_not_finite_answer_500(models, monkeypatch):
    app = create_app({"mlp": models["mlp"]}, ServeConfig())
    batcher = app.state.serve.models.models["mlp"].batcher
    monkeypatch.setattr(batcher, "run", lambda arrays: [np.full((len(arrays[0]), 10), np.nan)])
    response = call(app, "POST", "/v1/models/mlp:predict", json={"instances": [ROW]})
    assert_error(response, 500, "finite")
    app.state.serve.models.close()
