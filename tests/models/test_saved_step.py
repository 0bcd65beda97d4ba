"""Saved compiled steps: the first compile builds a library, later runs load it and train
exactly as eager, in this process and in a fresh one that never imports the compilers.

One library is built for the module (a model with BatchNormalization, whose buffers
the library updates in place, RMSprop with momentum and an accuracy metric) and shared
by the tests that load it; the other tests check the store and the call without
compiling.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import lamina
from lamina import config, optimizers
from lamina.models import compile_history, compiled_step, saved_step
from lamina.models.compile_history import CompileHistory
from lamina.models.compile_policy import CompilePolicy
from lamina.models.compile_signature import step_signature
from lamina.models.step_inputs import getter_for, input_table
from lamina.runtime import compile_ledger, step_library

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from saved_step_model import data, make_model, train, train_fused  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _assert_same(a, b):
    (model_a, hist_a), (model_b, hist_b) = a, b
    for key in hist_a:
        np.testing.assert_allclose(hist_a[key], hist_b[key], rtol=2e-5, atol=2e-6, err_msg=key)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=2e-4, atol=2e-5)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A cache directory holding the library of `train(True)`'s step, and that first run."""
    directory = str(tmp_path_factory.mktemp("saved-steps"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "_STEP_LIBRARY", True)
        mp.setattr(compile_ledger, "inductor_cache_dir", lambda: directory)
        first = train(True, epochs=4)  # 23 compiled steps: the ledger records their time
    return directory, first


@pytest.fixture
def library_dir(built, monkeypatch):
    directory, _ = built
    monkeypatch.setattr(config, "_STEP_LIBRARY", True)
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", lambda: directory)
    return directory


def test_first_compile_builds_the_library_and_trains_like_eager(built):
    directory, first = built
    step = first[0]._step_fn.compiled
    assert step.capture.library_built, step.capture.library_error
    assert step.from_library == set()  # this run compiled it
    recipe = saved_step.SavedSteps(directory).find(step.signature)
    assert recipe is not None and os.path.isfile(recipe.library)
    assert ["param", 0] in recipe.descriptors and ["batch", 0, 0, 0] in recipe.descriptors
    assert any(d[0] == "buffer" for d in recipe.descriptors)  # BatchNorm's moving statistics
    _assert_same(train(False, epochs=4), first)


def test_a_later_fit_loads_the_library_and_trains_like_eager(library_dir):
    loaded = train(True)
    step = loaded[0]._step_fn.compiled
    assert step.from_library == {(1, True)}
    assert step.capture.calls == 0  # nothing was compiled
    _assert_same(train(False), loaded)


def test_a_fresh_process_trains_from_the_library_without_the_compilers(library_dir, tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        f"import json, sys\nimport numpy as np\nsys.path.insert(0, {HERE!r})\n"
        "from saved_step_model import train\n"
        + textwrap.dedent(
            """
            for mode in (True, "auto"):
                model, hist = train(mode)
                step = model._step_fn.compiled
                eager, eager_hist = train(False)
                diff = max(float(np.abs(a - b).max())
                           for a, b in zip(model.get_weights(), eager.get_weights()))
                print(json.dumps({"mode": str(mode),
                                  "library": sorted(map(list, step.from_library)) if step else None,
                                  "decision": model._step_fn.decision, "diff": diff,
                                  "dynamo": "torch._dynamo" in sys.modules,
                                  "inductor": "torch._inductor" in sys.modules}))
            """
        )
    )
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": library_dir, "LAMINA_STEP_LIBRARY": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["mode"] for r in runs] == ["True", "auto"]
    for run in runs:
        assert run["library"] == [[1, True]], run
        assert run["decision"] == "compiled", run
        assert run["diff"] < 1e-4, run
        assert not run["dynamo"] and not run["inductor"], run


def test_fused_steps_with_a_schedule_are_saved_and_loaded(tmp_path, monkeypatch):
    """steps_per_execution=4: one library call runs four steps, their rates an input."""
    monkeypatch.setattr(config, "_STEP_LIBRARY", True)
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", lambda: str(tmp_path))
    built = train_fused(True)
    assert built[0]._step_fn.compiled.capture.library_built
    loaded = train_fused(True)
    step = loaded[0]._step_fn.compiled
    assert step.from_library == {(4, False)} and step.capture.calls == 0
    recipe = saved_step.SavedSteps(str(tmp_path)).find(step.signature)
    assert ["rates"] in recipe.descriptors
    eager = train_fused(False)
    _assert_same(eager, built)
    _assert_same(eager, loaded)
    assert loaded[0].optimizer.iterations.item() == 2 * 12


def test_a_changed_model_drops_the_library_at_the_next_epoch(library_dir, monkeypatch):
    model = make_model(True)
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    step = model._step_fn.compiled
    assert step.from_library == {(1, True)}
    compiled = []
    monkeypatch.setattr(compiled_step, "step_signature", lambda *a: "changed")
    monkeypatch.setattr(
        compiled_step.CompiledTrainStep,
        "compiled",
        property(lambda s: compiled.append(1) or s._steps),
    )
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert step.from_library == set()
    assert compiled  # the epoch went on through the compiler's path


def test_a_batch_with_another_layout_is_refused_before_the_call():
    calls = []
    call = saved_step.LibraryCall(
        lambda *a: calls.append(a) or [],
        [lambda b, r: b[0][0], lambda b, r: b[0][1]],
        [["batch", 0, 0, 0], ["param", 0]],
    )
    call.varying = [(0, saved_step.layout(torch.zeros(4, 3)))]
    call([(torch.ones(4, 3), torch.ones(2), None)], None)
    assert len(calls) == 1
    with pytest.raises(saved_step.InputsChanged, match="Expected input 0"):
        call([(torch.ones(3, 4).t(), torch.ones(2), None)], None)  # same shape, transposed
    assert len(calls) == 1


def _store(tmp_path, record):
    store = saved_step.SavedSteps(str(tmp_path))
    path = store.library_path("abc123")
    with open(path, "wb") as f:
        f.write(b"\0")
    with open(path[:-3] + ".json", "w") as f:
        f.write(record if isinstance(record, str) else json.dumps(record))
    return store


GOOD = {
    "format": 1,
    "torch": torch.__version__,
    "machine": step_library.machine_key(),
    "descriptors": [["param", 0]],
    "facts": [[[2], [1], "torch.float32", "cpu"]],
    "key": [1, True],
}


@pytest.mark.parametrize(
    "record",
    [
        "{not json",
        {**GOOD, "format": 99},
        {**GOOD, "torch": "0.0.1"},
        {**GOOD, "machine": "another cpu"},
        {**GOOD, "facts": []},
        {**GOOD, "key": [1]},
        [1, 2],
    ],
)
def test_a_damaged_or_foreign_recipe_is_not_used(tmp_path, record):
    assert _store(tmp_path, record).find("abc123") is None


def test_a_recipe_is_used_only_with_its_library(tmp_path):
    store = _store(tmp_path, GOOD)
    recipe = store.find("abc123")
    assert recipe is not None and recipe.key == [1, True]
    assert recipe.fits([torch.zeros(2)]) and not recipe.fits([torch.zeros(3)])
    assert store.find("../abc123") is None  # a signature is a hash, never a path
    store.forget("abc123")
    assert store.find("abc123") is None and os.listdir(store.directory) == []


def test_auto_counts_a_saved_step_as_free_to_load(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "_STEP_LIBRARY", True)
    model = make_model("auto")
    x, y = data()
    batches = [(torch.as_tensor(x[:16]), torch.as_tensor(y[:16]), None)]
    signature = step_signature(model, batches)
    ledger = compile_ledger.CompileLedger(str(tmp_path))
    ledger.update(signature, compile_seconds=30.0, compiled_step=0.001)
    policy = CompilePolicy("auto")
    CompileHistory(model, policy, ledger).first_batches(batches)
    assert policy.known_compile == 30.0  # no library yet: the measured compile
    store = saved_step.SavedSteps(str(tmp_path))
    with open(store.library_path(signature), "wb") as f:
        f.write(b"\0")
    store_record = {**GOOD, "descriptors": [], "facts": []}
    with open(os.path.join(store.directory, signature + ".json"), "w") as f:
        json.dump(store_record, f)
    policy = CompilePolicy("auto")
    CompileHistory(model, policy, ledger).first_batches(batches)
    assert policy.known_compile == compile_history.LIBRARY_LOAD_SECONDS
    assert policy.decision == "compiled"  # from the first step on
    ledger.update(signature, eager_step=0.0009)  # an earlier run's eager step: hardly slower
    policy = CompilePolicy("auto")
    CompileHistory(model, policy, ledger).first_batches(batches)
    assert policy.decision == "auto"  # it times its own steps first


def test_every_descriptor_finds_the_same_tensor_again():
    model, _ = train(False, epochs=1)
    step = compiled_step.CompiledTrainStep(model)  # builds no graph until called
    x, y = data()
    batches = [(torch.as_tensor(x[:16]), torch.as_tensor(y[:16]), None)]
    table = input_table(step, batches, None)
    kinds = {d[0] for d, _ in table.values()}
    assert kinds == {"param", "buffer", "state", "lr", "metric", "batch"}
    for descriptor, getter in table.values():
        again = getter_for(json.loads(json.dumps(descriptor)), step)
        assert again is not None and again(batches, None) is getter(batches, None), descriptor
    assert getter_for(["param", 99], step) is None
    assert getter_for(["metric", 0, "no-such-state"], step) is None
    assert getter_for("param", step) is None


def test_set_step_library_takes_a_bool(monkeypatch):
    monkeypatch.setattr(config, "_STEP_LIBRARY", config.step_library())  # restored after
    with pytest.raises(TypeError, match="Expected a bool, received: enabled='yes'"):
        config.set_step_library("yes")
    lamina.config.set_step_library(True)
    assert config.step_library() is True
    lamina.config.set_step_library(False)
    assert config.step_library() is False


def test_only_the_most_recently_used_steps_are_kept(tmp_path):
    store = saved_step.SavedSteps(str(tmp_path))
    for k, name in enumerate(["a1", "b2", "c3", "d4"]):
        for ext in (".so", ".json"):
            path = os.path.join(store.library_path(name)[:-3] + ext)
            with open(path, "w") as f:
                f.write("{}" if ext == ".json" else "")
            os.utime(path, (1000 + k, 1000 + k))
    orphan = os.path.join(store.directory, "e5.so")
    open(orphan, "w").close()
    os.utime(orphan, (1000, 1000))  # a build cut off long ago
    fresh = os.path.join(store.directory, "f6.so")
    open(fresh, "w").close()  # another process's build, not yet published
    store.prune(keep=2)
    assert sorted(os.listdir(store.directory)) == ["c3.json", "c3.so", "d4.json", "d4.so", "f6.so"]


def test_any_edit_to_lamina_gives_its_steps_another_signature(monkeypatch):
    from lamina.models import compile_signature

    model = make_model(True)
    x, y = data()
    batches = [(torch.as_tensor(x[:16]), torch.as_tensor(y[:16]), None)]
    before = step_signature(model, batches)
    assert compile_signature.lamina_source_hash() in json.dumps(
        compile_signature.lamina_source_hash()
    )
    monkeypatch.setattr(compile_signature, "lamina_source_hash", lambda: "edited")
    assert step_signature(model, batches) != before


def test_a_step_without_a_traced_update_builds_no_library(tmp_path, monkeypatch):
    """Adagrad's update runs eagerly after the graph (no traced rule): no later run could
    call that graph alone, so no library is built for it."""
    monkeypatch.setattr(config, "_STEP_LIBRARY", True)
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", lambda: str(tmp_path))
    model = make_model(True)
    model.compile(
        optimizer=optimizers.Adagrad(0.05), loss="sparse_categorical_crossentropy", jit_compile=True
    )
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    step = model._step_fn.compiled
    assert step.rule is None and step.capture.library_path is None
    assert not os.path.exists(os.path.join(tmp_path, "lamina-steps")) or not os.listdir(
        os.path.join(tmp_path, "lamina-steps")
    )


def test_a_step_split_by_a_graph_break_keeps_no_library(tmp_path, monkeypatch):
    """A layer Dynamo does not trace (marked torch.compiler.disable, as the fused recurrent
    layers are) leaves part of the step outside the captured graph: no later run may call
    that graph alone, so its library is removed, and the step trains like eager."""
    from lamina import layers

    class Opaque(layers.Layer):
        @torch.compiler.disable
        def call(self, x, training=None):
            return x * 1.0

    monkeypatch.setattr(config, "_STEP_LIBRARY", True)
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", lambda: str(tmp_path))
    x, y = data()

    def fit(jit):
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential(
            [
                layers.Dense(8, activation="relu", input_shape=(6,)),
                Opaque(),
                layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=optimizers.RMSprop(0.01),
            loss="sparse_categorical_crossentropy",
            jit_compile=jit,
        )
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        return model

    model = fit(True)
    step = model._step_fn.compiled
    assert step.direct[(1, True)] is None  # no direct call: part of the step runs outside
    assert step.capture.library_built  # the captured piece was built, then dropped
    store = saved_step.SavedSteps(str(tmp_path))
    assert store.find(step.signature) is None and store.refused(step.signature)
    assert not any(f.endswith(".so") for f in os.listdir(store.directory))
    for a, b in zip(model.get_weights(), fit(False).get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    again = fit(True)._step_fn.compiled  # a later run does not build it again
    assert again.capture.library_path is None and not again.capture.library_built


def test_a_recurrent_model_compiles_as_before_and_is_never_built(tmp_path, monkeypatch):
    """The fused recurrent layers run as custom operators, which a library could only call
    through files kept beside it: such a step is refused before building, compiles with
    Inductor as without saved steps, trains like eager, and later runs skip the attempt."""
    import warnings

    from lamina import layers

    monkeypatch.setattr(config, "_STEP_LIBRARY", True)
    monkeypatch.setattr(compile_ledger, "inductor_cache_dir", lambda: str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")

    def fit(jit):
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential([layers.LSTM(6, input_shape=(5, 4)), layers.Dense(1)])
        model.compile(optimizer=optimizers.Adam(0.01), loss="mse", jit_compile=jit)
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit(True)
    assert not [w for w in caught if "could not compile" in str(w.message)]
    step = model._step_fn.compiled
    assert not model._step_fn.failed and not step.capture.library_built
    assert "operators outside ATen" in str(step.capture.library_error)
    assert saved_step.SavedSteps(str(tmp_path)).refused(step.signature)
    for a, b in zip(model.get_weights(), fit(False).get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    assert fit(True)._step_fn.compiled.capture.library_path is None
