"""Yearly sunspot numbers, 1700-2008, from statsmodels (an optional extra).

The data ships inside the PyPI package `statsmodels` (`statsmodels.datasets.sunspots`,
the yearly Wolf/SIDC sunspot numbers); install it with `pip install 'lamina[timeseries]'`.
Nothing is downloaded. The series shows the ~11-year solar cycle.

    years, sunspots = lamina.datasets.sunspots.load_data()
    years[0], sunspots[0]  # (1700, 5.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

EXTRA_INSTALL = "pip install 'lamina[timeseries]'  (or: pip install statsmodels)"


def _module() -> Any:
    try:
        from statsmodels.datasets import sunspots
    except ImportError as err:
        raise ImportError(
            "Expected the statsmodels package for the sunspots data, received: ImportError "
            f"({err}). Install it with `{EXTRA_INSTALL}`."
        ) from err
    return sunspots


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """`(years, sunspots)`: int64 years (1700, 1701, ...) and float64 yearly sunspot numbers."""
    frame = _module().load_pandas().data
    if list(frame.columns) != ["YEAR", "SUNACTIVITY"]:
        raise ValueError(
            "Expected statsmodels' sunspots columns ['YEAR', 'SUNACTIVITY'], received: "
            f"columns={list(frame.columns)}"
        )
    years = frame["YEAR"].to_numpy(dtype=np.float64)
    values = frame["SUNACTIVITY"].to_numpy(dtype=np.float64)
    if not np.array_equal(years, np.round(years)) or not np.all(np.diff(years) == 1):
        raise ValueError(
            "Expected consecutive whole years in statsmodels' sunspots data, received: "
            f"years from {years[:1]} to {years[-1:]} with gaps or fractions"
        )
    return years.astype(np.int64), values
