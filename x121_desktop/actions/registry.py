"""The action registry: every studio command is declared once, here, as plain data.

Menus, toolbars, context menus, shortcuts and the command palette are views of the registry
(ARCHITECTURE.md §6.9). An action has a stable dotted id (`playback.play_pause`), a title, a
category (its menu), a scope (where its shortcut is live), the name of the predicate that enables
it, and default shortcut hints (the `default` keymap must agree with them; a test checks).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from x121_desktop.actions.keys import normalize_sequence

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

#: Where an action's shortcut is live. `app` is window-wide and so overlaps every other scope;
#: `timeline` covers the player, timeline and review views; `graph` the node editor.
SCOPES: tuple[str, ...] = ("app", "timeline", "graph")

#: Predicate names an action may be enabled by; the ui supplies their truth (ui/actions_qt.py).
PREDICATES: dict[str, str] = {
    "always": "always enabled",
    "has_project": "a project is open",
    "has_media": "the player has a clip loaded",
    "has_seams": "the loaded scene has at least one seam",
    "has_segment_selection": "one or more segments are selected",
    "has_take_selection": "a take is selected",
    "has_scene_selection": "a scene is selected",
    "has_job_selection": "a job is selected in the queue",
    "has_selection": "the focused view has a selection",
    "can_undo": "the undo stack has something to undo",
    "can_redo": "the undo stack has something to redo",
    "has_graph": "a workflow graph is open",
    "has_graph_selection": "nodes are selected in the graph",
}


def scopes_overlap(a: str, b: str) -> bool:
    """Two shortcuts can fire in the same place: same scope, or one of them is window-wide."""
    return a == b or "app" in (a, b)


@dataclass(frozen=True, slots=True)
class Action:
    """One command. Frozen: views read it, nothing changes it."""

    id: str
    title: str
    category: str
    scope: str = "app"
    enabled_when: str = "always"
    default_keys: tuple[str, ...] = ()
    description: str = ""
    checkable: bool = False

    @property
    def search_text(self) -> str:
        """What the palette matches against besides the title."""
        return f"{self.category} {self.id} {self.description}".strip()


class ActionRegistry:
    """Actions by id, in declaration order. Registering a bad or duplicate action is a programming error."""

    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            self.register(action)

    def register(self, action: Action) -> Action:
        if not _ID.match(action.id):
            raise ValueError(f"action id '{action.id}' must be dotted lower_snake words, e.g. 'playback.play_pause'")
        if action.id in self._actions:
            raise ValueError(f"action '{action.id}' is declared twice")
        if action.scope not in SCOPES:
            raise ValueError(f"action '{action.id}' has unknown scope '{action.scope}' (one of {', '.join(SCOPES)})")
        if action.enabled_when not in PREDICATES:
            raise ValueError(f"action '{action.id}' uses unknown predicate '{action.enabled_when}'")
        if not action.title.strip() or not action.category.strip():
            raise ValueError(f"action '{action.id}' needs a title and a category")
        for keys in action.default_keys:
            if normalize_sequence(keys) != keys:
                raise ValueError(f"action '{action.id}': write '{keys}' as '{normalize_sequence(keys)}'")
        self._actions[action.id] = action
        return action

    def get(self, action_id: str) -> Action:
        try:
            return self._actions[action_id]
        except KeyError:
            raise KeyError(f"no action '{action_id}' is registered") from None

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._actions

    def __iter__(self) -> Iterator[Action]:
        return iter(self._actions.values())

    def __len__(self) -> int:
        return len(self._actions)

    def ids(self) -> tuple[str, ...]:
        return tuple(self._actions)

    def categories(self) -> dict[str, tuple[Action, ...]]:
        """Category → its actions, both in declaration order (menus are built from this)."""
        out: dict[str, list[Action]] = {}
        for action in self._actions.values():
            out.setdefault(action.category, []).append(action)
        return {name: tuple(actions) for name, actions in out.items()}

    def default_bindings(self) -> dict[str, tuple[str, ...]]:
        """Action id → its default key hints, for actions that have any."""
        return {a.id: a.default_keys for a in self._actions.values() if a.default_keys}

    def is_enabled(self, action_id: str, predicate: Callable[[str], bool]) -> bool:
        """Whether an action is enabled, given the truth of predicate names (`always` is always true)."""
        name = self.get(action_id).enabled_when
        return name == "always" or predicate(name)
