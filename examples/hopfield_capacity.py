"""A Hopfield network's memory fills up near 0.138 N patterns; it also recalls noisy letters.

Part 1, capacity: for each load P/N, `--trials` networks of N units each store P random
bipolar patterns by Hebb's rule, and every pattern, with `--noise` of its units flipped, is
recalled by asynchronous updates. The exact-recall share and the mean overlap m = s.p / N are
printed and plotted against P/N, with the Amit-Gutfreund-Sompolinsky limit 0.138 marked: the
overlap falls from about 1 to a spin-glass remnant there (more sharply as N grows), and exact
recall of every unit fails earlier.

Part 2, letters: six 10x10 letters (T L X H O C) stored in a 100-unit network by Hebb's rule
and by Storkey's; each letter with 15% of its pixels flipped is recalled by both. Letters are
correlated (they share strokes), so Hebb's rule mixes them at 0.06 N while Storkey's rule,
which subtracts the crosstalk, recalls most of them. The figure holds both parts.

    python examples/hopfield_capacity.py            # N = 500, 10 networks per load
    python examples/hopfield_capacity.py --quick    # N = 100, 4 networks per load
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _sizes import parse_sized

from lamina.classic import CRITICAL_LOAD, Hopfield, hopfield_capacity
from lamina.classic.capacity import flip_units
from lamina.plot.figure import finish, pyplot

LETTERS = {
    "T": ["##########", "##########"] + ["....##...."] * 8,
    "L": ["##........"] * 8 + ["##########"] * 2,
    "X": [
        "#........#", ".#......#.", "..#....#..", "...#..#...", "....##....",
        "....##....", "...#..#...", "..#....#..", ".#......#.", "#........#",
    ],
    "H": ["#........#"] * 4 + ["##########"] * 2 + ["#........#"] * 4,
    "O": ["..######..", ".#......#."] + ["#........#"] * 6 + [".#......#.", "..######.."],
    "C": ["..#######.", ".#........"] + ["#........."] * 6 + [".#........", "..#######."],
}  # fmt: skip

QUICK = {"units": 100, "trials": 4, "step": 0.05}
FULL = {"units": 500, "trials": 10, "step": 0.02}


def letter_patterns() -> np.ndarray:
    """(6, 100) bipolar patterns: '#' is +1, '.' is -1, row by row."""
    return np.array(
        [[1.0 if c == "#" else -1.0 for row in rows for c in row] for rows in LETTERS.values()],
        dtype=np.float32,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100, 4 networks, loads by 0.05")
    parser.add_argument("--units", type=int, help="N, default 500 (100 with --quick)")
    parser.add_argument("--trials", type=int, help="networks per load, default 10 (4 with --quick)")
    parser.add_argument("--step", type=float, help="load step, default 0.02 (0.05 with --quick)")
    parser.add_argument("--max-load", type=float, default=0.3, help="largest P/N")
    parser.add_argument("--noise", type=float, default=0.1, help="share of units flipped")
    parser.add_argument("--letter-noise", type=float, default=0.15)
    parser.add_argument("--plot", default="artifacts/hopfield_capacity.png")
    parser.add_argument("--seed", type=int, default=0)
    return parse_sized(parser, argv, QUICK, FULL)


def recall_letters(noise: float, seed: int) -> dict[str, np.ndarray]:
    """The letters, their noisy probes, and what each rule's network recalls from them."""
    letters = letter_patterns()
    probes, _ = flip_units(torch.from_numpy(letters), noise, torch.Generator().manual_seed(seed))
    out = {"stored": letters, "noisy": probes.numpy()}
    for rule in ("hebbian", "storkey"):
        out[rule] = (
            Hopfield(letters.shape[1], rule=rule, seed=seed).store(letters).recall(out["noisy"])
        )
    return out


def draw(curve, letters: dict[str, np.ndarray], path: str) -> None:
    plt = pyplot()
    fig, (ax, grid) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1.6, 1]})
    ax.plot(curve.loads, curve.overlap, "o-", label="mean overlap m")
    ax.fill_between(
        curve.loads,
        curve.overlap - curve.overlap_std,
        np.minimum(curve.overlap + curve.overlap_std, 1),
        alpha=0.2,
    )
    ax.plot(curve.loads, curve.exact, "s--", label="share recalled exactly")
    ax.axvline(CRITICAL_LOAD, color="k", ls=":", label=f"P/N = {CRITICAL_LOAD} (Amit et al.)")
    ax.set_xlabel("load P/N")
    ax.set_ylabel("recall")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(
        f"Hebbian Hopfield, N = {curve.n_units}, {curve.trials} networks per load, "
        f"{curve.noise:.0%} noise"
    )
    ax.legend(loc="lower left")
    columns = ("stored", "noisy", "hebbian", "storkey")
    tiles = [
        np.hstack([np.pad(letters[c][i].reshape(10, 10), 1, constant_values=0) for c in columns])
        for i in range(len(letters["stored"]))
    ]
    grid.imshow(np.vstack(tiles), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
    grid.set_xticks([6 + 12 * i for i in range(4)], ["stored", "noisy", "Hebb", "Storkey"])
    grid.set_yticks([])
    grid.set_title("letters recalled")
    finish(fig, path)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    loads = np.round(np.arange(args.step, args.max_load + 1e-9, args.step), 4)
    loads = np.union1d(loads, [CRITICAL_LOAD])

    start = time.perf_counter()
    curve = hopfield_capacity(args.units, loads, args.trials, args.noise, args.seed)
    elapsed = time.perf_counter() - start
    print(
        f"Capacity: N = {args.units}, {args.trials} networks per load, "
        f"{args.noise:.0%} of each probe flipped ({elapsed:.1f}s)"
    )
    for load, count, exact, overlap in curve.rows():
        print(
            f"Load {load:.3f} ({count} patterns): exact recall {exact:.2f}, overlap {overlap:.3f}"
        )

    letters = recall_letters(args.letter_noise, args.seed)
    hits = {
        rule: int((letters[rule] == letters["stored"]).all(axis=1).sum())
        for rule in ("hebbian", "storkey")
    }
    count = len(letters["stored"])
    print(
        f"Letters: {count} of 10x10 ({count / 100:.2f} N), {args.letter_noise:.0%} of pixels "
        f"flipped: Hebbian recalled {hits['hebbian']}/{count}, Storkey {hits['storkey']}/{count}"
    )
    draw(curve, letters, args.plot)
    print(f"Plot: {args.plot}")
    result = {f"overlap@{load:.3f}": m for load, _, _, m in curve.rows()}
    result.update(hebbian_letters=hits["hebbian"], storkey_letters=hits["storkey"])
    return result


if __name__ == "__main__":
    main()
