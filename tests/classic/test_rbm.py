"""RBM against NumPy: the free energy, a CD-1 step by hand, the exact log-likelihood of a
4-unit machine (all 16 visible states enumerated) rising under training, and MNIST."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lamina.classic import RBM


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def numpy_free_energy(v: np.ndarray, w: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return -v @ b - np.log1p(np.exp(v @ w + c)).sum(-1)


def exact_log_likelihood(rbm: RBM, data: np.ndarray) -> float:
    """Mean log p(v) over `data`, with Z summed over every visible state (float64)."""
    w, b, c = (a.astype(np.float64) for a in rbm.get_weights())
    states = np.array(list(itertools.product([0.0, 1.0], repeat=rbm.n_visible)))
    log_z = np.logaddexp.reduce(-numpy_free_energy(states, w, b, c))
    return float(np.mean(-numpy_free_energy(data, w, b, c) - log_z))


def random_rbm(n_visible: int, n_hidden: int, seed: int, **kwargs) -> RBM:
    rng = np.random.default_rng(seed)
    rbm = RBM(n_visible, n_hidden, seed=seed, **kwargs)
    rbm.set_weights(
        [
            rng.normal(size=(n_visible, n_hidden)),
            rng.normal(size=n_visible),
            rng.normal(size=n_hidden),
        ]
    )
    return rbm


def test_free_energy_and_conditionals_equal_the_numpy_formulas():
    rbm = random_rbm(7, 5, seed=0)
    w, b, c = (a.astype(np.float64) for a in rbm.get_weights())
    v = np.random.default_rng(1).integers(0, 2, (9, 7)).astype(np.float64)
    np.testing.assert_allclose(rbm.free_energy(v), numpy_free_energy(v, w, b, c), rtol=1e-5)
    np.testing.assert_allclose(rbm.transform(v), sigmoid(v @ w + c), rtol=1e-5)
    np.testing.assert_allclose(rbm.reconstruct(v), sigmoid(sigmoid(v @ w + c) @ w.T + b), rtol=1e-5)
    # F(v) marginalises h: -log sum_h exp(-E(v, h)), E = -v.b - h.c - v W h.
    hiddens = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    energies = -(v @ b)[:, None] - (hiddens @ c)[None] - v @ w @ hiddens.T
    np.testing.assert_allclose(
        rbm.free_energy(v), -np.logaddexp.reduce(-energies, axis=1), rtol=1e-5
    )


def test_one_cd1_step_on_a_2x3_machine_by_hand():
    """Weights of +-30 saturate every sigmoid (float32 rounds sigmoid(30) to 1), so the draws
    are certain. Data v = (1, 0): h0 = (1, 0, 1); the visible fields h0 W^T + b = (60 - 90,
    0 + 30) give v1 = (0, 1); then p(h | v1) = (0, 1, 1). The other row, (0, 1), is a fixed
    point of the chain. Gradient = mean over the two rows of v0^T p(h|v0) - v1^T p(h|v1)."""
    rbm = RBM(2, 3, k=1, learning_rate=0.1, momentum=0.0, weight_decay=0.0, seed=0)
    w = np.array([[30.0, -30.0, 30.0], [-30.0, 30.0, 30.0]])
    rbm.set_weights([w, np.array([-90.0, 30.0]), np.zeros(3)])
    data = np.array([[1.0, 0.0], [0.0, 1.0]])
    grad = rbm.cd_gradient(data)
    np.testing.assert_array_equal(grad.negative_visible.numpy(), [[0, 1], [0, 1]])
    np.testing.assert_allclose(grad.negative_hidden.numpy(), [[0, 1, 1], [0, 1, 1]], atol=1e-12)
    expected_w = np.array([[0.5, 0.0, 0.5], [0.0, -0.5, -0.5]])
    np.testing.assert_allclose(grad.weights.numpy(), expected_w, atol=1e-6)
    np.testing.assert_allclose(grad.visible_bias.numpy(), [0.5, -0.5], atol=1e-6)
    np.testing.assert_allclose(grad.hidden_bias.numpy(), [0.5, -0.5, 0.0], atol=1e-6)
    rbm.train_step(data)  # lr 0.1, no momentum or decay: W + 0.1 * gradient
    new_w, new_b, new_c = rbm.get_weights()
    np.testing.assert_allclose(new_w, w + 0.1 * expected_w, atol=1e-5)
    np.testing.assert_allclose(new_b, [-90 + 0.05, 30 - 0.05], atol=1e-5)
    np.testing.assert_allclose(new_c, [0.05, -0.05, 0.0], atol=1e-6)


def test_cd_gradient_equals_numpy_on_the_sampled_chain_and_the_update_uses_momentum():
    """Random weights, CD-2: given the chain's end the gradient is NumPy's; two machines with
    one seed draw the same chain, and the update is v = m v + lr (g - decay W), W += v."""
    kwargs = {"k": 2, "learning_rate": 0.05, "momentum": 0.5, "weight_decay": 0.01}
    first, second = random_rbm(3, 2, seed=4, **kwargs), random_rbm(3, 2, seed=4, **kwargs)
    w, b, c = (a.astype(np.float64) for a in first.get_weights())
    v0 = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    grad = first.cd_gradient(v0)
    vk = grad.negative_visible.numpy().astype(np.float64)
    assert set(np.unique(vk)) <= {0.0, 1.0}
    ph0, phk = sigmoid(v0 @ w + c), sigmoid(vk @ w + c)
    np.testing.assert_allclose(grad.negative_hidden.numpy(), phk, rtol=1e-5)
    np.testing.assert_allclose(grad.weights.numpy(), (v0.T @ ph0 - vk.T @ phk) / 4, atol=1e-6)
    np.testing.assert_allclose(grad.visible_bias.numpy(), (v0 - vk).mean(0), atol=1e-6)
    np.testing.assert_allclose(grad.hidden_bias.numpy(), (ph0 - phk).mean(0), atol=1e-6)

    error = second.train_step(v0)
    assert error == pytest.approx(np.mean((v0 - sigmoid(ph0 @ w.T + b)) ** 2), rel=1e-5)
    velocity = 0.05 * (grad.weights.numpy() - 0.01 * w)
    np.testing.assert_allclose(second.get_weights()[0], w + velocity, atol=1e-6)
    before = second.get_weights()[0].astype(np.float64)
    grad2 = random_rbm(3, 2, seed=4, **kwargs)  # a third machine only to read the next draw
    grad2.set_weights(second.get_weights())
    grad2._generator.set_state(second._generator.get_state())
    g2 = grad2.cd_gradient(v0).weights.numpy()
    second.train_step(v0)
    expected = before + 0.5 * velocity + 0.05 * (g2 - 0.01 * before)
    np.testing.assert_allclose(second.get_weights()[0], expected, atol=1e-6)


@pytest.mark.parametrize("persistent", [False, True])
def test_exact_log_likelihood_of_a_four_unit_machine_rises(persistent):
    """Data: two patterns of 4 units and one-bit variants. Before training (small weights,
    zero biases) log p(v) = 4 log(1/2) = -2.77; training must bring it near the data's
    entropy and rise from check to check (CD-1 and PCD-1)."""
    data = np.array([[1, 1, 0, 0]] * 6 + [[0, 0, 1, 1]] * 6 + [[1, 0, 0, 0], [0, 0, 0, 1]], float)
    rbm = RBM(4, 3, k=1, persistent=persistent, learning_rate=0.1, momentum=0.5, seed=2)
    scores = [exact_log_likelihood(rbm, data)]
    for _ in range(4):
        rbm.fit(data, epochs=50, batch_size=7, pseudo_likelihood=False)
        scores.append(exact_log_likelihood(rbm, data))
    assert scores[0] == pytest.approx(4 * np.log(0.5), abs=0.01)
    assert all(later > earlier for earlier, later in zip(scores[:2], scores[1:3])), scores
    assert scores[-1] > -1.6 and scores[-1] > scores[1], scores


def test_reconstruction_error_falls_on_binarised_mnist():
    from lamina.datasets import mnist

    (x, _), (x_test, _) = mnist.load_data()
    x = (x[:1500].reshape(-1, 784) / 255.0 > 0.5).astype(np.float32)
    held_out = (x_test[:500] / 255.0 > 0.5).astype(np.float32)  # (500, 28, 28): flattened
    rbm = RBM(784, 32, k=1, learning_rate=0.1, momentum=0.5, seed=0)
    before = float(np.mean((rbm.reconstruct(held_out) - held_out.reshape(-1, 784)) ** 2))
    history = rbm.fit(x, epochs=3, batch_size=50)
    errors = history.history["reconstruction_error"]
    assert history.epoch == [0, 1, 2]
    assert errors[2] < errors[1] < errors[0], errors
    after = float(np.mean((rbm.reconstruct(held_out) - held_out.reshape(-1, 784)) ** 2))
    assert after < 0.5 * before, (before, after)
    assert history.history["pseudo_log_likelihood"][-1] > -784 * np.log(2)


def test_sampling_shapes_kinds_and_seeds():
    rbm = random_rbm(6, 4, seed=7)
    samples = rbm.sample(5, steps=3)
    assert samples.shape == (5, 6) and set(np.unique(samples)) <= {0.0, 1.0}
    means = rbm.sample(5, steps=3, mean=True)
    assert ((means > 0) & (means < 1)).all()
    chain = rbm.gibbs_sample(torch.ones(2, 6), steps=4)
    assert isinstance(chain, torch.Tensor) and chain.shape == (2, 6)
    assert rbm.transform(np.ones(6)).shape == (4,)
    pll = rbm.pseudo_log_likelihood(np.eye(6))
    w, b, c = (a.astype(np.float64) for a in rbm.get_weights())
    for v, value in zip(np.eye(6), pll):  # one of the six one-unit flips, times 6
        flips = np.abs(v - np.eye(6))
        gaps = numpy_free_energy(flips, w, b, c) - numpy_free_energy(v[None], w, b, c)
        assert np.min(np.abs(6 * np.log(sigmoid(gaps)) - value)) < 1e-4
    data = np.random.default_rng(0).integers(0, 2, (40, 6))
    fitted = [RBM(6, 4, seed=3).fit(data, epochs=2, batch_size=8) for _ in range(2)]
    assert fitted[0].history == fitted[1].history


def test_config_round_trip_and_errors():
    rbm = RBM(6, 4, k=3, persistent=True, seed=1)
    twin = RBM.from_config(rbm.get_config())
    assert twin.get_config() == rbm.get_config() and twin.k == 3 and twin.persistent
    np.testing.assert_array_equal(twin.get_weights()[0], rbm.get_weights()[0])
    with pytest.raises(ValueError, match=r"Expected x in \[0, 1\] .*received: x\[0, 2\]=2"):
        rbm.fit([[0, 1, 2, 0, 0, 0]])
    with pytest.raises(
        ValueError, match=r"shape \(6,\) or \(batch, 6\), received: v.shape=\(2, 5\)"
    ):
        rbm.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"Expected k to be an integer >= 1, received: k=0"):
        RBM(6, 4, k=0)
    with pytest.raises(ValueError, match=r"Expected momentum in \[0, 1\), received: momentum=1"):
        RBM(6, 4, momentum=1)
    with pytest.raises(ValueError, match=r"received: hidden_bias.shape=\(5,\)"):
        rbm.set_weights([np.zeros((6, 4)), np.zeros(6), np.zeros(5)])


def test_the_device_is_part_of_the_config_and_results_come_home():
    """On a device other than the CPU the weights and chains live there; NumPy inputs give
    NumPy results on the host, tensor inputs tensors on the RBM's device. (CPU here: the
    same seed on an explicit device draws the same weights as the default.)"""
    default, explicit = RBM(6, 3, seed=0), RBM(6, 3, seed=0, device=torch.device("cpu"))
    assert default.get_config()["device"] is None and explicit.device == torch.device("cpu")
    for a, b in zip(default.get_weights(), explicit.get_weights()):
        np.testing.assert_array_equal(a, b)
    v = np.eye(6, dtype=np.float32)[:4]
    assert isinstance(explicit.transform(v), np.ndarray)
    out = explicit.transform(torch.from_numpy(v))
    assert isinstance(out, torch.Tensor) and out.device == explicit.device
    clone = RBM.from_config(explicit.get_config())
    assert clone.device == explicit.device
