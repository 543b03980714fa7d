from __future__ import annotations

from pathlib import Path

import pytest

from x121_desktop.core.errors import ConfigError
from x121_desktop.settings.model import Settings, load_settings, save_settings
from x121_desktop.settings.paths import StudioPaths, resolve_home


def test_roundtrip_and_defaults(tmp_path: Path) -> None:
    paths = StudioPaths(tmp_path)
    assert load_settings(paths) == Settings()
    saved = Settings(database_url='postgresql://a@"h"/x121', theme="neon-light")
    save_settings(paths, saved)
    assert load_settings(paths) == saved
    assert paths.settings_file.stat().st_mode & 0o777 == 0o600, "may hold a URL: private to the user"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[studio\n", "not valid TOML"),
        ("[studio]\ncolour = 'red'\n", "unknown key 'studio.colour'"),
        ("[studio]\nversion = 99\n", "settings version 99 is newer"),
    ],
)
def test_bad_settings_name_file_and_key(tmp_path: Path, content: str, message: str) -> None:
    paths = StudioPaths(tmp_path)
    paths.settings_file.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(paths)
    assert str(paths.settings_file) in info.value.sentence


def test_home_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X121_HOME", str(tmp_path / "env"))
    assert resolve_home().home == tmp_path / "env"
    assert resolve_home(tmp_path / "flag").home == tmp_path / "flag"
