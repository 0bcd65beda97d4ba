"""`make test` shows the results, not pages of warnings that are not Lamina's: Keras's
(the reference's) NumPy 2 `__array__` DeprecationWarning is filtered in pyproject.toml,
and the package metadata builds without setuptools' license deprecation."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_keras_parity_test_prints_no_warnings_summary():
    """Runs one parity test the way `make test` does (pyproject's pytest settings)."""
    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras 3 (the reference) is not installed")
    test = "tests/layers/test_layers_keras_parity.py::test_batch_norm_training_step_matches_keras"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
    assert "warnings summary" not in out.stdout and "Warning" not in out.stdout, out.stdout


def test_package_metadata_applies_without_deprecation_warnings():
    """What setuptools does with pyproject.toml at `pip install` (twice per install)."""
    setuptools_config = pytest.importorskip("setuptools.config.pyprojecttoml")
    from setuptools.dist import Distribution

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cwd = os.getcwd()
        os.chdir(ROOT)  # the readme path is relative to the project
        try:
            dist = setuptools_config.apply_configuration(Distribution(), "pyproject.toml")
        finally:
            os.chdir(cwd)
    assert [str(w.message) for w in caught] == []
    assert dist.metadata.license_expression == "Apache-2.0"
