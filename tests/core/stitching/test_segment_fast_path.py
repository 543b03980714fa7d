"""The fast along-segment path: decode read-ahead, per-frame SSIM terms, DIS flow per shape.

Checked against the straightforward computations on real photographs and a real H.264 file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media_factory import make_video
from tests.seam_fixtures import chained_segments
from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.errors import Cancelled, MediaError
from x121_desktop.core.media.reader import FrameReader
from x121_desktop.core.stitching.frames import AnalysisGeometry, extract, extract_segment
from x121_desktop.core.stitching.metrics import analyze_segment, compare_frames
from x121_desktop.core.stitching.motion import flow_magnitude
from x121_desktop.core.stitching.pairs import compare_segment_features
from x121_desktop.core.stitching.readahead import ReadAhead
from x121_desktop.core.stitching.ssim import ssim, ssim_from_stats, ssim_stats
from x121_desktop.core.stitching.workers import opencv_serial


def test_ssim_from_per_frame_terms_equals_ssim() -> None:
    seg = chained_segments("coffee", segments=1, frames=4)[0]
    g = AnalysisGeometry.for_frame(seg[0])
    a, b = extract(seg[0], g), extract(seg[3], g)
    assert ssim_from_stats(ssim_stats(a.gray), ssim_stats(b.gray)) == pytest.approx(ssim(a.gray, b.gray), abs=1e-6)
    assert ssim_from_stats(a.ssim, a.ssim) == pytest.approx(1.0, abs=1e-6)


def test_segment_features_and_pairs_match_the_seam_ones() -> None:
    seg = chained_segments("chelsea", segments=1, frames=3)[0]
    g = AnalysisGeometry.for_frame(seg[0])
    full = compare_frames(seg[0], seg[2])
    lean = compare_segment_features(extract_segment(seg[0], g), extract_segment(seg[2], g), g)
    assert (lean.ssim, lean.difference, lean.exposure_jump) == (full.ssim, full.difference, full.exposure_jump)
    assert lean.motion == pytest.approx(full.motion, rel=1e-9)


def test_flow_does_not_depend_on_what_was_measured_before() -> None:
    seg = chained_segments("astronaut", segments=1, frames=2)[0]
    g = AnalysisGeometry.for_frame(seg[0])
    a, b = extract(seg[0], g).motion_gray, extract(seg[1], g).motion_gray
    first = flow_magnitude(a, b)
    big = np.ascontiguousarray(np.tile(a, (3, 4)))
    flow_magnitude(big, np.roll(big, 2, axis=1))  # another shape in between
    assert flow_magnitude(a, b) == pytest.approx(first, rel=1e-6)  # DIS threads may round differently
    assert 0.05 < first < 2.0  # a slow pan: a fraction of a pixel at 1/8 size


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    frames = [f for s in chained_segments("coffee", segments=2, frames=12) for f in s]
    path = make_video(tmp_path_factory.mktemp("seg") / "coffee.mp4", frames, size=(320, 320), gop=12)
    with FrameReader(path) as reader:
        decoded = list(reader.frames())
    return path, decoded


def test_read_ahead_gives_the_same_report_as_serial(clip: tuple[Path, list[np.ndarray]]) -> None:
    path, decoded = clip
    serial = analyze_segment(decoded, identity_every=0)
    threads: set[str] = set()

    def frames() -> Iterator[np.ndarray]:
        with FrameReader(path) as reader:
            for f in reader.frames():
                threads.add(threading.current_thread().name)
                yield f

    ahead = analyze_segment(frames(), identity_every=0, read_ahead=3)
    # motion comes from DIS, whose worker threads may sum in another order (differences ~1e-10)
    assert ahead.motion == pytest.approx(serial.motion, rel=1e-6)
    assert ahead.grades == serial.grades or [g.grade for g in ahead.grades] == [g.grade for g in serial.grades]
    assert (ahead.ssim, ahead.difference, ahead.sharpness) == (serial.ssim, serial.difference, serial.sharpness)
    assert ahead.frozen_runs == serial.frozen_runs
    assert ahead.frame_count == len(decoded) == 24
    assert threads == {"x121-segment-read-ahead"}


def test_read_ahead_re_raises_decoder_errors_and_stops_on_cancel(clip: tuple[Path, list[np.ndarray]]) -> None:
    _, decoded = clip
    closed = threading.Event()

    def failing() -> Iterator[np.ndarray]:
        try:
            yield from decoded[:5]
            raise MediaError("clip.mp4 cannot deliver frame 5 of 24", "Re-export the file.")
        finally:
            closed.set()

    with pytest.raises(MediaError, match="cannot deliver frame 5"):
        analyze_segment(failing(), identity_every=0, read_ahead=2)
    assert closed.is_set()

    token = CancelToken()
    produced: list[int] = []
    closed.clear()

    def endless() -> Iterator[np.ndarray]:
        try:
            i = 0
            while True:
                produced.append(i)
                if i == 4:
                    token.cancel()
                yield decoded[i % len(decoded)]
                i += 1
        finally:
            closed.set()

    with pytest.raises(Cancelled):
        analyze_segment(endless(), identity_every=0, read_ahead=2, cancel=token)
    assert closed.is_set()  # the source was closed on its own thread
    assert len(produced) < 20


def test_opencv_runs_serially_during_a_scan_and_the_setting_comes_back() -> None:
    seg = chained_segments("coffee", segments=1, frames=4)[0]
    before = cv2.getNumThreads()
    seen: list[int] = []

    def frames() -> Iterator[np.ndarray]:
        for f in seg:
            seen.append(cv2.getNumThreads())
            yield f

    analyze_segment(frames(), identity_every=0)
    assert seen == [1] * len(seg)
    assert cv2.getNumThreads() == before
    with opencv_serial():
        with opencv_serial():  # nested, as a scan inside another
            assert cv2.getNumThreads() == 1
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == before


@pytest.mark.parametrize(("depth", "batch"), [(1, 4), (3, 2), (8, 4)])
def test_read_ahead_delivers_every_item_in_order(depth: int, batch: int) -> None:
    def slow() -> Iterator[int]:
        for i in range(40):
            if i % 7 == 0:
                time.sleep(0.002)  # a decoder that sometimes lags behind the consumer
            yield i

    source = ReadAhead(slow(), depth, wake_batch=batch)
    try:
        got = []
        for i in source:
            got.append(i)
            if i % 5 == 0:
                time.sleep(0.001)  # and a consumer that sometimes lags behind the decoder
    finally:
        source.close()
    assert got == list(range(40))
