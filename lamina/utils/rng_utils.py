"""One call to make a run reproducible: `set_random_seed`."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, NumPy's global generator and torch (CPU and every CUDA device).

    With the same seed, the same CPU program draws the same numbers (weight init,
    shuffling, dropout masks). Like `keras.utils.set_random_seed`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"Expected an integer seed in [0, 2**32), received: seed={seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA generators (lazily, if CUDA is used)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
