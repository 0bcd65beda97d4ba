"""Images/s of the folder pipeline: Lamina's flow_from_directory against tf.keras's.

A folder of 10,000 JPEGs of 500x375 (`image_folder_data.py`) is read at 150x150 with
the courses' augmentation (rescale, rotation 40 degrees, zoom 0.2, horizontal flips),
batch 32, class_mode 'binary', by
- tf.keras 2's `ImageDataGenerator.flow_from_directory` in the TF venv
  (`peer_keras_images.py`): every epoch decodes the JPEGs again;
- Lamina's, with `cache=True` (a fresh cache folder): the first epoch decodes in worker
  processes and fills the memmap cache; later epochs read it and only augment. The
  batches are taken the way `fit` takes them (`device_epoch`: uint8 to the device,
  converted and augmented there).
The two run one after the other in the same run (never at the same time), Keras first.
Targets (issue 4): first epoch >= 2x Keras's images/s, cached epochs >= 10x.

    python benchmarks/image_pipeline.py                 # 10,000 images, writes RESULTS.md
    python benchmarks/image_pipeline.py --images 1000 --no-write
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import envs  # noqa: E402
import image_folder_data  # noqa: E402
import report  # noqa: E402
from peer_keras_images import AUGMENT  # noqa: E402

SECTION = "image-pipeline"
SIZE, BATCH = 150, 32


def keras_epochs(folder: Path, epochs: int) -> tuple[list[float], str]:
    """tf.keras's images/s per epoch, or ([], why not)."""
    python, status = envs.ensure_env("tf")
    if python is None:
        return [], f"TF env unavailable: {status}"
    cmd = [str(python), str(HERE / "peer_keras_images.py"), "--dir", str(folder)]
    cmd += ["--epochs", str(epochs), "--batch", str(BATCH), "--size", str(SIZE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    rates = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rates.append(row["images"] / row["seconds"])
    why = "" if rates else f"failed: {proc.stderr.strip().splitlines()[-1:]}"
    return rates, why


def lamina_epochs(
    folder: Path, epochs: int, cache_dir: Path, workers: int | None = None
) -> tuple[list[float], str]:
    """Lamina's images/s per epoch (the first one decodes and fills the cache)."""
    import torch

    from lamina.preprocessing.image import ImageDataGenerator

    it = ImageDataGenerator(**AUGMENT).flow_from_directory(
        str(folder),
        target_size=(SIZE, SIZE),
        batch_size=BATCH,
        class_mode="binary",
        cache=str(cache_dir),
        workers=workers,
    )
    device = torch.device("cpu")
    rates = []
    for _ in range(epochs):
        start, images = time.perf_counter(), 0
        for x, _, _ in it.device_epoch(device):
            images += int(x.shape[0])
        rates.append(images / (time.perf_counter() - start))
    workers = getattr(it.folder, "num_workers", "?")
    return rates, f"decode workers: {workers}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--keras-epochs", type=int, default=2)
    ap.add_argument("--lamina-epochs", type=int, default=4)
    ap.add_argument(
        "--workers", type=int, default=None, help="decoder processes (default: Lamina's)"
    )
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    folder = image_folder_data.make(args.images)
    print(f"folder {folder} ({args.images} JPEGs)", flush=True)
    keras, keras_note = keras_epochs(folder, args.keras_epochs)
    print(f"tf.keras images/s per epoch: {[round(r) for r in keras]} {keras_note}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lamina-image-cache-") as tmp:
        lamina, lamina_note = lamina_epochs(folder, args.lamina_epochs, Path(tmp), args.workers)
    print(f"Lamina images/s per epoch: {[round(r) for r in lamina]} ({lamina_note})", flush=True)
    if not keras or not lamina:
        print("no comparison: " + (keras_note or "Lamina failed"))
        return
    keras_rate = statistics.median(keras)
    first, cached = lamina[0], statistics.median(lamina[1:])
    lines = [
        "## Image pipeline: folder of JPEGs to augmented batches",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; command: "
        f"`python benchmarks/image_pipeline.py --images {args.images}`",
        f"- {args.images:,} JPEGs of 500x375 / 375x500 (`lamina.datasets.demo_folder`) read at "
        f"{SIZE}x{SIZE}, batch {BATCH}, augmentation {AUGMENT}, class_mode 'binary'",
        f"- tf.keras 2 `flow_from_directory`: {', '.join(f'{r:,.0f}' for r in keras)} images/s "
        f"per epoch (median {keras_rate:,.0f}); it decodes every epoch",
        f"- Lamina `flow_from_directory(cache=True)`: first epoch (decode in workers, fill the "
        f"cache) {first:,.0f} images/s; cached epochs "
        f"{', '.join(f'{r:,.0f}' for r in lamina[1:])} (median {cached:,.0f}); {lamina_note}",
        f"- **First epoch: {first / keras_rate:.2f}x** tf.keras (target >= 2: "
        f"{'meets' if first / keras_rate >= 2 else 'MISSES'}); "
        f"**cached epochs: {cached / keras_rate:.2f}x** (target >= 10: "
        f"{'meets' if cached / keras_rate >= 10 else 'MISSES'})",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        report.write_results(text, SECTION)


if __name__ == "__main__":
    main()
