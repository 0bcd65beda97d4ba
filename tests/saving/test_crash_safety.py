"""A save killed with SIGKILL, or stopped by a full disk, leaves the previous file intact
and loadable: writes go to a temporary file beside the target, fsynced, then renamed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import lamina

KILLS = int(os.environ.get("LAMINA_CRASH_KILLS", "8"))

# One process imports Lamina and trains once; each kill round forks a child that saves in
# a loop until the test kills it (a fresh interpreter per kill cost seconds of imports).
_SAVER = textwrap.dedent(
    """
    import os, sys, numpy as np, torch, lamina
    from lamina import layers
    torch.set_num_threads(1)  # no thread pool for the forked children to inherit
    path = sys.argv[1]
    model = lamina.Sequential([layers.Input((512,)), layers.Dense(2048), layers.Dense(512)])
    model.compile("adam", "mse")
    x = np.zeros((4, 512), np.float32)
    model.fit(x, x, epochs=1, verbose=0)
    print("ready", flush=True)
    for _ in sys.stdin:  # a line: one more child to kill
        child = os.fork()
        if child == 0:
            i = 0
            while True:  # alternate two states: every file on disk must be one of them, whole
                for w in model.weights:
                    w.data.fill_(float(i % 2))
                model.save(path)
                if i == 0:
                    print(os.getpid(), flush=True)  # a whole file is there from now on
                i += 1
        os.waitpid(child, 0)
        print("reaped", flush=True)
    """
)


@pytest.mark.parametrize("suffix", [".lamina", ".keras", ".h5"])
def test_a_save_killed_at_random_moments_leaves_a_whole_file(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    rng = random.Random(0)
    outcomes = {"state0": 0, "state1": 0}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SAVER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout.readline().strip() == b"ready"
        for _ in range(KILLS):
            proc.stdin.write(b"save\n")
            proc.stdin.flush()
            child = int(proc.stdout.readline())  # its first save is whole on disk
            time.sleep(rng.uniform(0.05, 0.6))  # somewhere inside one of the next saves
            os.kill(child, signal.SIGKILL)
            assert proc.stdout.readline().strip() == b"reaped"
            model = lamina.models.load_model(path)
            values = {float(v) for w in model.get_weights() for v in np.unique(w)}
            assert values in ({0.0}, {1.0}), values  # one whole state, never a mix
            outcomes[f"state{int(values.pop())}"] += 1
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert sum(outcomes.values()) == KILLS
    print(json.dumps({"kills": KILLS, **outcomes}))


_FULL_DISK = textwrap.dedent(
    """
    import resource, sys, numpy as np, lamina
    from lamina import layers
    path = sys.argv[1]
    limit = 256 * 1024  # the 'disk' fills at 256 KiB: the big model can't fit
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    model = lamina.Sequential([layers.Input((256,)), layers.Dense(1024)])  # ~1 MiB of weights
    try:
        model.save(path)
    except OSError as err:
        print("failed", err.errno, flush=True)
    """
)


def test_a_full_disk_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "m.lamina"
    small = lamina.Sequential([lamina.layers.Input((4,)), lamina.layers.Dense(2)])
    small.save(path)
    before = path.read_bytes()
    out = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path)], capture_output=True, timeout=120
    )
    assert out.stdout.split()[:1] == [b"failed"], out.stderr.decode()[-2000:]
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lamina"]
    x = np.ones((1, 4), np.float32)
    np.testing.assert_array_equal(
        lamina.models.load_model(path).predict(x, verbose=0), small.predict(x, verbose=0)
    )
