"""lamina.datasets.sunspots (statsmodels) and .airline (pmdarima): the published values, and
the install hint when the optional extra is missing."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from lamina.datasets import airline, sunspots


def test_sunspots_yearly_series():
    pytest.importorskip("statsmodels")
    years, values = sunspots.load_data()
    assert years.dtype == np.int64 and values.dtype == np.float64
    assert years.shape == values.shape == (309,)
    np.testing.assert_array_equal(years, np.arange(1700, 2009))
    # statsmodels' sunspots: 1700-1704, and the cycle maxima of 1778 and 1957
    assert values[:5].tolist() == [5.0, 11.0, 16.0, 23.0, 36.0]
    assert values[years == 1778][0] == 154.4 and values[years == 1957][0] == 190.2
    assert values.max() == 190.2 and values.min() == 0.0


def test_airline_monthly_series():
    pytest.importorskip("pmdarima")
    months, values = airline.load_data()
    assert months.dtype == np.dtype("datetime64[M]") and values.dtype == np.float64
    assert months.shape == values.shape == (144,)
    assert str(months[0]) == "1949-01" and str(months[-1]) == "1960-12"
    assert np.all(np.diff(months).astype(int) == 1)
    # Box & Jenkins's Series G: first and last year, and the total
    assert values[:12].tolist() == [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]
    assert values[-12:].tolist() == [417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432]
    assert values.sum() == 40363.0


@pytest.fixture
def without(monkeypatch):
    """Make `import NAME` (and its submodules) fail as if the package were not installed."""

    def hide(name: str) -> None:
        real_import = builtins.__import__

        def fake_import(module, *args, **kwargs):
            if module == name or module.startswith(name + "."):
                raise ModuleNotFoundError(f"No module named '{name}'")
            return real_import(module, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", fake_import)

    return hide


def test_missing_statsmodels_names_the_pip_command(without):
    without("statsmodels")
    with pytest.raises(ImportError, match=r"statsmodels.*pip install 'lamina\[timeseries\]'"):
        sunspots.load_data()


def test_missing_pmdarima_names_the_pip_command(without):
    without("pmdarima")
    with pytest.raises(ImportError, match=r"pmdarima.*pip install 'lamina\[timeseries\]'"):
        airline.load_data()
