"""A restricted Boltzmann machine learns binarised MNIST by contrastive divergence.

A Bernoulli-Bernoulli RBM (784 visible units, `--hidden` hidden units) trains by CD-k
(`--k`, or persistent CD with `--persistent`) on MNIST digits thresholded at half intensity.
It prints, per epoch, the training reconstruction error and pseudo-log-likelihood, then the
test set's mean squared reconstruction error per pixel beside two baselines: the untrained
RBM and each pixel's training mean. The figure shows the hidden units' weights as 28x28
filters, and Gibbs chains started at test digits (after 1, 10, 100 and 1000 steps) and from
the visible biases alone (1000 steps).

    python examples/rbm_mnist.py            # 60,000 images, 10 epochs
    python examples/rbm_mnist.py --quick    # 5,000 images, 1 epoch
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _sizes import parse_sized

from lamina.classic import RBM
from lamina.datasets import mnist
from lamina.plot.figure import finish, pyplot

QUICK = {"train_images": 5000, "epochs": 1}
FULL = {"train_images": 60000, "epochs": 10}
SNAPSHOTS = (1, 10, 100, 1000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 images, 1 epoch")
    parser.add_argument("--train-images", type=int, help="default 60000 (5000 with --quick)")
    parser.add_argument("--epochs", type=int, help="default 10 (1 with --quick)")
    parser.add_argument("--hidden", type=int, default=100, help="hidden units")
    parser.add_argument("--k", type=int, default=1, help="Gibbs steps per update (CD-k)")
    parser.add_argument("--persistent", action="store_true", help="persistent CD")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.5)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--chains", type=int, default=8, help="Gibbs chains shown")
    parser.add_argument("--plot", default="artifacts/rbm_mnist.png")
    parser.add_argument("--seed", type=int, default=0)
    return parse_sized(parser, argv, QUICK, FULL)


def binarised_mnist(train_images: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) float32 (N, 784) arrays of 0 and 1: pixel / 255 > 0.5."""
    (x_train, _), (x_test, _) = mnist.load_data()
    x_train = x_train[:train_images].reshape(-1, 784) / 255.0 > 0.5
    x_test = x_test.reshape(-1, 784) / 255.0 > 0.5
    return x_train.astype(np.float32), x_test.astype(np.float32)


def reconstruction_error(rbm: RBM, x: np.ndarray) -> float:
    """Mean squared error per pixel of the mean-field reconstruction."""
    return float(np.mean((rbm.reconstruct(x) - x) ** 2))


def gibbs_snapshots(rbm: RBM, start: np.ndarray, seed: int) -> list[np.ndarray]:
    """p(v | h) of the chains from `start` after each of SNAPSHOTS steps. The chain goes on
    from a draw v ~ Bernoulli(p(v | h)), as the RBM's own next step would."""
    rng = np.random.default_rng(seed)
    shots, state, done = [], start, 0
    for steps in SNAPSHOTS:
        means = rbm.gibbs_sample(state, steps - done, mean=True)
        shots.append(means)
        state, done = (rng.random(means.shape) < means).astype(np.float32), steps
    return shots


def tile(images: np.ndarray, columns: int) -> np.ndarray:
    """(n, 784) images as one mosaic of 28x28 tiles, `columns` per row, 1-pixel gaps."""
    rows = -(-len(images) // columns)
    mosaic = np.full((rows * 29 + 1, columns * 29 + 1), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        mosaic[1 + r * 29 : 29 + r * 29, 1 + c * 29 : 29 + c * 29] = image.reshape(28, 28)
    return mosaic


def draw(
    rbm: RBM, data: np.ndarray, shots: list[np.ndarray], dreams: np.ndarray, path: str
) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6.2))
    weights = rbm.get_weights()[0].T
    columns = int(np.ceil(np.sqrt(len(weights))))
    limit = np.abs(weights).max()
    left.imshow(tile(weights, columns), cmap="RdBu_r", vmin=-limit, vmax=limit)
    left.set_title(f"filters: the {len(weights)} hidden units' weights (red +, blue -)")
    chains = [data, *shots, dreams]  # each column one stage, each row one chain
    grid = np.stack(chains, axis=1).reshape(-1, 784)
    right.imshow(tile(grid, len(chains)), cmap="gray_r", vmin=0, vmax=1)
    labels = ["data", *[str(s) for s in SNAPSHOTS], "1000"]
    right.set_xticks([14.5 + 29 * i for i in range(len(labels))], labels)
    right.set_xlabel("Gibbs steps from a test digit; last column: from the visible biases")
    right.set_title("Gibbs chains, p(v | h)")
    for ax in (left, right):
        ax.set_yticks([])
    left.set_xticks([])
    finish(fig, path)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    x_train, x_test = binarised_mnist(args.train_images)
    print(f"Training images: {len(x_train)}; test images: {len(x_test)} (binarised at 0.5)")
    rbm = RBM(
        784,
        args.hidden,
        k=args.k,
        persistent=args.persistent,
        learning_rate=args.learning_rate,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        seed=args.seed,
    )
    untrained = reconstruction_error(rbm, x_test)
    pixel_means = float(np.mean((x_train.mean(0) - x_test) ** 2))
    start = time.perf_counter()
    history = rbm.fit(x_train, epochs=args.epochs, batch_size=args.batch_size, verbose=1)
    train_time = time.perf_counter() - start
    error = reconstruction_error(rbm, x_test)
    pll = float(np.mean(rbm.pseudo_log_likelihood(x_test)))
    method = f"{'P' if args.persistent else ''}CD-{args.k}"
    print(f"{method}, {args.hidden} hidden units, {args.epochs} epochs: {train_time:.1f}s")
    print(f"Final training reconstruction error: {history.history['reconstruction_error'][-1]:.4f}")
    print(f"Test reconstruction error: {error:.4f}")
    print(f"Baselines: untrained RBM {untrained:.4f}, each pixel's training mean {pixel_means:.4f}")
    print(f"Test pseudo-log-likelihood: {pll:.1f} nats per image")

    start = time.perf_counter()
    data = x_test[: args.chains]
    shots = gibbs_snapshots(rbm, data, args.seed)
    dreams = rbm.sample(args.chains, steps=SNAPSHOTS[-1], mean=True)
    print(
        f"Gibbs chains: {args.chains} x {SNAPSHOTS[-1]} steps twice, {time.perf_counter() - start:.1f}s"
    )
    draw(rbm, data, shots, dreams, args.plot)
    print(f"Plot: {args.plot}")
    return {"test_error": error, "untrained": untrained, "pixel_means": pixel_means, "pll": pll}


if __name__ == "__main__":
    main()
