"""What the command palette lists and in which order, without Qt.

Items are actions (from the registry, with the current keymap's shortcut) and entities
(characters, scenes, segments, workflows) from a provider callable: the DB-backed one lives in
services, tests pass a list. Recently used items come first for an empty query and get a boost
for a typed one. `>` at the start searches actions only, `@` entities only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from x121_desktop.actions.fuzzy import fuzzy_score
from x121_desktop.actions.registry import ActionRegistry

ENTITY_KINDS: tuple[str, ...] = ("project", "character", "scene", "segment", "workflow")
ACTION_KIND = "action"
RECENT_BOOST = 6.0
DISABLED_PENALTY = 3.0
EXTRA_WEIGHT = 0.45
#: When the query (3+ letters) starts a word of the subtitle ("playback", "mara"), it counts almost
#: like a title match, so a category or an entity's owner lists everything under it.
SUBTITLE_WORD_WEIGHT = 0.9
#: Results scoring below this share of the best one are noise (letters scattered across words).
RELATIVE_CUTOFF = 0.4


@dataclass(frozen=True, slots=True)
class PaletteEntity:
    """Something the palette can open: a character, scene, segment or workflow."""

    kind: str
    id: str
    title: str
    subtitle: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ENTITY_KINDS:
            raise ValueError(f"palette entity kind '{self.kind}' is not one of {', '.join(ENTITY_KINDS)}")


#: query → entities worth showing (a provider may filter by the query or return everything).
EntityProvider = Callable[[str], Sequence[PaletteEntity]]


@dataclass(frozen=True, slots=True)
class PaletteItem:
    """One row: `key` is unique across kinds (`action:edit.undo`, `scene:42`)."""

    key: str
    kind: str
    ref: str
    title: str
    subtitle: str
    shortcut: str = ""
    extra: str = ""
    enabled: bool = True


def action_items(
    registry: ActionRegistry,
    keys_for: Callable[[str], tuple[str, ...]],
    is_enabled: Callable[[str], bool] = lambda _id: True,
) -> list[PaletteItem]:
    """Every registered action except the palette itself, with its first shortcut in the active keymap."""
    items = []
    for action in registry:
        if action.id == "app.command_palette":
            continue
        keys = keys_for(action.id)
        items.append(
            PaletteItem(
                key=f"{ACTION_KIND}:{action.id}",
                kind=ACTION_KIND,
                ref=action.id,
                title=action.title,
                subtitle=action.category,
                shortcut=keys[0] if keys else "",
                extra=action.search_text,
                enabled=is_enabled(action.id),
            )
        )
    return items


def entity_items(entities: Iterable[PaletteEntity]) -> list[PaletteItem]:
    return [
        PaletteItem(
            key=f"{e.kind}:{e.id}",
            kind=e.kind,
            ref=e.id,
            title=e.title,
            subtitle=f"{e.kind.capitalize()} · {e.subtitle}" if e.subtitle else e.kind.capitalize(),
            extra=f"{e.kind} {e.subtitle}",
        )
        for e in entities
    ]


def split_query(query: str) -> tuple[str, str | None]:
    """(text, only_kind): `>text` → actions only, `@text` → entities only."""
    text = query.strip()
    if text.startswith(">"):
        return text[1:].strip(), ACTION_KIND
    if text.startswith("@"):
        return text[1:].strip(), "entity"
    return text, None


def _item_score(text: str, item: PaletteItem) -> float | None:
    title = fuzzy_score(text, item.title)
    extra = fuzzy_score(text, f"{item.subtitle} {item.extra}")
    if extra is not None:
        low = text.lower()
        words = re.split(r"[\s·.:_()-]+", item.subtitle.lower())
        starts_word = len(low) >= 3 and any(w.startswith(low) for w in words)
        extra *= SUBTITLE_WORD_WEIGHT if starts_word else EXTRA_WEIGHT
    scores = [s for s in (title, extra) if s is not None]
    return max(scores) if scores else None


def rank(query: str, items: Sequence[PaletteItem], recent: Sequence[str], limit: int = 60) -> list[PaletteItem]:
    """Items for a query, best first. An empty query lists recent items first, then the rest in order."""
    text, only = split_query(query)
    if only == ACTION_KIND:
        items = [i for i in items if i.kind == ACTION_KIND]
    elif only == "entity":
        items = [i for i in items if i.kind != ACTION_KIND]
    recency = {key: len(recent) - n for n, key in enumerate(recent)}  # most recent → largest
    if not text:
        by_recency = sorted((i for i in items if i.key in recency), key=lambda i: -recency[i.key])
        rest = [i for i in items if i.key not in recency]
        return (by_recency + rest)[:limit]
    scored: list[tuple[float, int, PaletteItem]] = []
    for order, item in enumerate(items):
        score = _item_score(text, item)
        if score is None:
            continue
        if item.key in recency:
            score += RECENT_BOOST * recency[item.key] / len(recent)
        if not item.enabled:
            score -= DISABLED_PENALTY
        scored.append((score, order, item))
    scored.sort(key=lambda s: (-s[0], s[1]))
    if scored and scored[0][0] > 0:
        floor = scored[0][0] * RELATIVE_CUTOFF
        scored = [s for s in scored if s[0] >= floor]
    return [item for _, _, item in scored[:limit]]


@dataclass(frozen=True, slots=True)
class RecentItems:
    """Most recent first, without repeats, at most `capacity` keys. Immutable: `touched` returns a new one."""

    keys: tuple[str, ...] = ()
    capacity: int = 20

    def touched(self, key: str) -> RecentItems:
        keys = (key, *(k for k in self.keys if k != key))[: self.capacity]
        return RecentItems(keys, self.capacity)
