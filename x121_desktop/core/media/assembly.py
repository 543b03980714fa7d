"""Assembly: concatenate segments into one master with continuous timestamps.

When every input has the same codec, size, rate, pixel format and codec headers, and every
cut starts and ends on a GOP boundary (the packets between the two keyframes present exactly
the kept frames), packets are copied without re-encoding. Otherwise the whole master is
re-encoded with `profile`: mixing copied and re-encoded parts would need two sets of codec
headers in one stream, which mp4 cannot hold. The report says which path was taken and why.
Audio is not carried (segments are silent AI video); `audio_dropped` says when some was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.container
import av.video.stream

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import MediaError
from x121_desktop.core.media._open import AV_ERRORS, open_input
from x121_desktop.core.media.info import PacketIndex, VideoInfo, probe_with_index
from x121_desktop.core.media.reader import FrameReader
from x121_desktop.core.media.writer import DELIVERY, EncodeProfile, VideoWriter

Method = Literal["copy", "reencode"]

_COPY_SUFFIXES: Mapping[str, tuple[str, ...]] = {
    "h264": (".mp4", ".mov", ".mkv"),
    "hevc": (".mp4", ".mov", ".mkv"),
    "mpeg4": (".mp4", ".mov", ".mkv"),
    "vp9": (".webm", ".mkv", ".mp4"),
    "vp8": (".webm", ".mkv"),
    "av1": (".webm", ".mkv", ".mp4"),
}


@dataclass(frozen=True, slots=True)
class SegmentCut:
    """Keep frames start … start+length-1 of `path` (length None: to the end)."""

    path: Path
    start: int = 0
    length: int | None = None


@dataclass(frozen=True, slots=True)
class SegmentReport:
    path: Path
    start: int
    length: int
    master_start: int
    method: Method


@dataclass(frozen=True, slots=True)
class AssemblyReport:
    path: Path
    method: Method
    reason: str
    frame_count: int
    rate: Fraction
    width: int
    height: int
    segments: tuple[SegmentReport, ...]
    audio_dropped: bool


@dataclass(frozen=True, slots=True)
class _Source:
    cut: SegmentCut
    info: VideoInfo
    index: PacketIndex
    start: int
    end: int


def assemble(
    cuts: Sequence[SegmentCut],
    out: Path | str,
    *,
    profile: EncodeProfile = DELIVERY,
    metadata: Mapping[str, str] | None = None,
    force_reencode: bool = False,
    cancel: CancelToken | None = None,
    progress: ProgressSink = no_progress,
) -> AssemblyReport:
    """Concatenate `cuts` into `out` (written atomically); see the module docstring."""
    out = Path(out)
    if not cuts:
        raise MediaError(f"No segments were given for {out}", "Give at least one segment to assemble.")
    sources = [_resolve(SegmentCut(Path(c.path), c.start, c.length)) for c in cuts]
    _check_compatible(sources)
    reason = "forced by the caller" if force_reencode else _copy_blocker(sources, out)
    method: Method = "copy" if reason is None else "reencode"
    if method == "copy":
        _copy(sources, out, metadata or {}, cancel, progress)
    else:
        _reencode(sources, out, profile, metadata or {}, cancel, progress)
    reports, offset = [], 0
    for s in sources:
        reports.append(SegmentReport(s.cut.path, s.start, s.end - s.start, offset, method))
        offset += s.end - s.start
    first = sources[0].info
    return AssemblyReport(
        path=out,
        method=method,
        reason=reason or "every cut falls on a keyframe and the streams match",
        frame_count=offset,
        rate=first.rate,
        width=first.width,
        height=first.height,
        segments=tuple(reports),
        audio_dropped=any(s.info.has_audio for s in sources),
    )


def _resolve(cut: SegmentCut) -> _Source:
    info, index = probe_with_index(cut.path)
    n = info.frame_count
    length = n - cut.start if cut.length is None else cut.length
    if cut.start < 0 or length <= 0 or cut.start + length > n:
        raise MediaError(
            f"{cut.path} has frames 0…{n - 1}, so frames {cut.start}…{cut.start + length - 1} cannot be kept",
            "Give a range inside the segment.",
        )
    return _Source(cut, info, index, cut.start, cut.start + length)


def _check_compatible(sources: Sequence[_Source]) -> None:
    first = sources[0].info
    for s in sources[1:]:
        i = s.info
        if i.rate != first.rate:
            raise MediaError(
                f"{i.path} runs at {i.rate} fps but {first.path} at {first.rate} fps",
                "Conform the segments to one frame rate before assembling.",
            )
        if (i.width, i.height) != (first.width, first.height):
            raise MediaError(
                f"{i.path} is {i.width}x{i.height} but {first.path} is {first.width}x{first.height}",
                "Resize the segments to one size before assembling.",
            )


def _copy_blocker(sources: Sequence[_Source], out: Path) -> str | None:
    """Why stream copy is impossible, or None when it is safe."""
    first = sources[0].info
    if out.suffix.lower() not in _COPY_SUFFIXES.get(first.codec, ()):
        return f"{first.codec} cannot be copied into a {out.suffix or 'suffix-less'} file"
    headers = {_extradata(s.info.path) for s in sources}
    for s in sources:
        i = s.info
        if (i.codec, i.pix_fmt) != (first.codec, first.pix_fmt):
            return f"{i.path.name} is {i.codec}/{i.pix_fmt}, {first.path.name} is {first.codec}/{first.pix_fmt}"
        if i.is_vfr or i.truncated:
            return f"{i.path.name} is {'variable frame rate' if i.is_vfr else 'truncated'}"
        if not _closed_window(s.index, s.start, s.end):
            return f"the cut {s.start}…{s.end - 1} of {i.path.name} does not start and end on a keyframe"
    if len(headers) > 1:
        return "the segments were encoded with different codec settings"
    if not _timestamps_monotonic(sources):
        return "the segments' decode timestamps would not increase across the joins"
    return None


def _extradata(path: Path) -> bytes:
    container, _ = open_input(path)
    with container:
        return bytes(container.streams.video[0].codec_context.extradata or b"")


def _closed_window(index: PacketIndex, start: int, end: int) -> bool:
    """True when the packets from the keyframe showing `start` up to the keyframe showing `end`
    (in decode order) present exactly frames start … end-1."""
    if not (index.is_keyframe_index(start) and index.is_keyframe_index(end)):
        return False
    order = index.decode_order
    first_pts = index.pts[start]
    begin = next(k for k, e in enumerate(order) if e[0] == first_pts)
    stop = len(order) if end >= len(index.pts) else next(k for k, e in enumerate(order) if e[0] == index.pts[end])
    return sorted(e[0] for e in order[begin:stop]) == list(index.pts[start:end])


def _shift(s: _Source, master_start: int) -> int:
    """Ticks to add to `s`'s timestamps so its first kept frame lands at `master_start`."""
    ticks = round(master_start / (s.info.rate * s.index.time_base))
    return ticks - s.index.pts[s.start]


def _window_dts(s: _Source) -> dict[int, int]:
    """pts → a decode timestamp for each kept packet, before shifting.

    Demuxers leave some dts unset (Matroska) or offset them differently per file, so the k-th
    packet in decode order gets the k-th smallest kept pts, less the reorder delay that keeps
    every dts <= its pts: strictly increasing and the same rule for every segment.
    """
    lo, hi = s.index.pts[s.start], s.index.pts[s.end - 1]
    order = [pts for pts, _, _ in s.index.decode_order if lo <= pts <= hi]
    shown = sorted(order)
    delay = max(0, *(shown[k] - pts for k, pts in enumerate(order)))
    return {pts: shown[k] - delay for k, pts in enumerate(order)}


def _timestamps_monotonic(sources: Sequence[_Source]) -> bool:
    tb = sources[0].index.time_base
    if any(s.index.time_base != tb for s in sources):
        return False
    last_dts: int | None = None
    offset = 0
    for s in sources:
        shift = _shift(s, offset)
        for dts in _window_dts(s).values():
            if last_dts is not None and dts + shift <= last_dts:
                return False
            last_dts = dts + shift
        offset += s.end - s.start
    return True


def _temp_beside(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".part{out.suffix}", dir=out.parent)
    os.close(fd)
    return Path(tmp)


def _copy(
    sources: Sequence[_Source],
    out: Path,
    metadata: Mapping[str, str],
    cancel: CancelToken | None,
    progress: ProgressSink,
) -> None:
    total = sum(s.end - s.start for s in sources)
    tmp = _temp_beside(out)
    options = {"movflags": "+faststart"} if out.suffix.lower() in {".mp4", ".mov"} else {}
    try:
        with av.open(str(tmp), "w", container_options=options) as dst:
            dst.metadata.update(metadata)
            template, _ = open_input(sources[0].info.path)
            with template:
                ostream = dst.add_stream_from_template(template.streams.video[0])
            ostream.time_base = sources[0].index.time_base
            done = offset = 0
            for s in sources:
                done = _copy_one(s, dst, ostream, _shift(s, offset), done, total, cancel, progress)
                offset += s.end - s.start
        os.replace(tmp, out)
    except AV_ERRORS as exc:
        raise MediaError(f"Copying segments into {out} failed ({exc})", "Try again with re-encoding.") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _copy_one(
    s: _Source,
    dst: av.container.OutputContainer,
    ostream: av.video.stream.VideoStream,
    shift: int,
    done: int,
    total: int,
    cancel: CancelToken | None,
    progress: ProgressSink,
) -> int:
    lo, hi = s.index.pts[s.start], s.index.pts[s.end - 1]
    dts_of = _window_dts(s)
    src, _ = open_input(s.info.path)
    with src:
        stream = src.streams.video[0]
        src.seek(lo, stream=stream, backward=True)
        for pk in src.demux(stream):
            if pk.size == 0 or pk.pts is None or not lo <= pk.pts <= hi:
                if pk.pts is not None and pk.dts is not None and pk.dts > hi:
                    break
                continue
            pk.dts = dts_of[pk.pts] + shift
            pk.pts += shift
            pk.stream = ostream
            pk.time_base = s.index.time_base
            dst.mux(pk)
            done += 1
            progress(done, total, "copying")
            if cancel is not None:
                cancel.raise_if_cancelled("Assembly")
    return done


def _reencode(
    sources: Sequence[_Source],
    out: Path,
    profile: EncodeProfile,
    metadata: Mapping[str, str],
    cancel: CancelToken | None,
    progress: ProgressSink,
) -> None:
    total = sum(s.end - s.start for s in sources)
    done = 0
    with VideoWriter(out, sources[0].info.rate, profile, metadata=metadata) as writer:
        for s in sources:
            with FrameReader(s.cut.path, hwaccel=False) as reader:
                for _, frame in reader.av_frames(s.start, s.end, cancel=cancel):
                    writer.write(frame)
                    done += 1
                    progress(done, total, "re-encoding")
        writer.close()
