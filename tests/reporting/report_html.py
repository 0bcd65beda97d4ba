"""Read a report back: its sections' text and images, and every URL-bearing attribute."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np

URL_ATTRIBUTES = {"src", "href", "srcset", "action", "poster", "data", "background", "formaction"}


@dataclass
class ReportSection:
    text: str = ""
    images: list[str] = field(default_factory=list)  # the src of each <img>, in order
    classes: list[str] = field(default_factory=list)  # class attributes met inside


class ReportParser(HTMLParser):
    """Sections by id (in order), the tags used, and every attribute that can hold a URL."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, ReportSection] = {}
        self.tags: set[str] = set()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.meta: list[dict[str, str]] = []
        self._current: ReportSection | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        for key, value in values.items():
            if key in URL_ATTRIBUTES:
                self.urls.append((tag, key, value))
        if tag == "meta":
            self.meta.append(values)
        if tag == "section":
            self._current = self.sections.setdefault(values.get("id", "?"), ReportSection())
        if self._current is not None:
            if tag == "img":
                self._current.images.append(values.get("src", ""))
            if "class" in values:
                self._current.classes.append(values["class"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.text += data


def parse(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    parser.close()
    return parser


def decode_png(src: str) -> np.ndarray:
    """An <img>'s data URI as the RGB a browser shows on white (alpha composited), uint8."""
    from PIL import Image

    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    image = Image.open(io.BytesIO(base64.b64decode(src[len(prefix) :], validate=True)))
    assert image.format == "PNG"
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
    alpha = rgba[..., 3:] / 255.0
    return np.round(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
