"""The courses' MNIST results table (seed 003) retrained here: writes benchmarks/COURSE.md.

Each row trains the course's model as the slides give it (layers, activations, optimizer) with
the batch size and epochs of the Keras 1 examples of the time, on the real MNIST (x / 255,
one-hot labels, the test set as `validation_data`), once per seed. Every finished run goes to
a JSON cache at once (atomic write), so the script resumes where it stopped:

    python benchmarks/course_table.py                       # every row, seeds 0 1 2, cheapest first
    python benchmarks/course_table.py --rows softmax,mlp_tanh --seeds 0
    python benchmarks/course_table.py --render              # only rewrite COURSE.md from the cache
    KERAS_BACKEND=torch python benchmarks/course_table.py --engine keras3 --rows mlp_tanh

`--engine keras3` runs the same code with Keras 3 (`import keras`) as a cross-check; its runs
are cached apart and listed under the table.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / "course_table.json"
DOC = HERE / "COURSE.md"
START, END = "<!-- course-table:start -->", "<!-- course-table:end -->"
SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Row:
    """One line of the table: the course's model, its training recipe and its figures."""

    key: str
    label: str
    build: Callable[[Any], Any]  # keras module -> uncompiled model
    optimizer: Callable[[Any], Any]  # keras module -> optimizer (or its string name)
    optimizer_text: str
    epochs: int
    batch_size: int = 128
    dataset: str = "mnist"
    flat: bool = True  # 784-vector input (the MLPs) or 28x28x1 images (the CNN)
    course: float | None = None  # the course's test accuracy, in %
    target: float | None = None  # the target, in %


def softmax_regression(keras: Any) -> Any:
    """Dense(10) + softmax on the 784 pixels (the slides' first model)."""
    layers = keras.layers
    return keras.Sequential([keras.Input((784,)), layers.Dense(10), layers.Activation("softmax")])


def five_layer_mlp(activation: str, dropout: float = 0.0) -> Callable[[Any], Any]:
    """The slides' 200-100-60-30-10 MLP, with Dropout(dropout) after each hidden layer if > 0."""

    def build(keras: Any) -> Any:
        layers = keras.layers
        model = keras.Sequential([keras.Input((784,))])
        for units in (200, 100, 60, 30):
            model.add(layers.Dense(units, activation=activation))
            if dropout:
                model.add(layers.Dropout(dropout))
        model.add(layers.Dense(10, activation="softmax"))
        return model

    return build


def _cnn_layers(keras: Any) -> list[Any]:
    """Conv(32,3x3)-relu-Conv(32,3x3)-relu-MaxPool(2)-Dropout(.25)-Dense(256)-Dropout(.25)-Dense(10)."""
    layers = keras.layers
    return [
        layers.Conv2D(32, (3, 3), padding="valid"),
        layers.Activation("relu"),
        layers.Conv2D(32, (3, 3)),
        layers.Activation("relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.25),
        layers.Dense(10, activation="softmax"),
    ]


def course_cnn(keras: Any) -> Any:
    """The slides' CNN (Keras 1's mnist_cnn.py with Dense(256) and Dropout(0.25) twice)."""
    return keras.Sequential([keras.Input((28, 28, 1)), *_cnn_layers(keras)])


# The expansion: each epoch sees every training image once, rotated by up to +-10 degrees and
# shifted by up to +-2 pixels (0.08 x 28) in each direction, fresh draws every epoch; the pixels
# that come in from outside are 0 (background). Training only: the layers pass test images as is.
ROTATION = 10 / 360
SHIFT = 0.08


def augmented_cnn(keras: Any) -> Any:
    """The same CNN behind RandomRotation and RandomTranslation layers (active in training only)."""
    layers = keras.layers
    augment = [
        layers.RandomRotation(ROTATION, fill_mode="constant"),
        layers.RandomTranslation(SHIFT, SHIFT, fill_mode="constant"),
    ]
    return keras.Sequential([keras.Input((28, 28, 1)), *augment, *_cnn_layers(keras)])


def keras1_adadelta(keras: Any) -> Any:
    """Adadelta with Keras 1's constants (lr=1.0, rho=0.95, epsilon=1e-8)."""
    return keras.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-8)


def named(name: str) -> Callable[[Any], str]:
    """The optimizer as the slides write it: a string, so today's defaults apply."""
    return lambda keras: name


def keras1_rmsprop(keras: Any) -> Any:
    """RMSprop with Keras 1's update `p -= lr * g / (sqrt(v) + 1e-8)`, for the Keras 3 cross-check.

    Keras 3 divides by `sqrt(v + epsilon)`; Lamina (like torch) already divides by
    `sqrt(v) + epsilon`, so on Lamina this is its RMSprop with Keras 1's epsilon.
    """
    if keras.__name__ == "lamina":
        return keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-8)
    ops = keras.ops

    class Keras1RMSprop(keras.optimizers.RMSprop):
        """Keras 3's RMSprop with the Keras 1 denominator (a subclass: Keras runs update_step)."""

        def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
            lr = ops.cast(learning_rate, variable.dtype)
            grad = ops.cast(gradient, variable.dtype)
            velocity = self._velocities[self._get_variable_index(variable)]
            self.assign(velocity, self.rho * velocity + (1 - self.rho) * ops.square(grad))
            self.assign_sub(variable, lr * grad / (ops.sqrt(velocity) + self.epsilon))

    return Keras1RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-8)


ADADELTA_K1 = "Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-8)"
# Cheapest first: the order the default run takes them in.
ROWS: tuple[Row, ...] = (
    Row("softmax", "softmax regression", softmax_regression, named("rmsprop"), "'rmsprop'", 20,
        course=91.7, target=92.0),
    Row("mlp_sigmoid", "5-layer MLP 200-100-60-30-10, sigmoid", five_layer_mlp("sigmoid"),
        named("rmsprop"), "'rmsprop'", 20, course=97.35, target=97.5),
    Row("mlp_tanh", "same, tanh", five_layer_mlp("tanh"), named("rmsprop"), "'rmsprop'", 20,
        course=98.06, target=98.1),
    Row("mlp_relu", "same, ReLU", five_layer_mlp("relu"), named("rmsprop"), "'rmsprop'", 20,
        course=98.07, target=98.1),
    Row("mlp_relu_dropout", "same, ReLU, Dropout(0.25)", five_layer_mlp("relu", 0.25),
        named("sgd"), "'sgd'", 20, course=98.26, target=98.3),
    Row("cnn_as_written", "CNN, as written (today's Adadelta default lr=0.001)", course_cnn,
        named("adadelta"), "'adadelta'", 12, flat=False, course=99.23, target=99.25),
    Row("cnn_keras1", "CNN, Keras 1's Adadelta constants", course_cnn, keras1_adadelta,
        ADADELTA_K1, 12, flat=False, course=99.23, target=99.25),
    Row("cnn_augmented", "CNN, training data expanded (rotation +-10 deg, shift +-2 px)",
        augmented_cnn, keras1_adadelta, ADADELTA_K1, 12, flat=False, course=99.6, target=99.6),
    Row("fashion_cnn", "Fashion-MNIST, the same CNN", course_cnn, keras1_adadelta, ADADELTA_K1,
        12, dataset="fashion_mnist", flat=False),
)  # fmt: skip
# Cross-checks only (run with --engine keras3; not rows of the table).
EXTRA_ROWS: tuple[Row, ...] = (
    Row("mlp_tanh_keras1_rmsprop", "tanh MLP, RMSprop with Keras 1's update", five_layer_mlp("tanh"),
        keras1_rmsprop, "RMSprop: p -= lr*g/(sqrt(v)+1e-8)", 20, course=98.06, target=98.1),
)  # fmt: skip
ROW_BY_KEY = {row.key: row for row in ROWS + EXTRA_ROWS}


@dataclass(frozen=True)
class Data:
    """Train and test arrays ready for fit: float32 in [0, 1], one-hot labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare(
    raw: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], flat: bool
) -> Data:
    """The slides' preprocessing: reshape, float32, / 255, one-hot (10 classes)."""
    (x_train, y_train), (x_test, y_test) = raw
    shape = (784,) if flat else (28, 28, 1)

    def images(x: np.ndarray) -> np.ndarray:
        return x.reshape((len(x), *shape)).astype("float32") / 255

    def one_hot(y: np.ndarray) -> np.ndarray:
        return np.eye(10, dtype="float32")[np.asarray(y, dtype=np.int64)]

    return Data(images(x_train), one_hot(y_train), images(x_test), one_hot(y_test))


def load_raw(dataset: str) -> Any:
    """The dataset's uint8 arrays, offline, from Lamina's loaders (for both engines)."""
    module = importlib.import_module(f"lamina.datasets.{dataset}")
    return module.load_data()


def engine_module(engine: str) -> Any:
    """`lamina` or Keras 3 (`keras`), imported as the `keras` the row builders use."""
    if engine not in ("lamina", "keras3"):
        raise ValueError(f"Expected engine 'lamina' or 'keras3', received: engine={engine!r}")
    return importlib.import_module("lamina" if engine == "lamina" else "keras")


def _progress(key: str, seed: int) -> Callable[[int, dict[str, Any] | None], None]:
    """A line per finished epoch on stdout, so a long run shows where it is."""
    start = time.perf_counter()

    def show(epoch: int, logs: dict[str, Any] | None = None) -> None:
        acc = (logs or {}).get("val_accuracy", float("nan"))
        elapsed = time.perf_counter() - start
        print(
            f"  {key} seed {seed} epoch {epoch + 1}: {100 * acc:.2f}% at {elapsed:.0f} s",
            flush=True,
        )

    return show


def run_seed(
    row: Row, seed: int, data: Data, engine: str = "lamina", epochs: int | None = None
) -> dict[str, Any]:
    """Train `row` once with `seed`; the test accuracy after the last epoch, in %, and the timings."""
    keras = engine_module(engine)
    keras.utils.set_random_seed(seed)
    model = row.build(keras)
    model.compile(
        loss="categorical_crossentropy", optimizer=row.optimizer(keras), metrics=["accuracy"]
    )
    load_before = os.getloadavg()
    start = time.perf_counter()
    history = model.fit(
        data.x_train,
        data.y_train,
        batch_size=row.batch_size,
        epochs=epochs or row.epochs,
        verbose=0,
        validation_data=(data.x_test, data.y_test),
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=_progress(row.key, seed))],
    )
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    curve = [round(100 * float(a), 2) for a in history.history["val_accuracy"]]
    return {
        "accuracy": curve[-1],
        "val_accuracy_by_epoch": curve,
        "epochs": epochs or row.epochs,
        "wall_s": round(wall, 1),
        "loadavg_1min": round((load_before[0] + load_after[0]) / 2, 2),
        "engine": engine,
        "version": str(getattr(keras, "__version__", "?")),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside `path` (several runs may share one cache)."""
    lock_path = (
        Path(tempfile.gettempdir())
        / f"course_table-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}.lock"
    )
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def read_cache(path: Path) -> dict[str, Any]:
    """{engine: {row key: {seed: run}}}; empty when the file is missing."""
    return json.loads(path.read_text()) if path.exists() else {}


def record(path: Path, engine: str, key: str, seed: int, run: dict[str, Any]) -> None:
    """Add one run to the cache: re-read, merge, write atomically, under the lock."""
    from lamina.io_utils import atomic_write  # noqa: PLC0415

    with _locked(path):
        cache = read_cache(path)
        cache.setdefault(engine, {}).setdefault(key, {})[str(seed)] = run
        with atomic_write(path) as f:
            f.write((json.dumps(cache, indent=1, sort_keys=True) + "\n").encode())


def _fmt(value: float | None, suffix: str = "%") -> str:
    return "-" if value is None else f"{value:.2f}{suffix}"


def summarize(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean, min, max, sample std of a row's accuracies (seeds in order), and its wall times."""
    seeds = sorted(runs, key=int)
    acc = [runs[s]["accuracy"] for s in seeds]
    walls = [runs[s]["wall_s"] for s in seeds]
    loads = [runs[s]["loadavg_1min"] for s in seeds]
    return {
        "seeds": [int(s) for s in seeds],
        "accuracy": acc,
        "mean": statistics.fmean(acc),
        "min": min(acc),
        "max": max(acc),
        "std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
        "wall_mean_s": statistics.fmean(walls),
        "load_mean": statistics.fmean(loads),
    }


def render_table(
    cache: dict[str, Any], rows: tuple[Row, ...] = ROWS, seeds: tuple[int, ...] = SEEDS
) -> str:
    """The markdown block between the markers: the table, then what is missing and how to finish it."""
    runs = cache.get("lamina", {})
    lines = [
        "| model | optimizer | batch x epochs | courses | target | ours: mean (min-max) | "
        "per seed | meets target | wall time per seed (load avg) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    missing: list[str] = []
    for row in rows:
        done = runs.get(row.key, {})
        left = [s for s in seeds if str(s) not in done]
        if left:
            missing.append(f"`{row.key}` seeds {','.join(map(str, left))}")
        recipe = f"{row.batch_size} x {row.epochs}"
        head = f"| {row.label} | `{row.optimizer_text}` | {recipe} | {_fmt(row.course)} | "
        head += "-" if row.target is None else f">= {row.target:.2f}%"
        if not done:
            lines.append(head + " | not run yet | | | |")
            continue
        s = summarize(done)
        per_seed = ", ".join(f"{a:.2f}" for a in s["accuracy"])
        meets = "-" if row.target is None else ("yes" if s["mean"] >= row.target else "no")
        lines.append(
            f"{head} | {s['mean']:.2f}% ({s['min']:.2f}-{s['max']:.2f}) | {per_seed} "
            f"(seeds {','.join(map(str, s['seeds']))}) | {meets} | "
            f"{s['wall_mean_s']:.0f} s ({s['load_mean']:.1f}) |"
        )
    lines.append("")
    if missing:
        keys = sorted({m.split("`")[1] for m in missing}, key=[r.key for r in rows].index)
        lines.append(
            "Missing: " + "; ".join(missing) + ". To finish (resumes, skips what is cached):"
        )
        lines.append("")
        lines.append(f"    .venv/bin/python benchmarks/course_table.py --rows {','.join(keys)}")
    else:
        lines.append("Every row has all its seeds.")
    other = {e: r for e, r in cache.items() if e != "lamina"}
    for engine, by_row in sorted(other.items()):
        lines += ["", f"Cross-check with {engine} (same code, same recipe):", ""]
        for key, done in by_row.items():
            s = summarize(done)
            version = next(iter(done.values()))["version"]
            per_seed = ", ".join(f"{a:.2f}" for a in s["accuracy"])
            lines.append(
                f"- `{key}` ({engine} {version}): {s['mean']:.2f}% over seeds "
                f"{','.join(map(str, s['seeds']))} ({per_seed}); {s['wall_mean_s']:.0f} s per seed"
            )
    return "\n".join(lines)


def write_doc(
    cache: dict[str, Any], path: Path, rows: tuple[Row, ...] = ROWS, seeds: tuple[int, ...] = SEEDS
) -> None:
    """Replace the block between the markers in `path` (kept text around it), or start the file."""
    from lamina.io_utils import atomic_write  # noqa: PLC0415

    block = f"{START}\n{render_table(cache, rows, seeds)}\n{END}"
    text = (
        path.read_text() if path.exists() else f"# The courses' results table\n\n{START}\n{END}\n"
    )
    if START not in text or END not in text:
        raise ValueError(
            f"Expected the markers {START} and {END} in the doc, received: path={path}"
        )
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    with atomic_write(path) as f:
        f.write((before + block + after).encode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--rows", default=",".join(r.key for r in ROWS), help="comma-separated row keys"
    )
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--engine", default="lamina", choices=("lamina", "keras3"))
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 on a shared machine)"
    )
    parser.add_argument(
        "--render", action="store_true", help="only rewrite COURSE.md from the cache"
    )
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args(argv)
    keys = [k for k in args.rows.split(",") if k]
    unknown = [k for k in keys if k not in ROW_BY_KEY]
    if unknown:
        parser.error(f"Expected row keys among {sorted(ROW_BY_KEY)}, received: rows={unknown}")
    seeds = [int(s) for s in args.seeds.split(",") if s]

    def render() -> None:
        with _locked(args.cache):
            write_doc(read_cache(args.cache), args.doc)

    if not args.render:
        import torch  # noqa: PLC0415

        torch.set_num_threads(args.threads)
        for key in keys:
            row = ROW_BY_KEY[key]
            data = None
            for seed in seeds:
                if str(seed) in read_cache(args.cache).get(args.engine, {}).get(key, {}):
                    continue
                data = data or prepare(load_raw(row.dataset), row.flat)
                run = run_seed(row, seed, data, args.engine)
                record(args.cache, args.engine, key, seed, run)
                print(f"{args.engine} {key} seed {seed}: {run['accuracy']:.2f}% in {run['wall_s']:.0f} s "
                      f"(load {run['loadavg_1min']})", flush=True)  # fmt: skip
                render()
    render()
    return 0


if __name__ == "__main__":
    sys.exit(main())
