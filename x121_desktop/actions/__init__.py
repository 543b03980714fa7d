"""actions layer (see ARCHITECTURE.md): the action registry, keymaps and the palette's ranking. No Qt."""

from __future__ import annotations

from x121_desktop.actions.catalog import STUDIO_ACTIONS, build_registry
from x121_desktop.actions.keymap import Conflict, Keymap, KeymapChoice, choose_keymap, find_conflicts, load_keymap
from x121_desktop.actions.palette_model import PaletteEntity, PaletteItem, RecentItems, rank
from x121_desktop.actions.registry import PREDICATES, SCOPES, Action, ActionRegistry

__all__ = [
    "PREDICATES",
    "SCOPES",
    "STUDIO_ACTIONS",
    "Action",
    "ActionRegistry",
    "Conflict",
    "Keymap",
    "KeymapChoice",
    "PaletteEntity",
    "PaletteItem",
    "RecentItems",
    "build_registry",
    "choose_keymap",
    "find_conflicts",
    "load_keymap",
    "rank",
]
