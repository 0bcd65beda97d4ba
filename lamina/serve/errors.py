"""The one error the server's checks raise: an HTTP status and a message for the client.

Every refusal reads as the rest of Lamina's errors do, `Expected ..., received: ...`,
and goes back as TF Serving's error body, `{"error": "<message>"}`.
"""

from __future__ import annotations


class ServeError(Exception):
    """A request the server answers with `status` and `{"error": message}`; `headers`
    adds response headers (`Allow` for 405, `WWW-Authenticate` for 401)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def shown(value: object, limit: int = 80) -> str:
    """`repr(value)` cut to `limit` characters: client text echoed in an error stays short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
