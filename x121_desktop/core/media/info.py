"""Probe: what a video file holds, with an exact frame count from its packets."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av.container
import av.video.stream

from x121_desktop.core.errors import MediaError
from x121_desktop.core.media._open import AV_ERRORS, check_file, no_video, open_input, to_fraction, unreadable
from x121_desktop.core.timebase import FrameRange


@dataclass(frozen=True, slots=True)
class PacketIndex:
    """Every video packet of a file: the ground truth for frame indices.

    `pts` is sorted (presentation order); frame index i is the frame whose pts is `pts[i]`.
    `decode_order` keeps (pts, dts, is_keyframe) in file order, for stream copy.
    """

    time_base: Fraction
    pts: tuple[int, ...]
    keyframe_pts: tuple[int, ...]
    decode_order: tuple[tuple[int, int | None, bool], ...]
    truncated: bool

    def index_of(self, pts: int) -> int | None:
        i = bisect.bisect_left(self.pts, pts)
        return i if i < len(self.pts) and self.pts[i] == pts else None

    def keyframe_at_or_before(self, pts: int) -> int:
        """The pts of the last keyframe not after `pts` (the first keyframe if none)."""
        i = bisect.bisect_right(self.keyframe_pts, pts) - 1
        return self.keyframe_pts[max(i, 0)]

    def is_keyframe_index(self, index: int) -> bool:
        if index >= len(self.pts):
            return True  # the end of the stream is a clean cut
        j = bisect.bisect_left(self.keyframe_pts, self.pts[index])
        return j < len(self.keyframe_pts) and self.keyframe_pts[j] == self.pts[index]


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """A probed video file. Sizes are as coded; `rotation` says how to turn them for display."""

    path: Path
    container: str
    codec: str
    width: int
    height: int
    rate: Fraction
    frame_count: int
    duration: FrameRange
    rotation: int
    pix_fmt: str
    has_audio: bool
    is_vfr: bool
    bit_rate: int
    gop: int
    keyframes: int
    b_frames: bool
    truncated: bool
    time_base: Fraction
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) after applying `rotation`."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)


def probe(path: Path | str) -> VideoInfo:
    """Probe `path`: demux every video packet (no decode) and decode the first frame.

    Raises MediaError (one sentence naming the file and the fix) for empty, unreadable,
    audio-only or undecodable files; NotFound for a missing one.
    """
    return probe_with_index(Path(path))[0]


def probe_with_index(path: Path) -> tuple[VideoInfo, PacketIndex]:
    check_file(path)
    container, _ = open_input(path)
    with container:
        if not container.streams.video:
            raise no_video(path)
        stream = container.streams.video[0]
        index = _scan_packets(path, container, stream)
        if not index.pts:
            why = "is truncated before its first complete frame" if index.truncated else "has no frames"
            raise MediaError(f"{path} {why}", "Re-export or re-download the file.")
        container.seek(index.pts[0], stream=stream, backward=True)
        rotation = _first_frame_rotation(path, container, stream)
        info = _describe(path, container, stream, index, rotation)
    return info, index


def _scan_packets(
    path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> PacketIndex:
    size = path.stat().st_size
    entries: list[tuple[int, int | None, bool]] = []
    # mp4 indexes every sample's byte range: a sample ending past EOF was cut off (the demuxer
    # would hand it over short, and its frame would not decode).
    truncated = any(e.pos + e.size > size for e in stream.index_entries if e.size > 0)
    missing_pts = 0
    end_ticks = 0
    try:
        for pk in container.demux(stream):
            if pk.size == 0:
                continue  # the flush packet at the end
            if pk.pos is not None and pk.pos >= 0 and pk.pos + pk.size > size:
                truncated = True  # cut off mid-packet: its frame cannot be whole
                break
            if pk.pts is None:
                missing_pts += 1
                continue
            if pk.is_discard:
                continue
            entries.append((pk.pts, pk.dts, pk.is_keyframe))
            end_ticks = max(end_ticks, pk.pts + (pk.duration or 0))
    except AV_ERRORS:
        truncated = True
    if missing_pts:
        raise MediaError(
            f"{path} has {missing_pts} video packets without timestamps, so frames cannot be indexed",
            "Remux it into .mp4 or .mkv (ffmpeg -fflags +genpts -i IN -c copy OUT.mkv).",
        )
    time_base = to_fraction(stream.time_base, Fraction(1, 1))
    if _shorter_than_declared(container, stream, len(entries), end_ticks * time_base) or _tail_has_hole(
        stream, entries, time_base
    ):
        truncated = True
    if truncated and entries:
        entries = _complete_prefix(entries)
    pts = tuple(sorted(e[0] for e in entries))
    keys = tuple(sorted(e[0] for e in entries if e[2]))
    if pts and (not keys or keys[0] > pts[0]):
        # Frames shown before the first keyframe cannot be decoded; seek from the start.
        keys = (pts[0], *keys)
    return PacketIndex(time_base, pts, keys, tuple(entries), truncated)


def _complete_prefix(entries: list[tuple[int, int | None, bool]]) -> list[tuple[int, int | None, bool]]:
    """The frames of a truncated stream that are surely whole and gap-free.

    The last packet read may itself be cut short, so it is dropped. Every lost packet has a
    dts above the last dts read, and pts >= dts, so frames shown up to that dts are complete;
    later ones may sit after a hole left by a lost B-frame and would shift every index.
    """
    kept = entries[:-1]
    if not kept:
        return kept
    last = kept[-1]
    limit = last[1] if last[1] is not None else last[0]
    return [e for e in kept if e[0] <= limit]


def _tail_has_hole(
    stream: av.video.stream.VideoStream, entries: list[tuple[int, int | None, bool]], time_base: Fraction
) -> bool:
    """True when frames shown after the last decode timestamp skip a frame slot.

    A cut file keeps a reference frame decoded early but loses the B-frames shown before it:
    the duration still looks whole, but a hole opens in the last timestamps.
    """
    if not entries or entries[-1][1] is None:
        return False
    rate = to_fraction(stream.average_rate) or to_fraction(stream.guessed_rate)
    if not rate:
        return False
    last_dts = entries[-1][1]
    shown = sorted(e[0] for e in entries)
    tail_from = max(0, bisect.bisect_right(shown, last_dts) - 1)
    tail = shown[tail_from:]
    step = 1 / (rate * time_base)
    return any(b - a > step * Fraction(3, 2) for a, b in itertools.pairwise(tail))


def _shorter_than_declared(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    count: int,
    end: Fraction,
) -> bool:
    """True when the header promises more than the packets deliver.

    mp4 headers state the frame count; Matroska only the duration, which the muxer sets to
    the end of the last packet, so a shortfall over half a frame means packets were lost.
    """
    if stream.frames:
        return count < stream.frames
    rate = to_fraction(stream.average_rate) or to_fraction(stream.guessed_rate)
    start = to_fraction(stream.start_time or 0) * to_fraction(stream.time_base, Fraction(1, 1))
    if container.duration and rate and end:
        return Fraction(container.duration, 1_000_000) - (end - start) > 1 / (2 * rate)
    return False


def _first_frame_rotation(
    path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> int:
    try:
        for frame in container.decode(stream):
            return int(frame.rotation) % 360
    except AV_ERRORS as exc:
        raise unreadable(path, exc) from exc
    raise MediaError(f"{path} has video packets but none decodes to a frame", "Re-export the file.")


def _describe(
    path: Path,
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    index: PacketIndex,
    rotation: int,
) -> VideoInfo:
    tb = index.time_base
    pts = index.pts
    count = len(pts)
    nominal = to_fraction(stream.average_rate) or to_fraction(stream.guessed_rate) or to_fraction(stream.base_rate)
    rate = nominal or Fraction(24)
    if count > 1:
        span = Fraction(pts[-1] - pts[0]) * tb
        measured = (count - 1) / span if span > 0 else rate
        if not nominal:
            rate = measured.limit_denominator(1001)
    is_vfr = _is_vfr(pts, tb, rate)
    if is_vfr and count > 1:
        rate = ((count - 1) / (Fraction(pts[-1] - pts[0]) * tb)).limit_denominator(1001)
    keys = [bisect.bisect_left(pts, k) for k in index.keyframe_pts]
    gaps = [b - a for a, b in zip(keys, [*keys[1:], count], strict=True)]
    seconds = Fraction(count) / rate if count else Fraction(0)
    bit_rate = int(container.bit_rate or 0)
    if not bit_rate and seconds:
        bit_rate = int(path.stat().st_size * 8 / seconds)
    return VideoInfo(
        path=path,
        container=container.format.name,
        codec=stream.codec_context.name,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        rate=rate,
        frame_count=count,
        duration=FrameRange(0, count, rate),
        rotation=rotation,
        pix_fmt=stream.codec_context.pix_fmt or "unknown",
        has_audio=bool(container.streams.audio),
        is_vfr=is_vfr,
        bit_rate=bit_rate,
        gop=max(gaps) if gaps else 1,
        keyframes=len(keys),
        b_frames=any(a[0] > b[0] for a, b in zip(index.decode_order, index.decode_order[1:], strict=False)),
        truncated=index.truncated,
        time_base=tb,
        metadata={k.lower(): v for k, v in container.metadata.items()},
    )


def _is_vfr(pts: tuple[int, ...], tb: Fraction, rate: Fraction) -> bool:
    """True when some frame sits half a frame or more away from where the nominal rate puts it."""
    if len(pts) < 3 or rate <= 0:
        return False
    step = float(1 / (rate * tb))  # ticks per frame; float is fine for a tolerance test
    first = pts[0]
    half = step / 2
    return any(abs((p - first) - i * step) >= half for i, p in enumerate(pts))
