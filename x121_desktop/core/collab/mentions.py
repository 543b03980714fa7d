"""@mentions in comment text: which names a comment mentions, and which of them are unknown.

A mention is `@name` where name is a studio login name (lower-case PostgreSQL role name: letters,
digits, underscore) not preceded by a word character, so `ana@example.com` mentions nobody.
`@frame` numbers such as `@120` are frame references, not mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from x121_desktop.core.errors import InvalidInput

_MENTION = re.compile(r"(?<![\w@])@([A-Za-z_][A-Za-z0-9_]{0,62})\b")
MAX_BODY = 10_000


class UnknownMention(InvalidInput):
    """A comment mentions a name that is not a studio user."""


@dataclass(frozen=True, slots=True)
class MentionCheck:
    names: tuple[str, ...]
    """Mentioned login names, lower-cased, in order of first appearance, without repeats."""
    unknown: tuple[str, ...]


def mentioned_names(body: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(body):
        seen.setdefault(match.group(1).lower(), None)
    return tuple(seen)


def check_mentions(body: str, known: Iterable[str]) -> MentionCheck:
    names = mentioned_names(body)
    known_set = {k.lower() for k in known}
    return MentionCheck(names, tuple(n for n in names if n not in known_set))


def require_known(check: MentionCheck) -> tuple[str, ...]:
    """The mentioned names, or UnknownMention naming every unknown one."""
    if check.unknown:
        listed = ", ".join(f"@{n}" for n in check.unknown)
        plural = "s" if len(check.unknown) > 1 else ""
        raise UnknownMention(
            f"The comment mentions {listed}, which {'are not studio users' if plural else 'is not a studio user'}",
            "Check the spelling against `x121 user list`, or remove the @",
        )
    return check.names


def check_body(body: str) -> str:
    text = body.strip()
    if not text:
        raise InvalidInput("The comment is empty", "Write something before sending it")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"The comment is longer than {MAX_BODY} characters", "Shorten it or split it")
    return text
