"""lamina.runtime.optimizer_construction and json_records.inductor_cache_dir: building an
optimizer and finding Inductor's cache leave Dynamo and Inductor unimported, and give what
torch's own calls give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import torch

from lamina.runtime import optimizer_construction
from lamina.runtime.optimizer_construction import construct_optimizer


def _run(code: str, env: dict[str, str] | None = None) -> dict:
    """Run `code` in a fresh interpreter; it prints one JSON object as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _groups(opt: torch.optim.Optimizer) -> list[dict]:
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


def test_a_fresh_process_builds_optimizers_without_importing_dynamo():
    out = _run(
        """
        import json, sys, torch
        from lamina.runtime.optimizer_construction import construct_optimizer
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
    assert optimizer_construction._plain_add_param_group() is None
    opt = construct_optimizer(torch.optim.SGD, [torch.nn.Parameter(torch.ones(2))], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1


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
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_CACHE_DIR"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    default = json.loads(done.stdout.strip().splitlines()[-1])
    assert default["inductor"] is False and default["ours"] == default["torch"]
