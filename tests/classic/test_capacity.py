"""hopfield_capacity: recall is near perfect at a light load and gone well past 0.138 N."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina.classic import CRITICAL_LOAD, hopfield_capacity
from lamina.classic.capacity import flip_units


def test_recall_is_high_at_a_twentieth_of_n_and_low_at_three_tenths():
    """N = 100, 4 networks per load, 10% of each probe flipped: at 0.05 N (5 patterns) every
    pattern came back exactly here, at 0.3 N (30 patterns) about 1 in 100 did."""
    curve = hopfield_capacity(100, loads=(0.05, 0.3), trials=4, noise=0.1, seed=0)
    assert curve.patterns.tolist() == [5, 30]
    assert curve.exact[0] >= 0.9 and curve.overlap[0] >= 0.98, curve
    assert curve.exact[1] <= 0.2 and curve.overlap[1] <= 0.8, curve
    rows = curve.rows()
    assert rows[0][:2] == (0.05, 5) and len(rows) == 2
    assert CRITICAL_LOAD == 0.138


def test_storkey_storage_holds_more_than_hebbian_at_a_fifth_of_n():
    """N = 100, 20 patterns, 10% noise: Hebb's rule recalled a third exactly here, and
    Storkey's rule, which subtracts each new pattern's crosstalk, all of them."""
    kwargs = {"loads": (0.2,), "trials": 3, "noise": 0.1, "seed": 1}
    hebbian = hopfield_capacity(100, **kwargs)
    storkey = hopfield_capacity(100, rule="storkey", **kwargs)
    assert storkey.rule == "storkey" and hebbian.rule == "hebbian"
    assert storkey.exact[0] >= hebbian.exact[0] + 0.3, (hebbian.exact, storkey.exact)


def test_the_same_seed_gives_the_same_curve():
    first = hopfield_capacity(40, loads=(0.1, 0.2), trials=2, seed=3)
    second = hopfield_capacity(40, loads=(0.1, 0.2), trials=2, seed=3)
    np.testing.assert_array_equal(first.overlap, second.overlap)


def test_noise_flips_exactly_its_share_of_each_probe():
    patterns = torch.ones(3, 5, 20)
    probes, flips = flip_units(patterns, 0.15, torch.Generator().manual_seed(0))
    assert flips == 3
    assert ((probes == -1).sum(-1) == 3).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise": 0.7}, r"Expected noise in \[0, 0.5\] .*received: noise=0.7"),
        ({"noise": -0.1}, r"noise to be a number >= 0, received: noise=-0.1"),
        ({"loads": (0.1, 0.0)}, r"Expected loads > 0 .*received: loads=\[0.1, 0.0\]"),
        ({"trials": 0}, r"trials to be an integer >= 1, received: trials=0"),
        ({"rule": "oja"}, r"rule to be one of \('hebbian', 'storkey'\), received: rule='oja'"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hopfield_capacity(10, **kwargs)
