"""TF Serving's endpoints and formats: status, metadata, predict in row and columnar
form, one and several inputs and outputs; answers compared with `model.predict`."""

from __future__ import annotations

import numpy as np
import pytest

from tests.serve.serve_helpers import AUTH, assert_error, call

RNG = np.random.default_rng(0)


def _x(*shape: int) -> np.ndarray:
    return RNG.random(shape, dtype=np.float32)


@pytest.mark.parametrize("path", ["/v1/models/mlp", "/v1/models/mlp/versions/1"])
def test_status_says_the_one_version_is_available(app, path):
    response = call(app, "GET", path, headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


def test_another_version_is_not_found(app):
    assert_error(call(app, "GET", "/v1/models/mlp/versions/2", headers=AUTH), 404, "version=2")
    x = _x(1, 784).tolist()
    response = call(
        app, "POST", "/v1/models/mlp/versions/7:predict", json={"instances": x}, headers=AUTH
    )
    assert_error(response, 404, "version=7")


def _dims(info: dict) -> list[int]:
    return [int(d["size"]) for d in info["tensor_shape"]["dim"]]


def test_metadata_shows_the_models_signature(app, models):
    for name in ("mlp", "multi", "ids"):
        model = models[name]
        response = call(app, "GET", f"/v1/models/{name}/metadata", headers=AUTH)
        assert response.status_code == 200
        body = response.json()
        assert body["model_spec"] == {"name": name, "signature_name": "", "version": "1"}
        signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
        assert signature["method_name"] == "tensorflow/serving/predict"
        shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
        names = [t.node.layer.name for t in model.inputs]
        assert list(signature["inputs"]) == names
        for input_name, shape in zip(names, shapes):
            info = signature["inputs"][input_name]
            assert _dims(info) == [-1 if d is None else d for d in shape]
            assert info["dtype"] == ("DT_INT32" if name == "ids" else "DT_FLOAT")
        outs = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
        assert [_dims(i) for i in signature["outputs"].values()] == [
            [-1 if d is None else d for d in s] for s in outs
        ]
    multi = call(app, "GET", "/v1/models/multi/versions/1/metadata", headers=AUTH).json()
    outputs = multi["metadata"]["signature_def"]["signature_def"]["serving_default"]["outputs"]
    assert list(outputs) == ["digit", "size"]


@pytest.mark.parametrize("url", ["/v1/models/mlp:predict", "/v1/models/mlp/versions/1:predict"])
def test_row_format_matches_predict(app, models, url):
    x = _x(5, 784)
    body = {"signature_name": "serving_default", "instances": x.tolist()}
    response = call(app, "POST", url, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    got = np.asarray(response.json()["predictions"])
    np.testing.assert_allclose(got, models["mlp"].predict(x, verbose=0), atol=1e-5)


def test_row_format_takes_instances_keyed_by_the_input_name(app, models):
    x = _x(3, 784)
    # The name is automatic (it depends on the models built before): a client reads it from
    # the metadata.
    meta = call(app, "GET", "/v1/models/mlp/metadata", headers=AUTH).json()
    (name,) = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    body = {"instances": [{name: row} for row in x.tolist()]}
    response = call(app, "POST", "/v1/models/mlp:predict", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(
        response.json()["predictions"], models["mlp"].predict(x, verbose=0), atol=1e-5
    )


def test_columnar_format_answers_outputs(app, models):
    x = _x(4, 28, 28, 1)
    response = call(
        app, "POST", "/v1/models/cnn:predict", json={"inputs": x.tolist()}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["outputs"]
    np.testing.assert_allclose(
        response.json()["outputs"], models["cnn"].predict(x, verbose=0), atol=1e-5
    )


def test_several_inputs_and_outputs_in_rows_and_columns(app, models):
    image, meta = _x(3, 28, 28, 1), _x(3, 5)
    digit, size = models["multi"].predict([image, meta], verbose=0)
    rows = [{"meta": m, "image": i} for i, m in zip(image.tolist(), meta.tolist())]
    response = call(app, "POST", "/v1/models/multi:predict", json={"instances": rows}, headers=AUTH)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [sorted(p) for p in predictions] == [["digit", "size"]] * 3
    np.testing.assert_allclose([p["digit"] for p in predictions], digit, atol=1e-5)
    np.testing.assert_allclose([p["size"] for p in predictions], size, atol=1e-5)
    columns = {"inputs": {"image": image.tolist(), "meta": meta.tolist()}}
    response = call(app, "POST", "/v1/models/multi:predict", json=columns, headers=AUTH)
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]
    np.testing.assert_allclose(outputs["digit"], digit, atol=1e-5)
    np.testing.assert_allclose(outputs["size"], size, atol=1e-5)


def test_integer_inputs_take_integers_only(app, models):
    ids = np.arange(10).reshape(2, 5) % 10
    response = call(
        app, "POST", "/v1/models/ids:predict", json={"instances": ids.tolist()}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(
        response.json()["predictions"],
        models["ids"].predict(ids.astype("int32"), verbose=0),
        atol=1e-5,
    )
    fractional = {"instances": [[0.5, 1, 2, 3, 4]]}
    assert_error(
        call(app, "POST", "/v1/models/ids:predict", json=fractional, headers=AUTH),
        400,
        "fractional",
    )
    huge = {"instances": [[2**40, 1, 2, 3, 4]]}
    assert_error(call(app, "POST", "/v1/models/ids:predict", json=huge, headers=AUTH), 400, "int32")


def test_unknown_model_path_method_and_verb(app):
    assert_error(call(app, "GET", "/v1/models/nobody", headers=AUTH), 404, "name='nobody'")
    assert_error(call(app, "GET", "/v2/elsewhere", headers=AUTH), 404, "path=")
    response = call(app, "GET", "/v1/models/mlp:predict", headers=AUTH)
    assert_error(response, 405, "POST")
    assert response.headers["allow"] == "POST"
    response = call(app, "DELETE", "/v1/models/mlp", headers=AUTH)
    assert_error(response, 405)
    assert response.headers["allow"] == "GET, HEAD"
    assert_error(
        call(app, "POST", "/v1/models/mlp:classify", json={}, headers=AUTH), 400, "predict"
    )


def test_health_needs_no_token_and_metrics_count_batches(app):
    assert call(app, "GET", "/healthz").json() == {"status": "ok"}
    x = _x(2, 784).tolist()
    call(app, "POST", "/v1/models/mlp:predict", json={"instances": x}, headers=AUTH)
    assert call(app, "GET", "/monitoring/prometheus/metrics").status_code == 401
    text = call(app, "GET", "/monitoring/prometheus/metrics", headers=AUTH).text
    assert 'lamina_serve_samples_total{model="mlp"} 2' in text
    assert 'lamina_serve_responses_total{code="200"} 1' in text


def test_the_lifespan_freezes_startup_objects_and_shutdown_stops_the_workers(models):
    import asyncio
    import gc

    from lamina.serve.app import create_app
    from lamina.serve.config import ServeConfig
    from lamina.serve.errors import ServeError

    app = create_app({"mlp": models["mlp"]}, ServeConfig())
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []
    frozen: list[int] = []

    async def receive() -> dict:
        if not sent:
            return messages[0]
        frozen.append(gc.get_freeze_count())
        return messages[1]

    async def send(message: dict) -> None:
        sent.append(message["type"])

    try:
        asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    finally:
        gc.unfreeze()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert frozen[0] > 0
    with pytest.raises(ServeError) as caught:
        app.state.serve.models.models["mlp"].batcher.submit([np.zeros((1, 784), np.float32)])
    assert caught.value.status == 503
