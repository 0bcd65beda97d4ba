"""The report's HTML page: one file, inline CSS, images as data URIs, nothing fetched.

Each section's heading sits under a solid colour band of its own (`BANDS`), so a screenshot
shows at a glance, and a test can find, which sections rendered and in what order.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

# No scripts, no fonts, no remote anything: only inline styles and data: images may load.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

# section key -> (heading, band colour); in the order the report shows them.
BANDS: dict[str, tuple[str, str]] = {
    "header": ("Training report", "#263238"),
    "summary": ("Model summary", "#c2185b"),
    "curves": ("Learning curves", "#1565c0"),
    "diagnostics": ("Diagnostics", "#ef6c00"),
    "mistakes": ("Mistakes", "#2e7d32"),
    "confusion": ("Confusion matrix", "#6a1b9a"),
    "filters": ("Filters of the first convolution", "#00838f"),
    "footer": ("", "#795548"),
}

BAND_HEIGHT = 12
PAGE_WIDTH = 1100

_STYLE = f"""
body {{ margin: 0; background: #ffffff; color: #1a1a1a;
  font: 15px/1.45 "DejaVu Sans", Verdana, Arial, sans-serif; }}
main {{ width: {PAGE_WIDTH}px; max-width: 100%; margin: 0 auto; padding: 8px 16px; box-sizing: border-box; }}
section {{ margin: 0 0 28px 0; }}
.band {{ height: {BAND_HEIGHT}px; width: 100%; }}
h1, h2 {{ margin: 6px 0 10px 0; }}
h1 {{ font-size: 26px; }}
h2 {{ font-size: 20px; }}
pre {{ font: 12px/1.25 "DejaVu Sans Mono", monospace; background: #f6f6f6; padding: 8px;
  overflow-x: auto; }}
img {{ display: block; max-width: 100%; margin: 6px 0; }}
table {{ border-collapse: collapse; margin: 6px 0; }}
th, td {{ border: 1px solid #cccccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }}
.note {{ color: #555555; font-style: italic; }}
.error {{ color: #a00000; background: #fff3f3; border: 1px solid #e0b4b4; padding: 8px;
  white-space: pre-wrap; font: 12px/1.3 "DejaVu Sans Mono", monospace; }}
.ok {{ color: #1b5e20; font-weight: bold; }}
#footer {{ color: #666666; font-size: 12px; margin-bottom: 0; }}
"""


def text(value: object) -> str:
    """`value` as HTML-escaped text (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def png_data_uri(png: bytes) -> str:
    """A `data:image/png;base64,...` URI of PNG bytes."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"Expected PNG bytes, received: header={png[:8]!r}")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def image(png: bytes, alt: str) -> str:
    """An <img> of PNG bytes, embedded."""
    return f'<img src="{png_data_uri(png)}" alt="{text(alt)}">'


def paragraph(words: str, css_class: str | None = None) -> str:
    """A <p> of escaped text."""
    attr = f' class="{css_class}"' if css_class else ""
    return f"<p{attr}>{text(words)}</p>"


def error_box(where: str, err: BaseException) -> str:
    """What a section shows instead of its content when drawing it failed."""
    return (
        f'<div class="error">Could not draw {text(where)}: '
        f"{text(type(err).__name__)}: {text(err)}</div>"
    )


@dataclass
class Section:
    """One part of the report: its key in `BANDS` and its (already escaped) HTML body."""

    key: str
    body: list[str] = field(default_factory=list)
    heading: str | None = None  # replaces the heading of `BANDS` (the header shows the title)

    def render(self) -> str:
        default, colour = BANDS[self.key]
        heading = default if self.heading is None else self.heading
        level = "h1" if self.key == "header" else "h2"
        title = f"<{level}>{text(heading)}</{level}>" if heading else ""
        return (
            f'<section id="{self.key}">'
            f'<div class="band" style="background:{colour}"></div>'
            f"{title}{''.join(self.body)}</section>"
        )


def page(title: str, sections: list[Section]) -> str:
    """The whole HTML document."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{''.join(s.render() for s in sections)}</main></body></html>\n"
    )
