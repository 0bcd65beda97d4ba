"""`import lamina` leaves the compiler (torch._dynamo, Inductor) and optional heavy packages
unimported until something needs them: Dynamo alone was most of the import's time.

(torch.optim's constructors import Dynamo themselves, so the first fit still loads it,
as a hand-written PyTorch loop does.)"""

from __future__ import annotations

import operator
import subprocess
import sys

import pytest
import torch

import lamina

LAZY = ["torch._dynamo", "torch._inductor", "matplotlib", "PIL", "pandas"]


def _loaded_after(code: str) -> dict[str, bool]:
    probe = f"{code}\nimport sys\nprint(*[m in sys.modules for m in {LAZY!r}])"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    return dict(zip(LAZY, [flag == "True" for flag in out.stdout.split()]))


def test_import_lamina_does_not_import_the_compiler_or_optional_packages():
    loaded = _loaded_after("import lamina")
    assert loaded == dict.fromkeys(LAZY, False)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_optimizer_step_stays_out_of_torch_compile_graphs(name):
    """Optimizer.step keeps host counters: Dynamo must run it eagerly (as under
    torch.compiler.disable) and trace none of it, while the step still updates."""
    graphs: list[torch.fx.GraphModule] = []

    def counting_backend(gm: torch.fx.GraphModule, example_inputs: list) -> object:
        graphs.append(gm)
        return gm.forward

    def make() -> tuple[torch.nn.Parameter, lamina.optimizers.Optimizer]:
        w = torch.nn.Parameter(torch.ones(3))
        opt = getattr(lamina.optimizers, name)(
            learning_rate=0.1, global_clipnorm=1.0, weight_decay=0.01
        )
        opt.build([w])
        return w, opt

    w, opt = make()
    reference, ref_opt = make()

    @torch.compile(backend=counting_backend)
    def step(x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        opt.step()
        return y + 1

    for _ in range(5):
        w.grad = torch.arange(3.0)
        step(torch.arange(3.0))
        reference.grad = torch.arange(3.0)
        ref_opt.step()
    assert opt.iterations.item() == 5
    torch.testing.assert_close(w.detach(), reference.detach())
    traced = [n.target for gm in graphs for n in gm.graph.nodes if n.op == "call_function"]
    assert graphs and set(traced) <= {operator.mul, operator.add}, traced
