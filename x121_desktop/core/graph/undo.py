"""The editing session of one document: current state, undo/redo with merge rules, and past-tense events.

Every change goes through `push(edit)`; listeners get a `GraphEdited` event naming what changed in
which graph (found by comparing records: unchanged nodes are the same objects, so the diff is cheap).
Undo and redo restore the stored documents, so they are exact; their events are computed the same
way. `modified` is true while the document differs from the last saved (or opened) state.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from x121_desktop.core.graph.edits import Edit, Scope
from x121_desktop.core.graph.model import Graph, WorkflowDocument

MAX_STEPS = 500


@dataclass(frozen=True, slots=True)
class GraphEdited:
    """What changed in one graph: node ids as text, link ids, whether group frames changed."""

    scope: Scope
    nodes_added: frozenset[str] = frozenset()
    nodes_removed: frozenset[str] = frozenset()
    nodes_changed: frozenset[str] = frozenset()
    links_added: frozenset[int] = frozenset()
    links_removed: frozenset[int] = frozenset()
    groups_changed: bool = False
    reroutes_changed: bool = False  # native reroutes or floating links (every wire's path may change)
    reason: str = ""  # "edit", "undo", "redo", "open"

    @property
    def empty(self) -> bool:
        return not (
            self.nodes_added
            or self.nodes_removed
            or self.nodes_changed
            or self.links_added
            or self.links_removed
            or self.groups_changed
            or self.reroutes_changed
        )


def diff_graphs(scope: Scope, old: Graph, new: Graph, reason: str = "edit") -> GraphEdited:
    old_nodes = {str(n.id): n for n in old.nodes}
    new_nodes = {str(n.id): n for n in new.nodes}
    old_links = {lk.id: lk for lk in old.links}
    new_links = {lk.id: lk for lk in new.links}
    changed_links = {i for i in old_links.keys() & new_links.keys() if old_links[i] is not new_links[i]}
    return GraphEdited(
        scope=scope,
        nodes_added=frozenset(new_nodes.keys() - old_nodes.keys()),
        nodes_removed=frozenset(old_nodes.keys() - new_nodes.keys()),
        nodes_changed=frozenset(k for k in old_nodes.keys() & new_nodes.keys() if old_nodes[k] is not new_nodes[k]),
        links_added=frozenset((new_links.keys() - old_links.keys()) | changed_links),
        links_removed=frozenset((old_links.keys() - new_links.keys()) | changed_links),
        groups_changed=old.groups is not new.groups and old.groups != new.groups,
        reroutes_changed=(old.reroutes, old.floating_links) != (new.reroutes, new.floating_links),
        reason=reason,
    )


def diff_documents(old: WorkflowDocument, new: WorkflowDocument, reason: str) -> list[GraphEdited]:
    events: list[GraphEdited] = []
    for scope, graph in new.all_graphs():
        before = old.graph if scope is None else (old.subgraphs[scope].graph if scope in old.subgraphs else Graph())
        if before is not graph:
            event = diff_graphs(scope, before, graph, reason)
            if not event.empty:
                events.append(event)
    return events


@dataclass(frozen=True, slots=True)
class _Step:
    edit: Edit
    before: WorkflowDocument
    after: WorkflowDocument
    merge_key: Hashable | None


type Listener = Callable[[GraphEdited], None]


class EditSession:
    """One open document with its history. Not thread-safe: the UI thread owns it."""

    def __init__(self, document: WorkflowDocument) -> None:
        self._doc = document
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._saved: WorkflowDocument | None = document
        self._listeners: list[Listener] = []
        self._merge_open = True

    @property
    def document(self) -> WorkflowDocument:
        return self._doc

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -------------------------------------------------------------- history

    def push(self, edit: Edit) -> list[GraphEdited]:
        """Apply `edit` and record it; an edit with the same merge key as the last one folds into it."""
        after = edit.apply(self._doc)
        if after is self._doc:
            return []
        key = edit.merge_key()
        top = self._undo[-1] if self._undo else None
        if top is not None and key is not None and key == top.merge_key and self._merge_open:
            self._undo[-1] = _Step(edit, top.before, after, key)
        else:
            self._undo.append(_Step(edit, self._doc, after, key))
            del self._undo[:-MAX_STEPS]
        self._redo.clear()
        self._merge_open = True
        return self._move_to(after, "edit")

    def close_merge(self) -> None:
        """End merging (focus left a widget): the next edit starts a new step even with the same key."""
        self._merge_open = False

    def undo(self) -> list[GraphEdited]:
        if not self._undo:
            return []
        step = self._undo.pop()
        self._redo.append(step)
        self._merge_open = False
        return self._move_to(step.before, "undo")

    def redo(self) -> list[GraphEdited]:
        if not self._redo:
            return []
        step = self._redo.pop()
        self._undo.append(step)
        self._merge_open = False
        return self._move_to(step.after, "redo")

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_title(self) -> str:
        return self._undo[-1].edit.title if self._undo else ""

    @property
    def redo_title(self) -> str:
        return self._redo[-1].edit.title if self._redo else ""

    @property
    def depth(self) -> int:
        return len(self._undo)

    # -------------------------------------------------------------- saved state

    @property
    def modified(self) -> bool:
        return self._doc is not self._saved

    def mark_saved(self) -> None:
        self._saved = self._doc

    def replace_document(self, document: WorkflowDocument) -> None:
        """A different document was opened: history starts again."""
        self._doc = self._saved = document
        self._undo.clear()
        self._redo.clear()

    def _move_to(self, doc: WorkflowDocument, reason: str) -> list[GraphEdited]:
        events = diff_documents(self._doc, doc, reason)
        self._doc = doc
        for event in events:
            for listener in list(self._listeners):
                listener(event)
        return events
