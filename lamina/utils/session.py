"""`clear_session`: forget global state between models, as `keras.utils.clear_session`."""

from __future__ import annotations

import gc

import torch

from lamina.naming import reset_names


def clear_session(free_memory: bool = True) -> None:
    """Restart automatic layer names ('dense', 'dense_1', ...) and free memory.

    Call between experiments in one process (notebooks, loops over models).
    """
    reset_names()
    if free_memory:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
