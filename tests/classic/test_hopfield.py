"""Hopfield against hand-worked cases: Hebb's weights, fixed points, the energy, recall."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina.classic import Hopfield, dynamics

P1 = [1, 1, -1, -1]
P2 = [1, -1, 1, -1]


def random_patterns(count: int, units: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(count, units))


def test_hebbian_weights_of_two_patterns_of_four_units_by_hand():
    """p1 p1^T + p2 p2^T has 2 on the diagonal (zeroed), -2 at (0, 3) and (1, 2), 0 elsewhere;
    divided by N = 4."""
    net = Hopfield(4).store([P1, P2])
    expected = np.array(
        [[0, 0, 0, -0.5], [0, 0, -0.5, 0], [0, -0.5, 0, 0], [-0.5, 0, 0, 0]], dtype=np.float32
    )
    np.testing.assert_array_equal(net.get_weights()[0], expected)
    assert net.patterns_stored == 2
    # E(p1) = -1/2 * 2 * (w03 * 1 * -1 + w12 * 1 * -1) = -1, the same for p2 and for -p1.
    np.testing.assert_array_equal(net.energy([P1, P2, [-v for v in P1]]), [-1.0, -1.0, -1.0])
    # Storing in two calls adds up to the same weights.
    np.testing.assert_array_equal(Hopfield(4).store(P1).store([P2]).get_weights()[0], expected)


def test_stored_patterns_are_fixed_points_and_so_are_their_negations():
    patterns = random_patterns(3, 64, seed=0)
    net = Hopfield(64, seed=0).store(patterns)
    for probes in (patterns, -patterns):
        for synchronous in (False, True):
            states, sweeps = net.recall(probes, synchronous=synchronous, return_sweeps=True)
            np.testing.assert_array_equal(states, probes)
            np.testing.assert_array_equal(sweeps, 0)
    np.testing.assert_allclose(net.energy(patterns), net.energy(-patterns))


def test_recall_from_one_and_two_flipped_bits():
    patterns = random_patterns(3, 64, seed=1)
    net = Hopfield(64, seed=0).store(patterns)
    noisy = patterns.copy()
    noisy[0, 5] *= -1
    noisy[1, [3, 40]] *= -1
    noisy[2, [0, 63]] *= -1
    np.testing.assert_array_equal(net.recall(noisy), patterns)
    np.testing.assert_array_equal(net.recall(noisy, synchronous=True), patterns)
    # A probe near a negated pattern falls into the negation: both are stored.
    np.testing.assert_array_equal(net.recall(-noisy[1]), -patterns[1])
    # One pattern of 8 units, one bit off, by hand: every other unit pulls it back.
    single = Hopfield(8, seed=0).store([1, -1, 1, 1, -1, -1, 1, -1])
    assert single.recall([1, -1, 1, -1, -1, -1, 1, -1]).tolist() == [1, -1, 1, 1, -1, -1, 1, -1]


def test_energy_never_rises_under_asynchronous_updates():
    """Sweep by sweep on random states of an overloaded network (many spurious minima), and
    unit by unit in NumPy: setting s_i = sign(h_i) changes E by -(s_i' - s_i) h_i <= 0."""
    n = 40
    for rule in ("hebbian", "storkey"):
        net = Hopfield(n, rule=rule, seed=3).store(random_patterns(12, n, seed=2))
        states = torch.as_tensor(random_patterns(16, n, seed=4), dtype=torch.float32)
        energies = [net.energy(states)]
        gen = torch.Generator().manual_seed(0)
        for _ in range(6):
            states, _, _ = dynamics.asynchronous(net.weights[None], states[None], gen, 1)
            states = states[0]
            energies.append(net.energy(states))
        energies = torch.stack(energies).numpy()
        assert (np.diff(energies, axis=0) <= 1e-5).all(), energies
        assert (energies[-1] < energies[0]).all()
    w = net.get_weights()[0].astype(np.float64)
    rng = np.random.default_rng(5)
    for s in rng.choice([-1.0, 1.0], size=(20, n)):
        for i in range(n):
            h = w[i] @ s
            after = s.copy()
            after[i] = np.sign(h) if h != 0 else s[i]
            assert -0.5 * after @ w @ after <= -0.5 * s @ w @ s + 1e-9


def test_recalled_states_are_fixed_points_and_recall_is_seeded():
    n = 50
    patterns = random_patterns(10, n, seed=6)
    net = Hopfield(n, seed=11).store(patterns)
    probes = random_patterns(8, n, seed=7)
    states = net.recall(probes)
    s = states.astype(np.float64)
    fields = s @ patterns.T @ patterns / n  # Hebb's, in float64
    fields -= len(patterns) / n * s  # the zero diagonal
    assert ((np.sign(fields) == states) | (np.abs(fields) < 1e-6)).all()
    again = Hopfield(n, seed=11).store(patterns).recall(probes)
    np.testing.assert_array_equal(again, states)


def test_synchronous_updates_can_cycle_where_asynchronous_ones_settle():
    """One pattern (1, -1): w01 = -1/2. From (1, 1) both units flip together forever, while
    one at a time ends on (1, -1) or (-1, 1)."""
    net = Hopfield(2, seed=0).store([1, -1])
    states, sweeps = net.recall([1, 1], synchronous=True, max_sweeps=7, return_sweeps=True)
    assert int(sweeps) == 7 and states.tolist() in ([1, 1], [-1, -1])
    assert net.recall([1, 1]).tolist() in ([1, -1], [-1, 1])


def test_storkey_rule_matches_its_definition_term_by_term():
    """Storkey's w_ij += (1/N)(p_i p_j - p_i h_ji - h_ij p_j), h_ij = sum_{k != i,j} w_ik p_k,
    written as loops in NumPy; one pattern alone gives Hebb's weights."""
    n, patterns = 6, random_patterns(4, 6, seed=8)
    w = np.zeros((n, n))
    for p in patterns:
        h = np.array([[sum(w[i, k] * p[k] for k in range(n) if k not in (i, j)) for j in range(n)]
                      for i in range(n)])  # fmt: skip
        w = w + (np.outer(p, p) - p[:, None] * h.T - h * p[None, :]) / n
        np.fill_diagonal(w, 0)
    net = Hopfield(n, rule="storkey").store(patterns)
    np.testing.assert_allclose(net.get_weights()[0], w, atol=1e-6)
    one = Hopfield(n, rule="storkey").store(patterns[0]).get_weights()[0]
    np.testing.assert_allclose(one, Hopfield(n).store(patterns[0]).get_weights()[0], atol=1e-7)


def test_tensors_in_tensors_out_and_config_round_trip():
    net = Hopfield(4, rule="storkey", seed=5).store(torch.tensor([P1, P2], dtype=torch.float64))
    out = net.recall(torch.tensor(P1))
    assert isinstance(out, torch.Tensor) and out.tolist() == P1
    assert isinstance(net.recall(P1), np.ndarray)
    twin = Hopfield.from_config(net.get_config())
    assert twin.get_config() == {"n_units": 4, "rule": "storkey", "seed": 5}
    twin.set_weights(net.get_weights())
    np.testing.assert_array_equal(twin.get_weights()[0], net.get_weights()[0])
    assert "patterns_stored=2" in repr(net)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda net: net.store([1, 0, -1, 1]), r"Expected bipolar patterns .*patterns\[0, 1\]=0"),
        (lambda net: net.store([[1, 1, 1, 1], [1, 1, 2, 1]]), r"received: patterns\[1, 2\]=2"),
        (lambda net: net.store([1, -1, 1]), r"shape \(4,\) or \(batch, 4\), .*shape=\(3,\)"),
        (lambda net: net.recall([[0.5, 1, 1, 1]]), r"Expected bipolar probes"),
        (lambda net: net.recall(P1, max_sweeps=0), r"max_sweeps to be an integer >= 1"),
        (lambda net: net.store(np.zeros((0, 4))), r"Expected at least one pattern"),
        (lambda net: net.set_weights([np.ones((4, 4))]), r"zero diagonal, received: "),
        (lambda net: net.set_weights([np.zeros((3, 3))]), r"received: W.shape=\(3, 3\)"),
        (lambda net: net.energy([[1, 1, 1, float("nan")]]), r"Expected finite states"),
    ],
)
def test_errors_name_what_was_expected_and_received(call, message):
    with pytest.raises(ValueError, match=message):
        call(Hopfield(4))


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"rule to be one of .*received: rule='oja'"):
        Hopfield(4, rule="oja")
    with pytest.raises(ValueError, match=r"n_units to be an integer >= 2, received: n_units=1"):
        Hopfield(1)
    with pytest.raises(TypeError, match=r"Expected patterns to be numbers"):
        Hopfield(2).store(["a", "b"])


def test_asynchronous_sweeps_equal_unit_by_unit_updates_in_the_drawn_order():
    """The sweep runs flip by flip; a plain loop over the units, in the order the generator
    draws (torch.rand(...).argsort), must end each sweep in the same states."""
    n, probes_count = 30, 6
    patterns = random_patterns(5, n, seed=9)
    w = Hopfield(n).store(patterns).get_weights()[0].astype(np.float64)
    states = random_patterns(probes_count, n, seed=10)
    gen, twin = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    current = torch.as_tensor(states, dtype=torch.float32)[None]
    for _ in range(3):
        current, _, _ = dynamics.asynchronous(
            torch.as_tensor(w, dtype=torch.float32)[None], current, gen, 1
        )
        order = torch.rand(probes_count, n, generator=twin).argsort(dim=-1).numpy()
        for s, units in zip(states, order):
            for i in units:
                h = w[i] @ s
                s[i] = np.sign(h) if abs(h) > 1e-9 else s[i]
        np.testing.assert_array_equal(current[0].numpy(), states)
