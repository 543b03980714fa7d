"""The main window's dock layout and geometry, saved per user in the database (user_settings).

Qt's `saveState`/`saveGeometry` bytes are stored base64-encoded in one jsonb document with the layout
version; a layout saved by another version (different set of docks) is ignored, not half-applied.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow

from x121_desktop.services.preferences import LAYOUT_KEY, PreferencesService

LAYOUT_VERSION = 1


def encode_layout(window: QMainWindow, version: int = LAYOUT_VERSION) -> dict[str, Any]:
    return {
        "version": version,
        "state": base64.b64encode(window.saveState(version).data()).decode("ascii"),
        "geometry": base64.b64encode(window.saveGeometry().data()).decode("ascii"),
    }


def apply_layout(window: QMainWindow, document: object, version: int = LAYOUT_VERSION) -> bool:
    """Restore a saved layout; False (and nothing changed) when it is missing, foreign or damaged."""
    if not isinstance(document, dict) or document.get("version") != version:
        return False
    try:
        state = base64.b64decode(str(document.get("state", "")), validate=True)
        geometry = base64.b64decode(str(document.get("geometry", "")), validate=True)
    except (binascii.Error, ValueError):
        return False
    if geometry:
        window.restoreGeometry(QByteArray(geometry))
    return bool(state) and window.restoreState(QByteArray(state), version)


class LayoutStore:
    def __init__(self, preferences: PreferencesService, key: str = LAYOUT_KEY) -> None:
        self._preferences = preferences
        self._key = key

    async def save(self, window: QMainWindow) -> None:
        await self._preferences.set(self._key, encode_layout(window))

    async def restore(self, window: QMainWindow) -> bool:
        return apply_layout(window, await self._preferences.get(self._key))

    async def forget(self) -> None:
        await self._preferences.delete(self._key)
