"""Suite-wide fixtures: every test gets its own X121 home and a plaintext keyring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the developer's real X121 home or settings."""
    home = tmp_path_factory.mktemp("x121-home")
    monkeypatch.setenv("X121_HOME", str(home))
    # keyrings.alt's plaintext keyring (the tests' backend) writes under XDG_DATA_HOME.
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    monkeypatch.delenv("X121_DATABASE_URL", raising=False)
    return home


pytest_plugins = ["tests.fixtures.database"]
