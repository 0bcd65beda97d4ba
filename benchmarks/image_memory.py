"""Memory of flow_from_directory on large folders: does it stay bounded as the folder grows?

Issue 4 asks that a folder of 100,000 images works within a fixed memory bound: images
stream from disk (decoded in worker processes, then read from the memory-mapped cache)
and are never all held decoded in RAM. This script writes folders of small JPEGs
(64x48 / 48x64, two classes, `lamina.datasets.demo_folder`, into `.bench-data/`) and, for
each folder size in its own fresh process, runs one decoding epoch (filling the cache)
and one cached epoch of `flow_from_directory(target_size=(64, 64), cache=...)` with the
courses' augmentation, sampling the process's memory every 20 batches:
- anonymous memory (`RssAnon` in /proc/self/status): what the pipeline allocates;
- file-backed resident pages (`RssFile`): the memmap's pages in the OS page cache,
  which the kernel reclaims under pressure (they are not the pipeline's to free).
The decoded data of the largest folder is several times the bound it must stay under.

    python benchmarks/image_memory.py                       # 10,000 and 100,000 images, writes RESULTS.md
    python benchmarks/image_memory.py --sizes 2000 --no-write
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402
from image_folder_data import ROOT  # noqa: E402
from peer_keras_images import AUGMENT  # noqa: E402

SECTION = "image-memory"
SIZES = ((64, 48), (48, 64))
TARGET, BATCH = 64, 32


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def measure(folder: str, cache_dir: str) -> dict[str, float]:
    """In a fresh process: peak RssAnon / RssFile (MiB) of a decoding and a cached epoch."""
    from lamina.preprocessing.image import ImageDataGenerator

    start_anon = _status_kib("RssAnon")
    it = ImageDataGenerator(**AUGMENT).flow_from_directory(
        folder,
        target_size=(TARGET, TARGET),
        batch_size=BATCH,
        class_mode="binary",
        cache=cache_dir,
    )
    out: dict[str, float] = {"samples": it.samples, "start_anon": start_anon / 1024}
    for label in ("decode", "cached"):
        peak_anon = peak_file = 0
        t0 = time.perf_counter()
        for i, _batch in enumerate(_batches(it)):
            if i % 20 == 0:
                peak_anon = max(peak_anon, _status_kib("RssAnon"))
                peak_file = max(peak_file, _status_kib("RssFile"))
        out[f"{label}_anon"] = peak_anon / 1024
        out[f"{label}_file"] = peak_file / 1024
        out[f"{label}_rate"] = it.samples / (time.perf_counter() - t0)
    it.close()
    return out


def _batches(it):  # one epoch of the iterator, as fit takes it
    import torch

    for x, y, _ in it.device_epoch(torch.device("cpu")):
        yield x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated image counts")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    from lamina.datasets import demo_folder

    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        t0 = time.perf_counter()
        folder = demo_folder.write(ROOT / f"jpeg-small-{n}", images=n, sizes=SIZES, seed=1)
        print(f"folder {folder}: {n} JPEGs ({time.perf_counter() - t0:.0f} s)", flush=True)
        with tempfile.TemporaryDirectory(prefix="lamina-image-memory-") as tmp:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), tmp],
                capture_output=True,
                text=True,
            )
        if proc.returncode:
            print(proc.stderr[-3000:])
            raise SystemExit(f"the measurement for {n} images failed")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["decoded_mib"] = n * TARGET * TARGET * 3 / 2**20
        print(res, flush=True)
        rows.append(res)
    lines = [
        "## Image pipeline memory: folders of "
        + " and ".join(f"{r['samples']:,}" for r in rows)
        + " JPEGs",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; command: "
        f"`python benchmarks/image_memory.py --sizes {args.sizes}`",
        f"- JPEGs of 64x48 / 48x64 read at {TARGET}x{TARGET} with augmentation {AUGMENT}, "
        f"batch {BATCH}, `cache=` a fresh folder; one decoding epoch, then one cached epoch; "
        "peaks sampled every 20 batches in the training process (the decoder worker is "
        "a separate process of about the same size for every folder)",
        "",
        "| images | decoded size (MiB) | anonymous RSS before | peak anonymous RSS, decode "
        "epoch | peak anonymous RSS, cached epoch | peak file-backed RSS (memmap pages) | "
        "images/s decode / cached |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {int(r['samples']):,} | {r['decoded_mib']:,.0f} | {r['start_anon']:,.0f} | "
            f"{r['decode_anon']:,.0f} | {r['cached_anon']:,.0f} | "
            f"{max(r['decode_file'], r['cached_file']):,.0f} | "
            f"{r['decode_rate']:,.0f} / {r['cached_rate']:,.0f} |"
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        report.write_results(text, SECTION)


if __name__ == "__main__":
    main()
