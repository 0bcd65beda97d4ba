"""Monthly international airline passengers, 1949-1960, from pmdarima (an optional extra).

Box & Jenkins's "Series G" (thousands of passengers a month, 144 months), shipped inside
the PyPI package `pmdarima` (`pmdarima.datasets.load_airpassengers`); install it with
`pip install 'lamina[timeseries]'`. Nothing is downloaded. Trend plus a 12-month season.

    months, passengers = lamina.datasets.airline.load_data()
    months[0], passengers[0]  # (numpy.datetime64('1949-01'), 112.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

EXTRA_INSTALL = "pip install 'lamina[timeseries]'  (or: pip install pmdarima)"
FIRST_MONTH = "1949-01"
NUM_MONTHS = 144


def _loader() -> Any:
    try:
        from pmdarima.datasets import load_airpassengers
    except ImportError as err:
        raise ImportError(
            "Expected the pmdarima package for the airline passengers data, received: "
            f"ImportError ({err}). Install it with `{EXTRA_INSTALL}`."
        ) from err
    return load_airpassengers


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """`(months, passengers)`: datetime64[M] months from 1949-01 and float64 monthly totals
    (thousands of passengers)."""
    values = np.asarray(_loader()(as_series=False), dtype=np.float64)
    if values.shape != (NUM_MONTHS,):
        raise ValueError(
            f"Expected {NUM_MONTHS} monthly values from pmdarima's load_airpassengers, "
            f"received: shape={values.shape}"
        )
    months = np.arange(NUM_MONTHS) + np.datetime64(FIRST_MONTH, "M")
    return months, values
