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

_SAVER = textwrap.dedent(
    """
    import sys, numpy as np, lamina
    from lamina import layers
    path, suffix = sys.argv[1], sys.argv[2]
    model = lamina.Sequential([layers.Input((512,)), layers.Dense(2048), layers.Dense(512)])
    model.compile("adam", "mse")
    x = np.zeros((4, 512), np.float32)
    model.fit(x, x, epochs=1, verbose=0)
    print("ready", flush=True)
    i = 0
    while True:  # alternate two states: every file on disk must be one of them, whole
        for w in model.weights:
            w.data.fill_(float(i % 2))
        model.save(path)
        i += 1
    """
)


@pytest.mark.parametrize("suffix", [".lamina", ".keras", ".h5"])
def test_a_save_killed_at_random_moments_leaves_a_whole_file(tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    rng = random.Random(0)
    outcomes = {"state0": 0, "state1": 0}
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(path), suffix], stdout=subprocess.PIPE
        )
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.6))  # somewhere inside one of the saves
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not path.exists():
            continue  # killed before the first rename
        model = lamina.models.load_model(path)
        values = {float(v) for w in model.get_weights() for v in np.unique(w)}
        assert values in ({0.0}, {1.0}), values  # one whole state, never a mix
        outcomes[f"state{int(values.pop())}"] += 1
    assert sum(outcomes.values()) >= KILLS // 2
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
