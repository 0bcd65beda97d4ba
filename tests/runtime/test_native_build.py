"""Building Lamina's C++ operators: one directory per source, torch version and CPU; a
failed build is reported, not raised; a loaded library is not built again."""

from __future__ import annotations

import os
import shutil

import pytest
import torch

from lamina.runtime import native_build

needs_compiler = pytest.mark.skipif(
    shutil.which("c++") is None or shutil.which("ninja") is None,
    reason="a C++ compiler and ninja are needed",
)

SOURCE = """
#include <ATen/ATen.h>
#include <torch/library.h>
at::Tensor triple(const at::Tensor& x) { return x * 3; }
TORCH_LIBRARY(%s, m) { m.def("triple(Tensor x) -> Tensor", &triple); }
"""


def test_the_build_directory_follows_the_source_text(tmp_path, monkeypatch):
    monkeypatch.setattr(native_build, "inductor_cache_dir", lambda: str(tmp_path))
    source = tmp_path / "a.cpp"
    source.write_text("int a;")
    first = native_build.build_directory("lib", str(source))
    assert first == native_build.build_directory("lib", str(source))
    assert os.path.dirname(first) == str(tmp_path / "lamina-native")
    source.write_text("int b;")
    assert native_build.build_directory("lib", str(source)) != first
    header = tmp_path / "a.h"  # a header the source includes: its text counts too
    header.write_text("int c;")
    with_header = native_build.build_directory("lib", str(source), [str(header)])
    assert with_header != native_build.build_directory("lib", str(source))
    header.write_text("int d;")
    assert native_build.build_directory("lib", str(source), [str(header)]) != with_header


@needs_compiler
def test_a_source_builds_loads_and_is_not_built_twice(tmp_path, monkeypatch):
    monkeypatch.setattr(native_build, "inductor_cache_dir", lambda: str(tmp_path))
    name = "lamina_test_triple"
    source = tmp_path / "triple.cpp"
    source.write_text(SOURCE % name)
    assert native_build.load_operators(name, str(source))
    torch.testing.assert_close(
        torch.ops.lamina_test_triple.triple(torch.ones(2)), torch.full((2,), 3.0)
    )
    monkeypatch.setattr(native_build, "build_directory", lambda *a: pytest.fail("built again"))
    assert native_build.load_operators(name, str(source))
    assert native_build.failure(name) is None


@needs_compiler
def test_a_failed_build_returns_false_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(native_build, "inductor_cache_dir", lambda: str(tmp_path))
    source = tmp_path / "broken.cpp"
    source.write_text("this is not C++;")
    assert not native_build.load_operators("lamina_test_broken", str(source))
    assert "Error" in native_build.failure("lamina_test_broken")
    assert not native_build.load_operators("lamina_test_broken", str(source))  # remembered


def test_set_native_kernels_takes_a_bool():
    from lamina import config

    with pytest.raises(TypeError, match="Expected a bool, received: enabled='no'"):
        config.set_native_kernels("no")
