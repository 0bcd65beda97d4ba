"""An LSTM forecasts the next value of a chirp: a sine whose frequency rises with time.

The signal is sin(2 pi (f0 t + (f1 - f0) t^2 / 2N)) over N samples, its frequency rising
from f0 to f1 cycles per sample, plus a little Gaussian noise. An LSTM reads the last
`--window` values (windows from `timeseries_dataset_from_array`) and predicts the next one.
It trains on the first 80% of the signal and is scored on the last 20%, whose frequencies
are higher than any it saw: test RMSE of the LSTM against the naive forecast (the last
value), and of both against the noiseless signal.

    python examples/chirp_rnn.py
    python examples/chirp_rnn.py --quick     # half the signal, a quarter of the epochs
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _sizes import parse_sized

import lamina as keras
from lamina import layers
from lamina.utils import set_random_seed, timeseries_dataset_from_array


def chirp(
    samples: int, f0: float, f1: float, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean) float32 chirps of `samples` steps, frequency rising linearly f0 -> f1."""
    t = np.arange(samples, dtype=np.float64)
    clean = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * samples)))
    noisy = clean + noise * np.random.default_rng(seed).normal(size=samples)
    return noisy.astype("float32"), clean.astype("float32")


def rmse(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2)))


def build_model(window: int, units: int) -> keras.Sequential:
    return keras.Sequential([layers.Input((window, 1)), layers.LSTM(units), layers.Dense(1)])


QUICK = {"samples": 2000, "epochs": 10}
FULL = {"samples": 4000, "epochs": 40}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 samples, 10 epochs")
    parser.add_argument("--samples", type=int, help="default 4000 (2000 with --quick)")
    parser.add_argument("--f0", type=float, default=0.005, help="start frequency (cycles/sample)")
    parser.add_argument("--f1", type=float, default=0.05, help="end frequency (cycles/sample)")
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--epochs", type=int, help="default 40 (10 with --quick)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    return parse_sized(parser, argv, QUICK, FULL)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)

    set_random_seed(args.seed)
    noisy, clean = chirp(args.samples, args.f0, args.f1, args.noise, args.seed)
    w, cut = args.window, int(0.8 * args.samples)  # test targets: samples cut .. N-1
    # Window i reads samples i .. i+w-1 and predicts sample i+w.
    data, targets = noisy[:-1, None], noisy[w:]
    train = timeseries_dataset_from_array(
        data,
        targets,
        w,
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.seed,
        end_index=cut - 1,
    )
    test = timeseries_dataset_from_array(data, targets, w, batch_size=512, start_index=cut - w)
    assert test.num_windows == args.samples - cut

    model = build_model(w, args.units)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="mse")
    start = time.perf_counter()
    model.fit(train, epochs=args.epochs, verbose=0)
    train_time = time.perf_counter() - start

    truth, truth_clean = noisy[cut:], clean[cut:]
    lstm = model.predict(test, verbose=0)[:, 0]
    naive = noisy[cut - 1 : -1]
    f_cut = args.f0 + (args.f1 - args.f0) * cut / args.samples
    print(
        f"Chirp: {args.samples} samples, {args.f0}-{args.f1} cycles/sample, noise {args.noise}; "
        f"{train.num_windows} training windows, test on the last {len(truth)} samples "
        f"({f_cut:.3f}-{args.f1} cycles/sample)"
    )
    print(f"Test RMSE LSTM: {rmse(lstm, truth):.4f}")
    print(f"Test RMSE naive last value: {rmse(naive, truth):.4f}")
    print(
        f"Against the noiseless chirp: LSTM {rmse(lstm, truth_clean):.4f}, "
        f"naive {rmse(naive, truth_clean):.4f}"
    )
    print(f"Training time: {train_time:.1f}s for {args.epochs} epochs")
    return {"lstm": rmse(lstm, truth), "naive": rmse(naive, truth)}


if __name__ == "__main__":
    main()
