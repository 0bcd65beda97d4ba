"""The one error the command's own checks raise: a message line and an exit code."""

from __future__ import annotations

USAGE = 2  # a wrong name or argument: what click's own usage errors exit with
FAILURE = 1  # the command could not do its work: a broken file, a model that does not fit


class CliError(Exception):
    """A failure to report as one line, `lamina: error: <message>`, exiting with `code`."""

    def __init__(self, message: str, code: int = FAILURE) -> None:
        super().__init__(message)
        self.code = code
