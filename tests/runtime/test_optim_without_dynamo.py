"""lamina.runtime.optim_without_dynamo and json_records.inductor_cache_dir: building an
optimizer and finding Inductor's cache leave Dynamo and Inductor unimported, and give what
torch's own calls give."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from lamina.runtime import optim_without_dynamo
from lamina.runtime.optim_without_dynamo import construct_optimizer, step_optimizer


def _run(code: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()) -> dict:
    """Run `code` in a fresh interpreter (`env` added, `unset` removed from this process's
    environment); it prints one JSON object as its last line."""
    environment = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _groups(opt: torch.optim.Optimizer) -> list[dict]:
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


def test_a_fresh_process_builds_optimizers_without_importing_dynamo():
    out = _run(
        """
        import json, sys, torch
        from lamina.runtime.optim_without_dynamo import construct_optimizer
        params = [torch.nn.Parameter(torch.ones(3, 2)), torch.nn.Parameter(torch.zeros(2))]
        adam = construct_optimizer(torch.optim.Adam, params, lr=0.5, fused=True)
        rms = construct_optimizer(torch.optim.RMSprop, params, lr=0.1, alpha=0.8, foreach=True)
        try:  # a refused argument raises torch's error and leaves nothing behind
            construct_optimizer(torch.optim.Adam, params, lr=-1.0)
            refused = None
        except ValueError as err:
            refused = str(err)
        dynamo = "torch._dynamo" in sys.modules
        plain = torch.optim.Optimizer.add_param_group.__wrapped__
        leftover = hasattr(plain, "__dynamo_disable")
        groups = [{k: v for k, v in g.items() if k != "params"}
                  for o in (adam, rms) for g in o.param_groups]
        sizes = [len(g["params"]) for o in (adam, rms) for g in o.param_groups]
        print(json.dumps({"dynamo": dynamo, "leftover": leftover, "sizes": sizes,
                          "groups": repr(groups), "refused": refused}))
        """
    )
    assert out["dynamo"] is False and out["leftover"] is False
    assert "Invalid learning rate" in out["refused"]
    assert out["sizes"] == [2, 2]
    params = [torch.nn.Parameter(torch.ones(3, 2)), torch.nn.Parameter(torch.zeros(2))]
    expected = _groups(torch.optim.Adam(params, lr=0.5, fused=True))
    expected += _groups(torch.optim.RMSprop(params, lr=0.1, alpha=0.8, foreach=True))
    assert out["groups"] == repr(expected)


def test_with_dynamo_loaded_it_is_torchs_own_constructor():
    import torch._dynamo  # noqa: F401  (loaded: the constructor runs unchanged)

    params = [torch.nn.Parameter(torch.ones(4))]
    opt = construct_optimizer(torch.optim.SGD, params, lr=0.3, momentum=0.9)
    assert _groups(opt) == _groups(torch.optim.SGD(params, lr=0.3, momentum=0.9))
    # torch's wrapper ran: it cached its Dynamo-disabled function on the plain one
    assert hasattr(torch.optim.Optimizer.add_param_group.__wrapped__, "__dynamo_disable")


def test_a_torch_whose_add_param_group_is_not_wrapped_constructs_as_usual(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch._dynamo", raising=False)
    plain = torch.optim.Optimizer.add_param_group.__wrapped__
    monkeypatch.setattr(torch.optim.Optimizer, "add_param_group", plain)  # no __wrapped__
    assert optim_without_dynamo._plain_add_param_group() is None
    opt = construct_optimizer(torch.optim.SGD, [torch.nn.Parameter(torch.ones(2))], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1
    assert "torch._dynamo" not in sys.modules  # nothing here imported a second copy


def test_inductor_cache_dir_in_a_fresh_process_matches_inductor_without_importing_it(tmp_path):
    code = """
        import json, sys
        from lamina.runtime.json_records import inductor_cache_dir
        ours = inductor_cache_dir()
        inductor = "torch._inductor" in sys.modules
        from torch._inductor.runtime.cache_dir_utils import cache_dir
        print(json.dumps({"ours": ours, "inductor": inductor, "torch": cache_dir()}))
        """
    with_env = _run(code, {"TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "rel" / ".." / "c")})
    assert with_env["inductor"] is False, "inductor_cache_dir imported torch._inductor"
    assert with_env["ours"] == with_env["torch"] == str(tmp_path / "c")
    assert (tmp_path / "c").is_dir()
    default = _run(code, unset=("TORCHINDUCTOR_CACHE_DIR",))
    assert default["inductor"] is False and default["ours"] == default["torch"]


_EAGER_FIT = """
import json, sys
import numpy as np
{preamble}
import lamina
from lamina import layers
lamina.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(96, 6, 6, 1)).astype("float32")
y = rng.integers(0, 3, size=96)
model = lamina.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(4, 3, activation="relu"),
                           layers.Flatten(), layers.Dense(3, activation="softmax")])
model.compile({optimizer}, "sparse_categorical_crossentropy")
hooked = []
model.optimizer.build(model.trainable_weights)
if {hook}:
    model.optimizer.torch_optimizer.register_step_post_hook(lambda *a: hooked.append(1))
model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
print(json.dumps({{"dynamo": "torch._dynamo" in sys.modules, "hooked": len(hooked),
                  "weights": [w.tolist() for w in model.get_weights()]}}))
"""

OPTIMIZERS = {
    "adam_fused": "lamina.optimizers.Adam(0.01)",
    "sgd_momentum": "lamina.optimizers.SGD(0.05, momentum=0.9)",
    "rmsprop_flat": "lamina.optimizers.RMSprop(0.01)",  # its own zero state, then the flat update
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_eager_fit_steps_without_dynamo_and_as_torchs_own_step(name):
    """The eager step under torch's wrappers must give torch's step's results exactly."""
    runs = []
    for preamble in ("", "import torch._dynamo"):
        code = _EAGER_FIT.format(preamble=preamble, optimizer=OPTIMIZERS[name], hook=False)
        runs.append(_run(code))
    assert runs[0]["dynamo"] is False and runs[1]["dynamo"] is True
    for a, b in zip(runs[0]["weights"], runs[1]["weights"]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_step_hook_makes_the_step_torchs_own():
    out = _run(_EAGER_FIT.format(preamble="", optimizer=OPTIMIZERS["adam_fused"], hook=True))
    assert out["hooked"] == 12  # 96 / 16 x 2 epochs: the hook ran on every step


class _Decorated(torch.optim.SGD):
    """A user's optimizer whose step carries its own decorator."""

    @functools.wraps(torch.optim.SGD.step)
    def step(self, closure=None):
        return super().step(closure)


def test_the_plain_step_is_taken_only_without_hooks_and_differentiability(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch._dynamo", raising=False)
    params = [torch.nn.Parameter(torch.ones(3))]
    opt = construct_optimizer(torch.optim.Adam, params, lr=0.1)  # torch's would import Dynamo
    plain = optim_without_dynamo._plain_step(opt)
    assert plain is inspect.unwrap(type(opt).step) and plain is not type(opt).step
    # a subclass's own decorator under torch's wrappers is not skipped
    assert optim_without_dynamo._plain_step(construct_optimizer(_Decorated, params)) is None
    handle = opt.register_step_pre_hook(lambda *a: None)
    assert optim_without_dynamo._plain_step(opt) is None
    handle.remove()
    hooks = importlib.import_module("torch.optim.optimizer")
    handle = hooks.register_optimizer_step_post_hook(lambda *a: None)
    try:
        assert optim_without_dynamo._plain_step(opt) is None
    finally:
        handle.remove()
    differentiable = construct_optimizer(torch.optim.SGD, params, lr=0.1, differentiable=True)
    assert optim_without_dynamo._plain_step(differentiable) is None
    assert optim_without_dynamo._plain_step(opt) is plain
    assert "torch._dynamo" not in sys.modules  # nothing here imported a second copy


def test_step_optimizer_with_dynamo_loaded_is_torchs_step():
    import torch._dynamo  # noqa: F401

    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = torch.optim.SGD([p], lr=0.5)
    p.grad = torch.tensor([0.2, 0.4])
    step_optimizer(opt)
    torch.testing.assert_close(p.detach(), torch.tensor([0.9, -2.2]))
