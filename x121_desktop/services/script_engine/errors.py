"""The one error a script run can end with: it failed, and here is why and its log."""

from __future__ import annotations

from pathlib import Path

from x121_desktop.core.errors import X121Error

LOG_TAIL_LINES = 20


class ScriptFailed(X121Error):
    """A script (or building its environment) exited non-zero, timed out or left no output."""

    exit_code = 7

    def __init__(self, problem: str, fix: str, *, log: str = "", log_path: Path | None = None) -> None:
        super().__init__(problem, fix)
        self.log = log
        self.log_path = log_path

    @property
    def log_tail(self) -> str:
        return "\n".join(self.log.rstrip().splitlines()[-LOG_TAIL_LINES:])


def read_log(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
