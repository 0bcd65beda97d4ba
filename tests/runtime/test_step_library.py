"""The step library's private torch names fall back cleanly, and random graphs are refused.

Building and loading a real library is tested end to end, against eager training, in
tests/models/test_saved_step.py (a compile costs seconds; one is shared there).
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

from lamina.models.direct_call import GraphCapture
from lamina.runtime import step_library


def test_cpu_tensors_are_supported_and_other_inputs_are_not():
    assert step_library.library_supported([torch.ones(2), torch.zeros(3, 4)])
    assert not step_library.library_supported([torch.ones(2), 3])  # a Python value
    assert not step_library.library_supported([torch.ones(2).to_sparse()])


def test_without_the_ahead_of_time_runner_nothing_is_supported(monkeypatch):
    monkeypatch.delattr(torch._C._aoti, "AOTIModelContainerRunnerCpu")
    assert not step_library.library_supported([torch.ones(2)])


def test_a_graph_with_random_operations_is_refused_and_leaves_no_file(tmp_path):
    gm = torch.fx.symbolic_trace(lambda x: F.dropout(x, 0.5, True) * 2)
    path = str(tmp_path / "step.so")
    with pytest.raises(step_library.LibraryUnsupported, match="random operations"):
        step_library.build_library(gm, [torch.ones(4)], path)
    assert os.listdir(tmp_path) == []


def test_a_capture_that_cannot_build_compiles_as_usual(tmp_path, monkeypatch):
    """Without the runner the capturing backend records why and compiles with Inductor."""
    monkeypatch.delattr(torch._C._aoti, "AOTIModelContainerRunnerCpu")
    capture = GraphCapture(None, str(tmp_path / "step.so"))
    compiled = torch.compile(lambda x: torch.relu(x) * 3, backend=capture, dynamic=False)
    x = torch.randn(5)
    torch.testing.assert_close(compiled(x), torch.relu(x) * 3)
    assert not capture.library_built
    assert isinstance(capture.library_error, step_library.LibraryUnsupported)
    assert capture.graph_fn is not None and os.listdir(tmp_path) == []
