"""The lookup layers' saved state, through Keras 3's hooks: the vocabulary as the asset
`vocabulary.txt` (special tokens first, one term per line) and the IDF weights as the
variable `idf_weights`, exactly as Keras's IndexLookup saves them, so files move between
Keras and Lamina (`lamina/saving/layer_state.py` calls these hooks)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

VOCABULARY_FILE = "vocabulary.txt"


class VocabularyState:
    """Mixin of IndexLookup: `save_own_variables`, `load_own_variables`, `save_assets`,
    `load_assets` (Keras's names and semantics)."""

    def save_own_variables(self, store: dict[str, Any]) -> None:
        if self.output_mode == "tf_idf" and self._idf is not None:
            store["idf_weights"] = self._idf.detach().cpu().numpy()

    def load_own_variables(self, store: Any) -> None:
        if self.output_mode != "tf_idf":
            return
        if "idf_weights" not in store:
            raise self._error("the variable 'idf_weights' in the saved state", keys=list(store))
        idf = np.asarray(store["idf_weights"], dtype=np.float32)
        if idf.ndim != 1:
            raise self._error("1-D idf_weights in the saved state", shape=idf.shape)
        self._idf = torch.as_tensor(idf.copy(), device=self._device_probe.device)

    def save_assets(self, dir_path: str) -> None:
        if self.input_vocabulary is not None:
            return  # the config carries it
        text = "\n".join(str(w) for w in self.get_vocabulary(include_special_tokens=True))
        with open(os.path.join(dir_path, VOCABULARY_FILE), "w", encoding="utf-8") as f:
            f.write(text)

    def load_assets(self, dir_path: str | None) -> None:
        if self.input_vocabulary is not None:
            return
        path = None if dir_path is None else os.path.join(dir_path, VOCABULARY_FILE)
        if path is None or not os.path.isfile(path):
            raise self._error(f"its saved vocabulary ({VOCABULARY_FILE})", found=None)
        with open(path, encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")  # only "\n" ends a term (a token may hold \x85)
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            return  # nothing was ever set
        idf = None
        if self.output_mode == "tf_idf":
            if self._idf is None:
                raise self._error("idf_weights loaded before the vocabulary", idf_weights=None)
            idf = self._idf.cpu().numpy()
        self._load_vocabulary(self._parse_lines(lines), idf)

    def _load_vocabulary(self, values: list[Any], idf: np.ndarray | None) -> None:
        """A saved vocabulary (special tokens first) and its already padded IDF weights."""
        self.set_vocabulary(values, None if idf is None else idf[: len(values)])
        if idf is not None:
            self._idf = torch.as_tensor(idf, device=self._device_probe.device)
