"""Image files that cannot be read: `on_bad_file='skip'` (the default) or `'raise'`.

The rule every image iterator follows (flow_from_directory, flow_from_dataframe,
image_dataset_from_directory): its `filenames`, `classes`, `labels`, `n`, `samples`,
`filepaths` / `file_paths` and `len()` describe exactly the samples it yields, in order,
so `zip(it.filenames, model.predict(it))` pairs every prediction with its own file.

- When the iterator is made, every file's header is probed (Pillow reads the format and
  size, no pixels); files that fail are dropped before anything is yielded. With a complete
  decoded-image cache the probe is skipped: the cache lists the files that failed when it
  was filled, and they are dropped the same way.
- A file whose header reads but whose pixels do not (a truncated JPEG) is found when a pass
  first decodes it. It is dropped at that moment and the attributes are updated, so once
  the pass (an epoch, a predict) is over they describe what was yielded. A pass's batches
  are fixed when it starts: the batch that held the file is one image short, and `len()`
  keeps the pass's value until the next pass begins (a loop over `range(len(it))` never
  meets a missing batch).
- Each bad file is named once, in one warning per iterator, and listed in `bad_files`.
- `on_bad_file='raise'` raises `ImageDecodeError` (a ValueError) naming the file instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from lamina.data.image_decode import ImageDecodeError, probe_image
from lamina.stacklevel import user_stacklevel

ON_BAD_FILE = ("skip", "raise")

Failure = tuple[int, str]  # (row, message naming the file)


def check_on_bad_file(on_bad_file: Any) -> str:
    """'skip' or 'raise', else a ValueError."""
    if not isinstance(on_bad_file, str) or on_bad_file not in ON_BAD_FILE:
        raise ValueError(
            f"Expected on_bad_file 'skip' or 'raise', received: on_bad_file={on_bad_file!r}"
        )
    return on_bad_file


def probe_files(paths: Sequence[str], rows: Sequence[int]) -> list[Failure]:
    """The (row, message) of every file among `rows` whose header Pillow cannot read.

    In-process and serial: a header read costs a small fraction of a decode, and Pillow's
    header parsing holds the GIL, so threads would not make it faster.
    """
    failed = []
    for row in rows:
        try:
            probe_image(paths[row])
        except ImageDecodeError as err:
            failed.append((int(row), str(err)))
    return failed


def report(failures: Sequence[Failure], on_bad_file: str) -> None:
    """Raise for the first failure ('raise'), or name every failure in one warning ('skip')."""
    if not failures:
        return
    if on_bad_file == "raise":
        raise ImageDecodeError(
            f"{failures[0][1]}. With on_bad_file='skip' such files are left out (named in a "
            "warning and listed in bad_files)."
        )
    lines = "\n".join(f"  {message}" for _, message in failures)
    warnings.warn(
        f"Skipping {len(failures)} unreadable image file(s): they are left out of filenames, "
        f"classes and n, and listed in bad_files (on_bad_file='skip').\n{lines}",
        stacklevel=user_stacklevel(),
    )
