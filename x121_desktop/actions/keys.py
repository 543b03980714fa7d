"""Key sequences as canonical strings, without Qt.

The canonical form is Qt's PortableText (`Ctrl+Shift+Z`, `Shift+Left`, `Ctrl+K, Ctrl+S`), so
`QKeySequence(text)` in ui/ reads it back unchanged and two spellings of one key compare equal.
Modifier order is Qt's: Meta, Ctrl, Alt, Shift. `Cmd` is written `Ctrl`: Qt maps Ctrl to ⌘ on macOS.
"""

from __future__ import annotations

import re

MODIFIER_ORDER: tuple[str, ...] = ("Meta", "Ctrl", "Alt", "Shift")
_MODIFIER_ALIASES: dict[str, str] = {
    "ctrl": "Ctrl",
    "control": "Ctrl",
    "cmd": "Ctrl",
    "command": "Ctrl",
    "⌘": "Ctrl",
    "alt": "Alt",
    "option": "Alt",
    "opt": "Alt",
    "⌥": "Alt",
    "shift": "Shift",
    "⇧": "Shift",
    "meta": "Meta",
    "super": "Meta",
    "win": "Meta",
}
_NAMED_KEYS: dict[str, str] = {
    name.lower(): name
    for name in (
        "Space", "Esc", "Tab", "Backtab", "Backspace", "Return", "Enter", "Ins", "Del", "Pause", "Print",
        "Home", "End", "Left", "Up", "Right", "Down", "PgUp", "PgDown",
    )
}  # fmt: skip
_KEY_ALIASES: dict[str, str] = {
    "escape": "Esc",
    "delete": "Del",
    "insert": "Ins",
    "pageup": "PgUp",
    "page up": "PgUp",
    "pagedown": "PgDown",
    "page down": "PgDown",
    "arrowleft": "Left",
    "arrowright": "Right",
    "arrowup": "Up",
    "arrowdown": "Down",
    "←": "Left",
    "→": "Right",
    "↑": "Up",
    "↓": "Down",
    "spacebar": "Space",
}
_PUNCTUATION = set("`-=[]\\;',./")
_FKEY = re.compile(r"^f([1-9]|[12][0-9]|3[0-5])$")
_CHORD_SPLIT = re.compile(r"(?<=[^+]),\s+")
MAX_CHORDS = 4


class KeySyntaxError(ValueError):
    """A key sequence that cannot be read; the message says which part and why."""


def _key_name(raw: str) -> str:
    text = raw.strip()
    low = text.lower()
    if len(text) == 1:
        if text.isalpha() and text.isascii():
            return text.upper()
        if text.isdigit() or text in _PUNCTUATION:
            return text
    if low in _NAMED_KEYS:
        return _NAMED_KEYS[low]
    if low in _KEY_ALIASES:
        return _KEY_ALIASES[low]
    if _FKEY.match(low):
        return low.upper()
    raise KeySyntaxError(f"'{raw}' is not a key name")


def normalize_chord(chord: str) -> str:
    """One key with modifiers, e.g. `shift+ctrl+z` → `Ctrl+Shift+Z`."""
    text = chord.strip()
    if not text:
        raise KeySyntaxError("an empty key")
    if text.endswith("+") and len(text) > 1:
        raise KeySyntaxError(f"'{chord}' ends with '+' (the plus key is not supported)")
    parts = text.split("+") if len(text) > 1 else [text]
    key = _key_name(parts[-1])
    mods: set[str] = set()
    for raw in parts[:-1]:
        name = _MODIFIER_ALIASES.get(raw.strip().lower())
        if name is None:
            raise KeySyntaxError(f"'{raw}' in '{chord}' is not a modifier (use Ctrl, Alt, Shift or Meta)")
        if name in mods:
            raise KeySyntaxError(f"'{chord}' names {name} twice")
        mods.add(name)
    return "+".join([m for m in MODIFIER_ORDER if m in mods] + [key])


def normalize_sequence(sequence: str) -> str:
    """A sequence of up to four chords, `Ctrl+K, Ctrl+S` style; raises KeySyntaxError."""
    if not isinstance(sequence, str) or not sequence.strip():
        raise KeySyntaxError("an empty key sequence")
    chords = _CHORD_SPLIT.split(sequence.strip())
    if len(chords) > MAX_CHORDS:
        raise KeySyntaxError(f"'{sequence}' has more than {MAX_CHORDS} chords")
    return ", ".join(normalize_chord(c) for c in chords)


def chords(sequence: str) -> tuple[str, ...]:
    """The chords of a canonical sequence."""
    return tuple(_CHORD_SPLIT.split(sequence))


def is_prefix(short: str, long: str) -> bool:
    """True when `short` is a strict chord prefix of `long` (`Ctrl+K` of `Ctrl+K, Ctrl+S`)."""
    a, b = chords(short), chords(long)
    return len(a) < len(b) and b[: len(a)] == a
