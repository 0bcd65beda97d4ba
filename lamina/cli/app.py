"""The `lamina` command's subcommands, on Typer: each parses its arguments, does its work
through Lamina's public API and prints plain lines (errors go through `entry.main`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from lamina.cli import examples as example_files
from lamina.cli import inputs
from lamina.cli.errors import USAGE, CliError
from lamina.cli.model_files import (
    check_output_suffix,
    class_probabilities,
    image_layout,
    load,
    loss_name,
    single,
    wants_sparse_labels,
)
from lamina.cli.serve_command import serve


class Options:
    """Settings of the whole command (`lamina --debug ...`), read by `entry.main`."""

    debug: bool = False


options = Options()

app = typer.Typer(
    name="lamina",
    help=(
        "Lamina's command line: run the examples, and inspect, evaluate, report on and "
        "convert saved models (.lamina, .keras, .h5). Exit codes: 0 ok, 1 failure, 2 usage."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ModelFile = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        metavar="MODEL",
        help="A saved model: .lamina, .keras or .h5.",
        show_default=False,
    ),
]
DataOption = typer.Option(
    "--data",
    help="The dataset whose test set is used.",
    show_default=True,
)
LimitOption = typer.Option(
    "--limit", min=1, help="Use only the first N test images.", show_default=False
)
ClassNamesOption = typer.Option(
    exists=True,
    dir_okay=False,
    metavar="FILE",
    help="A text file with one class name per line.",
    show_default=False,
)


def _version(value: bool) -> None:
    if value:
        import lamina

        typer.echo(f"lamina {lamina.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error (or LAMINA_DEBUG=1).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Lamina's command line."""
    options.debug = options.debug or debug


@app.command("examples")
def list_examples() -> None:
    """List the examples (name and description).

    'lamina run NAME' runs one; $LAMINA_EXAMPLES names another folder of scripts.
    """
    folder = example_files.examples_dir()
    found = example_files.list_examples(folder)
    if not found:
        raise CliError(f"Expected example scripts (*.py), received: none in {folder}")
    width = max(len(e.name) for e in found)
    for example in found:
        typer.echo(f"{example.name:<{width}}  {example.description}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The example, as 'lamina examples' names it.")
    ],
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Passed on as --epochs N.", show_default=False)
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Passed on: a short run.")] = False,
) -> int:
    """Run an example script.

    It runs with this Python in a child process, from the current folder. Other arguments
    go to the script as they are (after '--', even --help does). The exit code is the
    script's.
    """
    folder = example_files.examples_dir()
    example = example_files.find(name, example_files.list_examples(folder))
    args = (["--epochs", str(epochs)] if epochs is not None else []) + (
        ["--quick"] if quick else []
    )
    return example_files.run(example, [*args, *ctx.args])


@app.command()
def summary(
    model: ModelFile,
    expand_nested: Annotated[
        bool, typer.Option("--expand-nested", help="Show the layers inside nested models.")
    ] = False,
    show_trainable: Annotated[
        bool, typer.Option("--show-trainable", help="Add a column saying which layers train.")
    ] = False,
) -> None:
    """Print a saved model's summary.

    Its layers, output shapes and parameter counts, as model.summary() prints them.
    """
    load(model).summary(expand_nested=expand_nested, show_trainable=show_trainable)


@app.command()
def predict(
    model: ModelFile,
    images: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            metavar="IMAGE...",
            help="Image files (PNG, JPEG, ...).",
            show_default=False,
        ),
    ],
    top: Annotated[int, typer.Option(min=1, help="How many classes to print per image.")] = 5,
    class_names: Annotated[Path | None, ClassNamesOption] = None,
    scale: Annotated[
        inputs.Scale,
        typer.Option(
            help="Pixel scaling: unit = 0..1 (pixels / 255), signed = -1..1, raw = 0..255.",
        ),
    ] = "unit",
    invert: Annotated[
        bool,
        typer.Option("--invert", help="Use 255 - pixel (dark ink on white paper -> MNIST's look)."),
    ] = False,
) -> None:
    """Print the top classes of each image.

    Each image is converted to the model's channels (grayscale, RGB, RGBA), resized to its
    input size (bilinear), scaled (--scale), and flattened if the model reads pixel rows.
    """
    net = load(model)
    layout = image_layout(net)
    arrays = [inputs.read_image(path, layout, scale, invert) for path in images]
    probs = np.concatenate([_probabilities(net, layout.arrange(a[None])) for a in arrays])
    names = inputs.read_class_names(class_names, probs.shape[1])
    labels = names or [str(i) for i in range(probs.shape[1])]
    for path, row in zip(images, probs):
        order = np.argsort(-row, kind="stable")[: min(top, row.size)]
        width = max(len(labels[i]) for i in order)
        typer.echo(str(path))
        for i in order:
            typer.echo(f"  {labels[i]:<{width}}  {100 * row[i]:6.2f}%")


def _probabilities(net: Any, batch: np.ndarray) -> np.ndarray:
    return class_probabilities(net.predict(batch, verbose=0))


@app.command()
def evaluate(
    model: ModelFile,
    data: Annotated[inputs.Dataset, DataOption] = "mnist",
    batch_size: Annotated[int, typer.Option(min=1, help="Samples per batch.")] = 256,
    limit: Annotated[int | None, LimitOption] = None,
) -> None:
    """Evaluate a model on a test set.

    Prints the loss and metrics on the dataset's test images (pixels / 255). Labels are class indices for a sparse loss, one-hot otherwise; an
    uncompiled model is compiled with sparse categorical cross-entropy and accuracy."""
    x, y, _ = inputs.load_test_split(data, limit)
    net = load(model)
    xs = inputs.fit_dataset(x, image_layout(net), data)
    classes = int(single(net.output_shape, "output")[-1] or 0)
    if not getattr(net, "compiled", False):
        _compile_for_evaluation(net, xs)
    sparse = wants_sparse_labels(net, classes)
    labels = y.astype(np.int64) if sparse else inputs.one_hot(y, classes)
    results = net.evaluate(xs, labels, batch_size=batch_size, verbose=0, return_dict=True)
    kind = "class indices" if sparse else "one-hot"
    typer.echo(f"{data} test set: {len(x):,} images, labels {kind} (loss {loss_name(net)})")
    for key, value in results.items():
        typer.echo(f"{key}: {float(value):.4f}")


def _compile_for_evaluation(net: Any, xs: np.ndarray) -> None:
    """Sparse cross-entropy (from logits when the outputs are not probabilities) and accuracy."""
    from lamina import losses

    probe = np.asarray(net.predict(xs[:64], verbose=0), dtype=np.float64)
    from_logits = bool(probe.min() < 0 or not np.allclose(probe.sum(axis=1), 1, atol=1e-3))
    typer.echo(
        "lamina: note: the model was saved uncompiled; evaluating with "
        f"SparseCategoricalCrossentropy(from_logits={from_logits}) and accuracy",
        err=True,
    )
    net.compile(
        loss=losses.SparseCategoricalCrossentropy(from_logits=from_logits), metrics=["accuracy"]
    )


@app.command()
def report(
    model: ModelFile,
    data: Annotated[inputs.Dataset | None, DataOption] = None,
    limit: Annotated[int | None, LimitOption] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The HTML file to write (default: MODEL's name + _report.html).",
            show_default=False,
        ),
    ] = None,
    class_names: Annotated[Path | None, ClassNamesOption] = None,
) -> None:
    """Write a model's HTML report.

    Its summary, first filters and, with --data, its mistakes and confusion matrix on
    that test set. A model file keeps no training history, so the curves section says
    none was given."""
    import lamina

    net = load(model)
    pair = None
    names = None
    if data is not None:
        x, y, names = inputs.load_test_split(data, limit)
        pair = (inputs.fit_dataset(x, image_layout(net), data), y.astype(np.int64))
    if class_names is not None:
        classes = int(single(net.output_shape, "output")[-1] or 0)
        names = inputs.read_class_names(class_names, classes)
    target = out if out is not None else Path(f"{model.stem}_report.html")
    written = lamina.report(net, history=None, data=pair, path=target, class_names=names)
    typer.echo(f"Report written to {written}")


EXPORT_SUFFIXES = {".onnx": "onnx", ".pt2": "torch"}


@app.command()
def convert(
    source: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="The model to read.", show_default=False),
    ],
    target: Annotated[
        Path,
        typer.Argument(
            help=(
                "The file to write; its suffix picks the format: .lamina, .keras, .h5, or "
                ".onnx / .pt2 for an inference export."
            ),
            show_default=False,
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace TARGET if it exists.")] = False,
    input_shape: Annotated[
        list[str] | None,
        typer.Option(
            "--input-shape",
            metavar="D1,D2,...",
            help=(
                "Export only: one sample's shape (no batch axis), once per input, for a "
                "model that leaves axes open, e.g. a recurrent model's steps: 50,4."
            ),
            show_default=False,
        ),
    ] = None,
) -> None:
    """Convert a model file to another format, or export it for inference.

    .lamina/.keras/.h5: architecture, weights and compile settings. .onnx (onnxruntime)
    and .pt2 (torch.export, loads in plain PyTorch): the inference call, batch size open.
    Written atomically (an error leaves no partial file).
    """
    fmt = EXPORT_SUFFIXES.get(target.suffix.lower())
    if fmt is None:
        check_output_suffix(target)
        if input_shape:
            raise CliError(
                "Expected --input-shape only with an .onnx or .pt2 TARGET, received: "
                f"target={str(target)!r}",
                USAGE,
            )
    if target.exists() and not force:
        raise CliError(
            f"Expected a new output file, received: target={str(target)!r} exists "
            "(--force replaces it)"
        )
    model = load(source)
    if fmt is None:
        model.save(target)
    else:
        signature = [(None, *_sample_shape(text)) for text in input_shape or []] or None
        try:
            model.export(target, format=fmt, verbose=False, input_signature=signature)
        except ValueError as error:
            if "input_signature" not in str(error):
                raise
            raise CliError(f"{error} On the command line: --input-shape D1,D2,...") from error
    typer.echo(f"Converted {source} -> {target}")


def _sample_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(part) for part in text.split(","))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise CliError(
            f"Expected --input-shape as positive sizes separated by commas (50,4), "
            f"received: {text!r}",
            USAGE,
        )
    return dims


app.command()(serve)
