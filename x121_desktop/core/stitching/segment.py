"""Along-segment checks: frozen runs, sharpness dips, sudden changes and the identity drift curve.

Frames are consumed one at a time from any iterable (a decoder can stream into it), and only the
features of the previous frame are kept, so memory does not grow with length. Identity runs on
sampled frames only (every ``identity_every`` frames plus the last, ~0.08-0.2 s each). The rest,
CPU per frame on the YUV path (planes from ``FrameReader.frames_yuv()``), 81 decoded frames
analysed after decoding, 2-core dev machine at load ~2: **0.87 ms at 1080p, 0.25 ms at 512²**
(before the work arrays were reused and large frames got the capped SSIM / halved flow images
of frames.py: 1.46-1.51 and 0.26-0.27 ms; earlier 1.6 / 0.27, rgb24 frames 2.4 / 0.4, and 7-8 /
1.1 ms before that; see benchmarks/bench_seam.py). One area-resize to ½ size, the along-segment
features only (``frames.extract_segment``: no colour statistics or pHash, which only the seam
grades use), SSIM from per-frame precomputed terms, DIS optical flow, OpenCV run serially
(workers.py) and the per-frame temporaries in scratch memory that stays mapped (buffers.py).

``read_ahead=n`` iterates ``frames`` on a helper thread (readahead.py), up to n frames ahead of
the analysis, so decoding (PyAV releases the GIL) overlaps the analysis (OpenCV releases it too).
Use it with a decoder such as ``FrameReader.frames()``; the iterator is then advanced, and closed,
on that thread. It gains only when a core is free: the decoder's own threads use ~1.2-1.5 cores.

Frames may be RGB arrays or decoded planes (``FrameReader.frames_yuv()``: the YUV path of
frames.py, which skips the rgb24 conversion; identity samples alone are converted to RGB).
``frames_for_analysis(reader)`` picks the YUV path for yuv420p / yuvj420p / nv12 streams and
falls back to rgb24 frames for any other pixel format.

``scan_segment(..., seam_window=k)`` also keeps the seam features of the first and last k frames
(``tail_window`` sets the last ones apart; 0 skips them) and the pair metrics between them
(``SeamSide``), so ``metrics.analyze_seam_sides`` grades a seam without extracting or comparing
those frames again.

Graded like a seam (score.py bands), with the segment's own median as the baseline:
ssim (median - lowest consecutive SSIM), exposure (largest consecutive |ΔL*| - median), motion
(largest consecutive flow / max(median, floor)), sharpness (1 - lowest / median), frozen (repeated
frames of the longest near-identical run) and identity (largest distance to the reference).
Without Seed A the reference is the first sampled face; no face at all → identity not graded,
with the reason "no face found in any sampled frame".
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from x121_desktop.core.cancel import CancelToken, ProgressSink
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.likeness.faces import IdentityReference, face_distance, observe_face
from x121_desktop.core.media.reader import FrameReader
from x121_desktop.core.media.yuv import YuvFrame
from x121_desktop.core.stitching.frames import (
    AnalysisGeometry,
    Frame,
    FrameFeatures,
    SegmentFeatures,
    extract,
    extract_segment,
    rgb_of,
)
from x121_desktop.core.stitching.motion import frozen_runs
from x121_desktop.core.stitching.pairs import SegmentPair, compare_segment_features
from x121_desktop.core.stitching.readahead import ReadAhead
from x121_desktop.core.stitching.report import FrameRun, IdentitySample, MetricGrade, SegmentReport
from x121_desktop.core.stitching.score import (
    DEFAULT_THRESHOLDS,
    FROZEN_MAD,
    MOTION_FLOOR_FRACTION,
    SeamMetric,
    SeamThresholds,
    worst,
)
from x121_desktop.core.stitching.workers import opencv_serial

DEFAULT_IDENTITY_EVERY = 16

type AnyFrame = Frame | YuvFrame


@dataclass(frozen=True, slots=True, eq=False)
class SeamSide:
    """The seam features of the frames at one end of a segment (in order), with the frames, and
    the pair metrics between consecutive ones when the scan already measured them (else empty)."""

    geometry: AnalysisGeometry
    features: tuple[FrameFeatures, ...]
    frames: tuple[AnyFrame, ...]
    pairs: tuple[SegmentPair, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class SegmentScan:
    """``analyze_segment``'s report plus, with ``seam_window`` > 0, the two ends' seam features
    (``tail`` is None with ``tail_window=0``)."""

    report: SegmentReport
    head: SeamSide | None
    tail: SeamSide | None


def frames_for_analysis(reader: FrameReader, start: int = 0, stop: int | None = None) -> Iterator[AnyFrame]:
    """Frames start … stop-1 of ``reader`` for the analyses: decoded planes when the stream is
    yuv420p / yuvj420p / nv12 (no rgb24 conversion), rgb24 arrays otherwise (4:2:2, 4:4:4, RGB…,
    where reading planes would need a swscale conversion anyway)."""
    if reader.yuv_native:
        return reader.frames_yuv(start, stop)
    return reader.frames(start, stop)


def seam_side(frames: Sequence[AnyFrame], geometry: AnalysisGeometry | None = None) -> SeamSide:
    """The seam features of ``frames`` (one end of a segment, in order) at ``geometry`` (default:
    the first frame's), for ``metrics.analyze_seam_sides``."""
    if not frames:
        raise InvalidInput("A seam side needs at least one frame", "Pass the frames at the segment's end.")
    g = geometry or AnalysisGeometry.for_frame(frames[0])
    return SeamSide(g, tuple(extract(f, g) for f in frames), tuple(frames))


def analyze_segment(
    frames: Iterable[AnyFrame],
    *,
    reference: IdentityReference | None = None,
    identity_every: int = DEFAULT_IDENTITY_EVERY,
    thresholds: SeamThresholds = DEFAULT_THRESHOLDS,
    frame_count: int | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressSink | None = None,
    read_ahead: int = 0,
) -> SegmentReport:
    """Measure one segment frame by frame. ``identity_every=0`` turns identity off;
    ``frame_count`` (when known) only feeds ``progress``; ``read_ahead`` > 0 decodes that many
    frames ahead on a helper thread (see the module notes)."""
    return scan_segment(
        frames,
        reference=reference,
        identity_every=identity_every,
        thresholds=thresholds,
        frame_count=frame_count,
        cancel=cancel,
        progress=progress,
        read_ahead=read_ahead,
    ).report


def scan_segment(
    frames: Iterable[AnyFrame],
    *,
    seam_window: int = 0,
    tail_window: int | None = None,
    reference: IdentityReference | None = None,
    identity_every: int = DEFAULT_IDENTITY_EVERY,
    thresholds: SeamThresholds = DEFAULT_THRESHOLDS,
    frame_count: int | None = None,
    cancel: CancelToken | None = None,
    progress: ProgressSink | None = None,
    read_ahead: int = 0,
) -> SegmentScan:
    """``analyze_segment`` that also returns the seam features of the first and last
    ``seam_window`` frames (``tail_window`` frames at the end when given; the head's come from the
    same pass; the tail's are extracted once the
    last frame is known). Same report, same values."""
    head_n = max(0, seam_window)
    tail_n = head_n if tail_window is None else max(0, tail_window)
    args = _Args(reference, identity_every, thresholds, frame_count, cancel, progress, head_n, tail_n)
    with opencv_serial():
        if read_ahead > 0:
            source = ReadAhead(frames, read_ahead)
            try:
                return _analyze(source, args)
            finally:
                source.close()
        return _analyze(frames, args)


@dataclass(frozen=True, slots=True)
class _Args:
    reference: IdentityReference | None
    identity_every: int
    thresholds: SeamThresholds
    frame_count: int | None
    cancel: CancelToken | None
    progress: ProgressSink | None
    seam_window: int
    tail_window: int


class _Pass:
    """The state of one pass over a segment's frames (curves, identity samples, seam ends)."""

    def __init__(self, args: _Args) -> None:
        self.args = args
        self.geometry: AnalysisGeometry | None = None
        self.prev: SegmentFeatures | None = None
        self.ssims: list[float] = []
        self.motions: list[float] = []
        self.diffs: list[float] = []
        self.exposures: list[float] = []
        self.sharp: list[float] = []
        self.embeddings: list[tuple[int, tuple[float, ...] | None, IdentitySample]] = []
        self.pending: tuple[int, AnyFrame] | None = None  # the last frame, if not sampled yet
        self.head_feats: list[FrameFeatures] = []
        self.head_frames: list[AnyFrame] = []
        self.head_pairs: list[SegmentPair] = []
        self.last_pairs: deque[SegmentPair] = deque(maxlen=max(1, args.tail_window - 1))
        self.tail_frames: deque[tuple[int, AnyFrame]] = deque(maxlen=args.tail_window or 1)

    def add(self, index: int, frame: AnyFrame) -> None:
        window = self.args.seam_window
        if self.geometry is None:
            self.geometry = AnalysisGeometry.for_frame(frame)
        geometry = self.geometry
        if index < window:
            full = extract(frame, geometry)
            self.head_feats.append(full)
            self.head_frames.append(frame)
            feats: SegmentFeatures = full
        else:
            feats = extract_segment(frame, geometry)
        if self.args.tail_window:
            self.tail_frames.append((index, frame))
        self.sharp.append(feats.sharpness)
        if self.prev is not None:
            pair = compare_segment_features(self.prev, feats, geometry)
            self.ssims.append(pair.ssim)
            self.motions.append(pair.motion)
            self.diffs.append(pair.difference)
            self.exposures.append(abs(pair.exposure_jump))
            if index < window:
                self.head_pairs.append(pair)  # the seam analysis reuses it
            if self.args.tail_window:
                self.last_pairs.append(pair)
        self.prev = feats
        every = self.args.identity_every
        if every > 0 and index % every == 0:
            self.sample(index, frame)
            self.pending = None
        elif every > 0:
            self.pending = (index, frame)

    def sample(self, index: int, frame: AnyFrame) -> None:
        seen = observe_face(rgb_of(frame))
        box = seen.box if seen is not None else None
        self.embeddings.append((index, seen.embedding if seen else None, IdentitySample(index, None, box)))

    def finish(self, count: int) -> SegmentScan:
        geometry = self.geometry
        if count == 0 or geometry is None:
            raise InvalidInput("The segment has no frames", "Check that the file decodes to at least one frame.")
        if self.pending is not None:
            self.sample(*self.pending)
        args = self.args
        samples, ref_name, reason = _identity_curve(self.embeddings, args.reference)
        runs = frozen_runs(self.diffs, FROZEN_MAD)
        floor = MOTION_FLOOR_FRACTION * geometry.full[0]
        curves = _Curves(self.ssims, self.motions, self.exposures, self.sharp, floor)
        grades = _grade_segment(curves, runs, samples, ref_name, args.thresholds)
        measured = any(s.distance is not None for s in samples)
        report = SegmentReport(
            frame_count=count,
            ssim=tuple(self.ssims),
            motion=tuple(self.motions),
            difference=tuple(self.diffs),
            sharpness=tuple(self.sharp),
            frozen_runs=runs,
            identity=samples,
            identity_reference=ref_name if measured else "",
            identity_reason=reason,
            grades=tuple(grades),
            grade=worst([g.grade for g in grades]),
            score=min((g.score for g in grades), default=math.nan),
        )
        head_feats = self.head_feats
        head = None
        if head_feats:
            head = SeamSide(geometry, tuple(head_feats), tuple(self.head_frames), tuple(self.head_pairs))
        tail = None
        if args.tail_window:
            n = len(head_feats)
            feats = tuple(head_feats[i] if i < n else extract(f, geometry) for i, f in self.tail_frames)
            pairs = tuple(self.last_pairs)[len(self.last_pairs) - (len(feats) - 1) :] if len(feats) > 1 else ()
            tail = SeamSide(geometry, feats, tuple(f for _, f in self.tail_frames), pairs)
        return SegmentScan(report, head, tail)


def _analyze(frames: Iterable[AnyFrame], args: _Args) -> SegmentScan:
    state = _Pass(args)
    count = 0
    for index, frame in enumerate(frames):
        if args.cancel is not None:
            args.cancel.raise_if_cancelled("Segment analysis")
        state.add(index, frame)
        count = index + 1
        if args.progress is not None:
            args.progress(float(count), float(args.frame_count or count), "analysing frames")
    return state.finish(count)


def _identity_curve(
    embeddings: list[tuple[int, tuple[float, ...] | None, IdentitySample]],
    reference: IdentityReference | None,
) -> tuple[tuple[IdentitySample, ...], str, str]:
    if not embeddings:
        return (), "", ""
    if reference is not None:
        ref_vec: tuple[float, ...] | None = reference.embedding
        name = reference.label
    else:
        ref_vec = next((e for _, e, _ in embeddings if e is not None), None)
        name = "the first sampled face"
    samples = tuple(
        IdentitySample(i, face_distance(e, ref_vec) if e is not None and ref_vec is not None else None, s.box)
        for i, e, s in embeddings
    )
    missing = [s.frame for s in samples if s.box is None]
    if len(missing) == len(samples):
        reason = f"no face found in any of the {len(samples)} sampled frames; identity not measured"
    elif missing:
        shown = ", ".join(str(m) for m in missing[:6]) + (" …" if len(missing) > 6 else "")
        reason = f"no face found in sampled frame(s) {shown}"
    else:
        reason = ""
    return samples, name, reason


@dataclass(frozen=True, slots=True)
class _Curves:
    ssim: list[float]
    motion: list[float]
    exposure: list[float]
    sharpness: list[float]
    motion_floor: float


def _grade_segment(
    c: _Curves,
    runs: tuple[FrameRun, ...],
    samples: tuple[IdentitySample, ...],
    ref_name: str,
    th: SeamThresholds,
) -> list[MetricGrade]:
    grades: list[MetricGrade] = []

    def grade(metric: SeamMetric, value: float, detail: str) -> None:
        band = th.band(metric)
        grades.append(MetricGrade(metric, value, band.grade(value), band.score(value), f"{metric.value}: {detail}"))

    longest = max(runs, key=lambda r: r.length, default=None)
    if longest is not None:
        detail = f"{longest.length} near-identical frames from frame {longest.start}"
        grade(SeamMetric.FROZEN, float(longest.length - 1), detail)
    else:
        grade(SeamMetric.FROZEN, 0.0, "no repeated frames")
    med_sharp = statistics.median(c.sharpness)
    low = min(range(len(c.sharpness)), key=c.sharpness.__getitem__)
    dip = 1.0 - c.sharpness[low] / med_sharp if med_sharp > 0 else 0.0
    grade(SeamMetric.SHARPNESS, dip, f"sharpness dips {100 * dip:.0f} % below the median at frame {low}")
    if c.ssim:
        med = statistics.median(c.ssim)
        i = min(range(len(c.ssim)), key=c.ssim.__getitem__)
        grade(SeamMetric.SSIM, med - c.ssim[i], f"SSIM {c.ssim[i]:.3f} from frame {i} to {i + 1} vs median {med:.3f}")
        i = max(range(len(c.exposure)), key=c.exposure.__getitem__)
        value = c.exposure[i] - statistics.median(c.exposure)
        grade(SeamMetric.EXPOSURE, value, f"exposure changes {c.exposure[i]:.1f} L* from frame {i} to {i + 1}")
        i = max(range(len(c.motion)), key=c.motion.__getitem__)
        ratio = c.motion[i] / max(statistics.median(c.motion), c.motion_floor)
        detail = f"motion {c.motion[i]:.1f} px from frame {i} to {i + 1} ({ratio:.1f}x the median)"
        grade(SeamMetric.MOTION, ratio, detail)
    measured = [(s.frame, s.distance) for s in samples if s.distance is not None]
    if measured:
        frame, far = max(measured, key=lambda m: m[1])
        grade(SeamMetric.IDENTITY, far, f"face distance {far:.2f} to {ref_name} at frame {frame}")
    return grades
