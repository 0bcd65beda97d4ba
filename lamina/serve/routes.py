"""TF Serving's URLs, parsed: which model, which version, and which of status, metadata
or predict; and which HTTP methods each allows.

    /v1/models/NAME[/versions/1]              GET   status
    /v1/models/NAME[/versions/1]/metadata     GET   signature
    /v1/models/NAME[/versions/1]:predict      POST  predict

The NAME part is taken as it is (after percent-decoding) and checked by the model table,
which refuses names like '..' before any lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lamina.serve.errors import ServeError, shown

_PATH = re.compile(
    r"/v1/models/(?P<name>[^/:]*)(?:/versions/(?P<version>[^/:]*))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>[^/:]*))?"
)
ALLOWED = {"status": ("GET", "HEAD"), "metadata": ("GET", "HEAD"), "predict": ("POST",)}
USAGE = "/v1/models/NAME[/versions/1] (GET), .../metadata (GET) or ...:predict (POST)"


@dataclass(frozen=True)
class Target:
    """What a URL asks for: `kind` (status, metadata, predict), the model name and the
    version it names (None: the latest)."""

    kind: str
    name: str
    version: int | None


def parse_target(path: str) -> Target:
    """The target of a /v1/models URL; 404 for other paths and versions that are not
    numbers, 400 for verbs other than predict."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise ServeError(404, f"Expected a path {USAGE}, received: path={shown(path)}")
    version_text = match["version"]
    version = None
    if version_text is not None:
        if not version_text.isdigit() or len(version_text) > 18:
            raise ServeError(
                404, f"Expected a version number, received: version={shown(version_text)}"
            )
        version = int(version_text)
    if match["metadata"]:
        return Target("metadata", match["name"], version)
    verb = match["verb"]
    if verb is None:
        return Target("status", match["name"], version)
    if verb != "predict":
        raise ServeError(
            400,
            f"Expected the verb ':predict' (Lamina serves predict only), received: {shown(verb)}",
        )
    return Target("predict", match["name"], version)


def check_method(target: Target, method: str) -> None:
    """405 with an Allow header unless `method` suits the target."""
    allowed = ALLOWED[target.kind]
    if method not in allowed:
        raise ServeError(
            405,
            f"Expected {' or '.join(allowed)} for {target.kind}, received: {shown(method)}",
            {"Allow": ", ".join(allowed)},
        )
