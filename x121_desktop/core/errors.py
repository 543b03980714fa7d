"""The X121 error tree.

Every error a person can cause or fix carries one sentence saying what is wrong and
what to do (`problem` + `fix`), so the CLI and the UI can show it without a traceback.
"""

from __future__ import annotations


class X121Error(Exception):
    """Base of every error the studio reports to a person."""

    exit_code = 1

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(self.sentence)

    @property
    def sentence(self) -> str:
        problem = self.problem.rstrip(".")
        return f"{problem}. {self.fix}" if self.fix else f"{problem}."


class ConfigError(X121Error):
    """A settings, theme, keymap or manifest file is wrong."""


class DatabaseError(X121Error):
    """The database cannot be reached, refuses us, or has the wrong schema."""

    exit_code = 3


class PermissionDenied(X121Error):
    """PostgreSQL refused an act for the signed-in role."""

    exit_code = 4


class NotFound(X121Error):
    """A named thing (user, server, workflow, scene, file) does not exist."""

    exit_code = 5


class InvalidInput(X121Error):
    """A file or value given by the user cannot be used."""

    exit_code = 2


class MediaError(InvalidInput):
    """A media file cannot be probed, decoded or encoded."""


class ComfyError(X121Error):
    """A ComfyUI server is unreachable, misbehaves or rejects a workflow."""

    exit_code = 6


class Cancelled(X121Error):
    """Long work was cancelled by its CancelToken."""

    exit_code = 130

    def __init__(self, what: str = "The operation") -> None:
        super().__init__(f"{what} was cancelled")
