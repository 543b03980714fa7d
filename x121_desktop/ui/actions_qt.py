"""QActions from the action registry and a keymap: the one place shortcuts meet Qt.

Integration (the main window only assembles):

    registry = build_registry()
    choice = choose_keymap(settings.keymap, registry)      # falls back to `default` with warnings
    actions = bind(registry, choice.keymap, window)         # dict[action_id, QAction], on the window
    build_menus(window.menuBar(), registry, actions)         # menus are views of the registry
    actions["app.quit"].triggered.connect(window.close)
    attach_scope(actions, registry, "graph", node_editor)    # graph keys live only in the node editor
    update_enabled(actions, registry, predicates.__contains__)  # after selection / undo changes
    rebind(actions, new_keymap)                              # switch preset or apply overrides live

App-scope shortcuts are window-wide. Scoped actions (`timeline`, `graph`) are window-wide too until
their view claims them with `attach_scope`; two scopes may reuse a key (F: fit graph / clear out),
so views must attach their scope before both are on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from x121_desktop.actions.keymap import Keymap
from x121_desktop.actions.registry import Action, ActionRegistry

ACTION_ID_PROPERTY = "x121_action_id"


def key_sequences(keys: tuple[str, ...]) -> list[QKeySequence]:
    """Canonical key strings (Qt PortableText) → QKeySequences; an unreadable one is a bug, not input."""
    out = []
    for text in keys:
        seq = QKeySequence(text, QKeySequence.SequenceFormat.PortableText)
        if seq.isEmpty():
            raise ValueError(f"Qt cannot read key sequence '{text}'")
        out.append(seq)
    return out


def _tooltip(action: Action, keys: tuple[str, ...]) -> str:
    if not keys:
        return action.title
    native = QKeySequence(keys[0], QKeySequence.SequenceFormat.PortableText).toString(
        QKeySequence.SequenceFormat.NativeText
    )
    return f"{action.title}  ({native})"


def _apply_keys(qaction: QAction, action: Action, keys: tuple[str, ...]) -> None:
    qaction.setShortcuts(key_sequences(keys))
    qaction.setToolTip(_tooltip(action, keys))


def bind(registry: ActionRegistry, keymap: Keymap, window: QWidget) -> dict[str, QAction]:
    """One QAction per registered action, parented to and added on `window`, shortcuts from `keymap`."""
    actions: dict[str, QAction] = {}
    for action in registry:
        qaction = QAction(action.title, window)
        qaction.setObjectName(action.id)
        qaction.setProperty(ACTION_ID_PROPERTY, action.id)
        qaction.setCheckable(action.checkable)
        qaction.setStatusTip(action.description or action.title)
        qaction.setShortcutContext(
            Qt.ShortcutContext.WindowShortcut
            if action.scope == "app"
            else Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        _apply_keys(qaction, action, keymap.keys_for(action.id))
        window.addAction(qaction)
        actions[action.id] = qaction
    return actions


def rebind(actions: Mapping[str, QAction], registry: ActionRegistry, keymap: Keymap) -> None:
    """Switch every action to another keymap (preset change or overrides) without rebuilding anything."""
    for action_id, qaction in actions.items():
        _apply_keys(qaction, registry.get(action_id), keymap.keys_for(action_id))


def attach_scope(actions: Mapping[str, QAction], registry: ActionRegistry, scope: str, widget: QWidget) -> None:
    """Make a scope's shortcuts live only while focus is inside `widget` (and its children)."""
    for action in registry:
        if action.scope != scope:
            continue
        qaction = actions[action.id]
        for holder in qaction.associatedObjects():
            if isinstance(holder, QWidget) and not isinstance(holder, QMenu) and holder is not widget:
                holder.removeAction(qaction)
        qaction.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        widget.addAction(qaction)


def update_enabled(actions: Mapping[str, QAction], registry: ActionRegistry, predicate: Callable[[str], bool]) -> None:
    """Enable each action by its `enabled_when` predicate name."""
    for action_id, qaction in actions.items():
        qaction.setEnabled(registry.is_enabled(action_id, predicate))


def connect(actions: Mapping[str, QAction], handlers: Mapping[str, Callable[[], object]]) -> None:
    """Connect handlers by action id; an id the registry does not know is a bug and raises KeyError."""
    for action_id, handler in handlers.items():
        actions[action_id].triggered.connect(lambda _checked=False, h=handler: h())


def build_menus(
    menubar: QMenuBar,
    registry: ActionRegistry,
    actions: Mapping[str, QAction],
    categories: tuple[str, ...] | None = None,
) -> dict[str, QMenu]:
    """One menu per category (registry order unless `categories` is given), listing its actions."""
    groups = registry.categories()
    menus: dict[str, QMenu] = {}
    for name in categories if categories is not None else tuple(groups):
        menu = menubar.addMenu(name)
        menu.setObjectName(f"menu.{name.lower()}")
        for action in groups.get(name, ()):
            menu.addAction(actions[action.id])
        menus[name] = menu
    return menus
