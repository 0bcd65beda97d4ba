"""The team of `recurrent_team.h`: an error while a thread prepares (an allocation that
fails) comes back as a Python exception after the team ends; it neither aborts the
process (an exception escaping an OpenMP region does) nor leaves threads at a barrier."""

from __future__ import annotations

import shutil

import pytest
import torch

from lamina.layers.recurrent import native_kernels
from lamina.runtime import native_build

pytestmark = pytest.mark.skipif(
    shutil.which("c++") is None or shutil.which("ninja") is None,
    reason="a C++ compiler and ninja are needed to build the team",
)

SOURCE = """
#include <ATen/ATen.h>
#include <torch/library.h>
#include "%s"
using namespace lamina_native;

// Each thread prepares its count; `failing` (or -1) throws while preparing. The run
// meets at a barrier once per step and adds the thread's steps to out[thread].
at::Tensor team(int64_t threads, int64_t failing, int64_t steps) {
  at::Tensor out = at::zeros({threads}, at::kLong);
  int64_t* counts = out.data_ptr<int64_t>();
  const auto prepare = [&](int index, int) {
    TORCH_CHECK(index != failing, "Expected to prepare, received: thread=", index);
    return int64_t(index);
  };
  on_team(threads, prepare, [&](int64_t& index, int, int) {
    for (int64_t t = 0; t < steps; ++t) {
      counts[index] += 1;
      meet();
    }
  });
  return out;
}
TORCH_LIBRARY(%s, m) { m.def("team(int threads, int failing, int steps) -> Tensor", &team); }
"""


def test_an_error_while_preparing_is_raised_after_the_team(tmp_path, monkeypatch):
    monkeypatch.setattr(native_build, "inductor_cache_dir", lambda: str(tmp_path))
    name = "lamina_test_team"
    source = tmp_path / "team.cpp"
    source.write_text(SOURCE % (native_kernels.HEADER, name))
    assert native_build.load_operators(name, str(source), [native_kernels.HEADER]), (
        native_build.failure(name)
    )
    team = torch.ops.lamina_test_team.team
    torch.testing.assert_close(team(2, -1, 5), torch.tensor([5, 5]))  # both ran every step
    with pytest.raises(RuntimeError, match="Expected to prepare, received: thread=1"):
        team(2, 1, 5)
    with pytest.raises(RuntimeError, match="received: thread=0"):
        team(1, 0, 5)  # one thread: no team, the error as it comes
    torch.testing.assert_close(team(2, -1, 3), torch.tensor([3, 3]))  # the pool still works
