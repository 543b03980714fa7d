"""`x121://` deep links: parse and format, nothing else.

Shape: ``x121://project/<p>/scene/<s>[/segment/<n>[/take/<t>]][@<frame>]``, and ``x121://jobs/<id>`` for a
job (the orchestrator's failure notifications link to the job).

- `<p>`, `<s>`, `<t>` are database ids; `<n>` is the segment's number in its scene as people say it
  (1-based: segment 1 is the first segment, position 0 in the database).
- `@<frame>` is an integer frame inside the take (0-based) and needs a take.
Anything else (other schemes, unknown parts, signs, spaces, leading zeros, huge numbers) is refused
with a `MalformedLink` sentence; a link is never partly understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.ids import ProjectId, SceneId, TakeId

SCHEME = "x121"
SHAPE = "x121://project/<p>/scene/<s>/segment/<n>/take/<t>@<frame>"
MAX_ID = 2**31 - 1
_NUMBER = r"(0|[1-9][0-9]{0,9})"
_LINK = re.compile(
    rf"x121://project/{_NUMBER}/scene/{_NUMBER}(?:/segment/{_NUMBER}(?:/take/{_NUMBER})?)?(?:@{_NUMBER})?/?"
)


_JOB_LINK = re.compile(rf"x121://jobs/{_NUMBER}/?", re.IGNORECASE)


def job_link_id(raw: str) -> int | None:
    """The job id of an `x121://jobs/<id>` link, or None when `raw` is not a job link."""
    match = _JOB_LINK.fullmatch(raw.strip())
    if match is None:
        return None
    job_id = int(match.group(1))
    return job_id if 1 <= job_id <= MAX_ID else None


class MalformedLink(InvalidInput):
    """An x121:// link that cannot be understood."""


@dataclass(frozen=True, slots=True)
class DeepLink:
    project: ProjectId
    scene: SceneId
    segment_number: int | None = None
    """1-based number of the segment in its scene."""
    take: TakeId | None = None
    frame: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("project", self.project), ("scene", self.scene), ("take", self.take)):
            if value is not None and not 1 <= value <= MAX_ID:
                raise MalformedLink(f"The {name} id {value} in a link is out of range", f"Use an id from 1 to {MAX_ID}")
        if self.segment_number is not None and not 1 <= self.segment_number <= MAX_ID:
            raise MalformedLink(f"Segment number {self.segment_number} is out of range", "Segments count from 1")
        if self.take is not None and self.segment_number is None:
            raise MalformedLink("A link names a take without its segment", f"Write it as {SHAPE}")
        if self.frame is not None:
            if self.take is None:
                raise MalformedLink("A link names a frame without a take", f"Write it as {SHAPE}")
            if not 0 <= self.frame <= MAX_ID:
                raise MalformedLink(f"Frame {self.frame} in a link is out of range", "Frames count from 0")

    @property
    def segment_position(self) -> int | None:
        """The segment's 0-based position as the database stores it."""
        return None if self.segment_number is None else self.segment_number - 1

    def format(self) -> str:
        return format_link(self)


def format_link(link: DeepLink) -> str:
    out = f"{SCHEME}://project/{link.project}/scene/{link.scene}"
    if link.segment_number is not None:
        out += f"/segment/{link.segment_number}"
        if link.take is not None:
            out += f"/take/{link.take}"
    if link.frame is not None:
        out += f"@{link.frame}"
    return out


def parse_link(raw: str) -> DeepLink:
    """The link in `raw`, or MalformedLink naming what is wrong."""
    text = raw.strip()
    shown = text if len(text) <= 120 else text[:117] + "..."
    if not text.lower().startswith(f"{SCHEME}://"):
        raise MalformedLink(f"{shown!r} is not an x121:// link", f"Links look like {SHAPE}")
    text = SCHEME + text[len(SCHEME) :]  # the scheme is case-insensitive (RFC 3986), the rest is not
    match = _LINK.fullmatch(text)
    if match is None:
        raise MalformedLink(f"The link {shown!r} is malformed", f"Links look like {SHAPE}")
    project, scene, segment, take, frame = (None if g is None else int(g) for g in match.groups())
    assert project is not None
    assert scene is not None
    if frame is not None and take is None:
        raise MalformedLink(f"The link {shown!r} names a frame without a take", f"Links look like {SHAPE}")
    return DeepLink(
        ProjectId(project),
        SceneId(scene),
        segment,
        None if take is None else TakeId(take),
        frame,
    )
