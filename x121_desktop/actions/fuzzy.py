"""A small fuzzy matcher for the command palette: pure Python, no dependencies.

Each query word must appear in the text as a subsequence. Matches score higher at word starts
(after a space, `.`, `_`, `-`, `/` or at a lower→upper case change), for consecutive letters and
for early positions; gaps cost a little, and jumping into the middle of a word costs more, so
"seam" ranks "Heal seam" far above "Step back 5 frames". Scores compare within one query only.
"""

from __future__ import annotations

_SEPARATORS = frozenset(" ._-/:()…")
_BASE, _BOUNDARY, _CONSECUTIVE, _FIRST_CHAR, _GAP, _MID_WORD_JUMP = 1.0, 3.0, 2.0, 2.0, 0.05, 3.0
_NEG = float("-inf")


def _boundaries(text: str) -> list[bool]:
    out = []
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else " "
        out.append(prev in _SEPARATORS or (prev.islower() and ch.isupper()) or (not prev.isalnum() and ch.isalnum()))
    return out


def _word_score(word: str, text: str, low: str, bounds: list[bool]) -> float | None:
    """Best alignment of `word` (already lower-case) as a subsequence of `text`; None when absent."""
    n = len(text)
    prev_row: list[float] = []
    for i, qc in enumerate(word):
        row = [_NEG] * n
        best_before = _NEG  # max over k < j-1 of prev_row[k] + _GAP * k
        for j in range(n):
            if i > 0 and j >= 2 and prev_row[j - 2] != _NEG:
                best_before = max(best_before, prev_row[j - 2] + _GAP * (j - 2))
            if low[j] != qc:
                continue
            gain = _BASE + (_BOUNDARY if bounds[j] else 0.0)
            if i == 0:
                row[j] = gain + (_FIRST_CHAR if j == 0 else 0.0) - _GAP * j
                continue
            candidates = []
            if j >= 1 and prev_row[j - 1] != _NEG:
                candidates.append(prev_row[j - 1] + _CONSECUTIVE)
            if best_before != _NEG:
                jump = 0.0 if bounds[j] else _MID_WORD_JUMP
                candidates.append(best_before - _GAP * (j - 1) - jump)
            if candidates:
                row[j] = max(candidates) + gain
        prev_row = row
    best = max(prev_row, default=_NEG)
    return None if best == _NEG else best


def fuzzy_score(query: str, text: str) -> float | None:
    """Higher is better; None when some query word is not a subsequence of `text`. Empty query → 0."""
    words = query.lower().split()
    if not words:
        return 0.0
    low = text.lower()
    bounds = _boundaries(text)
    total = 0.0
    for word in words:
        score = _word_score(word, text, low, bounds)
        if score is None:
            return None
        total += score
    if low.startswith(query.lower().strip()):
        total += _BOUNDARY
    return total - 0.01 * len(text)
