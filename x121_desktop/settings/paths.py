"""The only place that decides where X121 keeps files on this machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "X121_HOME"


@dataclass(frozen=True, slots=True)
class StudioPaths:
    """Folders under one X121 home; nothing here creates them."""

    home: Path

    @property
    def settings_file(self) -> Path:
        return self.home / "settings.toml"

    @property
    def pgdata(self) -> Path:
        return self.home / "db" / "pgdata"

    @property
    def lan_server_dir(self) -> Path:
        return self.home / "db" / "lan"

    @property
    def media_root(self) -> Path:
        return self.home / "media"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> StudioPaths:
    """--home, then $X121_HOME, then the platform's per-user data folder."""
    if explicit:
        return StudioPaths(Path(explicit).expanduser().resolve())
    env = os.environ.get(HOME_ENV)
    if env:
        return StudioPaths(Path(env).expanduser().resolve())
    import platformdirs

    return StudioPaths(Path(platformdirs.user_data_dir("x121-studio", appauthor=False)))
