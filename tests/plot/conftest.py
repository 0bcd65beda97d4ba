"""Every plot test draws with matplotlib's test settings (set when this directory's tests are
collected, before any module-scoped fixture draws) and closes its figures afterwards (pyplot
keeps each figure alive until closed)."""

from __future__ import annotations

import pytest

from tests.plot.image_compare import deterministic_matplotlib

deterministic_matplotlib()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
