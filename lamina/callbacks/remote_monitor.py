"""RemoteMonitor: POST each epoch's logs to an HTTP server (Keras's arguments).

Uses only the standard library (`urllib.request`), and only when an epoch ends: importing
Lamina never touches the network. An unreachable server gives a warning, as in Keras,
and training goes on.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.distributed.env import is_main_process


class RemoteMonitor(Callback):
    """Send `{"epoch": epoch, **logs}` to `root + path` at every epoch end.

    As a form field `field` holding the JSON text (default), or as a JSON body with
    `send_as_json=True`. `headers`: extra HTTP headers.
    """

    def __init__(
        self,
        root: str = "http://localhost:9000",
        path: str = "/publish/epoch/end/",
        field: str = "data",
        headers: dict[str, str] | None = None,
        send_as_json: bool = False,
        timeout: float = 10.0,
    ):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def _request(self, send: dict[str, Any]) -> Any:
        import urllib.parse  # the network modules load only when an epoch is sent
        import urllib.request

        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urllib.request.Request(self.root + self.path, data=body, headers=headers)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not is_main_process():
            return
        send: dict[str, Any] = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self._request(send), timeout=self.timeout):
                pass
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
