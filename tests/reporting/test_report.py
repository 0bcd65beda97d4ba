"""The training report in a real browser: headless Chromium renders it, the screenshot shows
every section in order with its plots drawn, and the page requests nothing from the network.

Each section's heading carries a solid colour band of its own (lamina.reporting.page.BANDS):
the test finds the bands in the screenshot, in order, and finds every embedded PNG, pixel
for pixel, between its section's band and the next. A broken image (an icon and alt text)
cannot match. Chromium's net log lists the requests the page made; a control page with
remote images shows that such requests do appear in it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lamina.reporting.page import BAND_HEIGHT, BANDS, PAGE_WIDTH
from tests.reporting.report_html import decode_png

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: `make system-deps` installs Debian's chromium, "
    "which these tests render the HTML report in",
)

FLAGS = [
    "--headless",
    "--no-sandbox",  # tests may run as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",  # one image pixel is one screenshot pixel
    "--force-color-profile=srgb",
    # nothing resolves, so not even the browser's own background requests leave the machine
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def render(page: Path, out: Path, width: int, height: int) -> tuple[np.ndarray, list[dict]]:
    """Chromium's screenshot of `page` (RGB array) and the URL requests of its net log."""
    from PIL import Image

    shot, net_log = out / "screenshot.png", out / "net_log.json"
    command = [
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={out / 'profile'}",
        f"--window-size={width},{height}",
        f"--screenshot={shot}",
        f"--log-net-log={net_log}",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-3000:]
    return packed(np.asarray(Image.open(shot).convert("RGB"))), url_requests(net_log)


def url_requests(net_log: Path) -> list[dict]:
    """The params of every URL_REQUEST_START_JOB event: url, initiator, ..."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]
        for event in log["events"]
        if event["type"] == start_job and "url" in event.get("params", {})
    ]


def page_requests(requests: list[dict]) -> list[str]:
    """URLs the page asked for. The browser's own background requests (updates, clock,
    sign-in) carry no initiating origin: Chromium logs them as 'not an origin'."""
    return [r["url"] for r in requests if r.get("initiator") != "not an origin"]


def packed(rgb: np.ndarray) -> np.ndarray:
    """RGB (..., 3) uint8 as one int32 per pixel, so pixels compare in one operation."""
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def find_bands(shot: np.ndarray, min_run: int) -> list[tuple[str, int, int]]:
    """(section, top row, height) of each horizontal band of a BANDS colour, top to bottom."""
    bands = []
    for key, (_, colour) in BANDS.items():
        rows = np.flatnonzero((shot == int(colour[1:], 16)).sum(axis=1) >= min_run)
        for run in np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if rows.size else []:
            bands.append((key, int(run[0]), len(run)))
    return sorted(bands, key=lambda band: band[1])


def locate(shot: np.ndarray, image: np.ndarray) -> list[tuple[int, int]]:
    """Top-left corners where `image` appears in `shot`, every pixel equal (both packed).

    Candidates come from a 16-pixel run of the image's most varied row; each is then
    compared whole."""
    (h, w), (big_h, big_w) = image.shape, shot.shape
    row = int(np.argmax([len(np.unique(r)) for r in image]))
    k = min(16, w)
    inked = (image[row] != 0xFFFFFF).astype(int)
    col = int(np.argmax(np.convolve(inked, np.ones(k, dtype=int), "valid")))
    hits = np.ones((big_h, big_w - k + 1), dtype=bool)
    for j in range(k):
        hits &= shot[:, j : big_w - k + 1 + j] == image[row, col + j]
    found = []
    for y, x in np.argwhere(hits):
        top, left = int(y) - row, int(x) - col
        if 0 <= top <= big_h - h and 0 <= left <= big_w - w:
            if np.array_equal(shot[top : top + h, left : left + w], image):
                found.append((top, left))
    return found


@pytest.fixture(scope="module")
def rendered(written):
    """The report of the trained CNN rendered once, in a window tall enough for all of it."""
    heights = [
        decode_png(src).shape[0] for s in written.parsed.sections.values() for src in s.images
    ]
    shot, requests = render(written.path, written.folder, PAGE_WIDTH + 100, sum(heights) + 1800)
    return written.path, written.html, written.parsed, shot, requests


def test_report_renders_every_section_in_order_with_its_images(rendered):
    path, html, parsed, shot, _ = rendered
    assert path.name == "report.html" and path.is_file()
    bands = find_bands(shot, min_run=PAGE_WIDTH - 64)
    assert [key for key, _, _ in bands] == list(BANDS), bands
    assert all(height == BAND_HEIGHT for _, _, height in bands), bands
    # every section below a band holds something: text or images, not a blank
    edges = [top for _, top, _ in bands] + [shot.shape[0]]
    for (key, top, height), bottom in zip(bands, edges[1:]):
        body = shot[top + height : bottom]
        darkest = np.maximum(np.maximum(body >> 16, (body >> 8) & 0xFF), body & 0xFF)
        assert (darkest < 128).any(), f"section {key} shows no text or image"
    assert (shot[edges[-2] + BAND_HEIGHT :] == 0xFFFFFF).mean() > 0.9  # the page ended above
    # every embedded image, found pixel for pixel inside its own section
    expected_images = {"curves": 1, "mistakes": 1, "confusion": 1, "filters": 1}
    assert {k: len(s.images) for k, s in parsed.sections.items() if s.images} == expected_images
    where = {key: (top, bottom) for (key, top, _), bottom in zip(bands, edges[1:])}
    for key in expected_images:
        image = packed(decode_png(parsed.sections[key].images[0]))
        assert len(np.unique(image)) > 16  # a plot, not a blank
        top, bottom = where[key]
        spots = locate(shot, image)
        assert len(spots) == 1, f"{key}: image found {len(spots)} times"
        assert top < spots[0][0] and spots[0][0] + image.shape[0] < bottom, (key, spots, top)
    assert "error" not in " ".join(c for s in parsed.sections.values() for c in s.classes)


def test_report_requests_nothing_from_the_network(rendered, tmp_path):
    path, html, parsed, _, requests = rendered
    # static: no remote address anywhere, every URL-bearing attribute a data: URI, no scripts
    assert re.search(r"(?:https?|ftp|wss?|file)://", html) is None
    assert "url(" not in html and "@import" not in html  # nothing fetched from CSS either
    assert parsed.urls and all(
        value.startswith("data:image/png;base64,") for _, _, value in parsed.urls
    )
    assert not parsed.tags & {"script", "link", "iframe", "object", "embed", "base", "form"}
    csp = [m["content"] for m in parsed.meta if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]
    # in the browser: the page asked for nothing (file: and data: loads never reach the net stack)
    assert page_requests(requests) == []
    # the check can fail: a page with remote images and a style sheet shows its requests
    control = tmp_path / "control.html"
    control.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="http://127.0.0.1:9/s.css">'
        '</head><body><p>control</p><img src="http://127.0.0.1:9/probe.png">'
        '<img src="https://lamina.invalid/x.png"></body></html>'
    )
    _, control_requests = render(control, tmp_path, 400, 300)
    assert set(page_requests(control_requests)) == {
        "http://127.0.0.1:9/s.css",
        "http://127.0.0.1:9/probe.png",
        "https://lamina.invalid/x.png",
    }
