"""A windowed GRU forecasts next year's sunspot number, against a seasonal-naive baseline.

The yearly sunspot numbers (1700-2008, statsmodels) follow the ~11-year solar cycle, so
the seasonal-naive forecast repeats the value of 11 years before. The GRU reads the last
`--window` years (windows from `timeseries_dataset_from_array`) and predicts the next one.
It trains on the years before `--split-year` and is scored on the held-out years after it:
test RMSE of the GRU, the seasonal-naive forecast and, for reference, the last year's value.

    python examples/sunspots_forecast.py              # needs: pip install 'lamina[timeseries]'
    python examples/sunspots_forecast.py --quick      # a third of the epochs
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lamina as keras
from lamina import layers
from lamina.datasets import sunspots
from lamina.utils import set_random_seed, timeseries_dataset_from_array

CYCLE = 11  # years: the seasonal-naive lag


def rmse(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(prediction) - np.asarray(target)) ** 2)))


def build_model(window: int, units: int) -> keras.Sequential:
    return keras.Sequential([layers.Input((window, 1)), layers.GRU(units), layers.Dense(1)])


def parse_args(
    argv: list[str] | None = None,
) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 epochs instead of 150")
    parser.add_argument("--window", type=int, default=22, help="years read (two cycles)")
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--epochs", type=int, help="default 150 (50 with --quick)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--split-year", type=int, default=1950, help="first held-out year")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 50 if args.quick else 150
    return args, parser


def main(argv: list[str] | None = None) -> dict[str, float]:
    args, parser = parse_args(argv)
    set_random_seed(args.seed)
    years, values = sunspots.load_data()
    cut = int(np.searchsorted(years, args.split_year))  # index of the first held-out year
    w = args.window
    if not w + CYCLE <= cut < len(years):
        parser.error(f"--split-year must leave {w + CYCLE} training years and one test year")
    scale = values[:cut].max()  # from the training years only
    series = (values / scale).astype("float32")[:, None]  # (years, 1 feature)

    # Window i reads years i .. i+w-1 and predicts year i+w: data = series[:-1], targets =
    # series[w:]. Training windows predict years before `cut`, test windows the years after.
    data, targets = series[:-1], series[w:]
    train = timeseries_dataset_from_array(
        data,
        targets,
        w,
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.seed,
        end_index=cut - 1,
    )
    test = timeseries_dataset_from_array(data, targets, w, batch_size=256, start_index=cut - w)
    assert test.num_windows == len(years) - cut and train.num_windows == cut - w

    model = build_model(w, args.units)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="mse")
    start = time.perf_counter()
    model.fit(train, epochs=args.epochs, verbose=0)
    train_time = time.perf_counter() - start

    truth = values[cut:]
    gru = model.predict(test, verbose=0)[:, 0] * scale
    seasonal = values[cut - CYCLE : len(values) - CYCLE]
    last = values[cut - 1 : -1]
    print(
        f"Sunspots: trained on {train.num_windows} windows ({years[w]}-{years[cut - 1]}), "
        f"tested on {len(truth)} held-out years ({years[cut]}-{years[-1]})"
    )
    print(f"Test RMSE GRU: {rmse(gru, truth):.2f}")
    print(f"Test RMSE seasonal naive ({CYCLE} years before): {rmse(seasonal, truth):.2f}")
    print(f"Test RMSE last value: {rmse(last, truth):.2f}")
    print(f"Training time: {train_time:.1f}s for {args.epochs} epochs")
    return {"gru": rmse(gru, truth), "seasonal": rmse(seasonal, truth), "last": rmse(last, truth)}


if __name__ == "__main__":
    main()
