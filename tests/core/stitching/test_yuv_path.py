"""The YUV path (features from decoded Y/U/V planes) against the rgb24 path, on real clips.

Both paths read the same decoded frames of real H.264 / MJPEG files made from photographs
(tests/media_factory.py): ``FrameReader.frames()`` (swscale → rgb24) and ``frames_yuv()``.

Documented tolerances (YUV path minus rgb24 path; measured maxima on these clips in brackets,
over several runs: DIS flow varies a little with thread scheduling):

==================================  ================  ========================================
value                               tolerance         why they differ
==================================  ================  ========================================
SSIM between frames                 0.01   (0.0047)   rounding of the expanded Y' vs RGB2GRAY
mean abs. difference (frozen test)  0.5, 1.5 (0.16,   the larger for BT.709 (see below)
                                    0.65 for BT.709)
sharpness                           6 % rel. (4.0)    same
motion (flow)                       15 % rel. (7.8)   DIS is sensitive to rounding on flat areas
L* percentiles of one frame         6 L*   (4.5)      luma is not luminance on saturated colours
consecutive exposure jump           2 L*   (1.4)      the same, mostly cancelling between frames
ΔE76 colour cast / chroma shift     0.3    (0.036)    chroma upsampling and rounding
per-pixel ΔE76                      0.6    (0.23)     same
histogram distance                  0.05   (0.018)    same
pHash distance                      6 bits (2)        rounding near the DCT median
==================================  ================  ========================================

For BT.709 streams the rgb24 path weighs 709-decoded RGB with BT.601 grey weights, while the YUV
path uses the coded luma, hence the larger grey-level difference there. Grades agree everywhere,
and the seam defect set (test_defect_set.py) run through the YUV path keeps recall 1.000 and no
false alarms.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import av.video.stream
import numpy as np
import pytest

from tests.core.stitching.planes import as_planes
from tests.media_factory import make_video, photo_frames
from tests.seam_fixtures import chained_segments, defect_set, seed_a
from x121_desktop.core.likeness import reference_from_image
from x121_desktop.core.media import FrameReader, YuvFrame
from x121_desktop.core.stitching.frames import AnalysisGeometry, Frame, extract
from x121_desktop.core.stitching.metrics import (
    analyze_seam,
    analyze_seam_sides,
    analyze_segment,
    frames_for_analysis,
    scan_segment,
    seam_side,
)
from x121_desktop.core.stitching.pairs import compare_features
from x121_desktop.core.stitching.score import Grade

TOL = {
    "ssim": 0.01,
    "difference": 0.5,
    "exposure_jump": 2.0,
    "delta_e_cast": 0.3,
    "chroma_shift": 0.3,
    "delta_e_pixels": 0.6,
    "histogram_distance": 0.05,
    "phash_distance": 6,
}
TOL_709_DIFFERENCE = 1.5
TOL_SHARPNESS = 0.06
TOL_MOTION = 0.15
TOL_PERCENTILE = 6.0


def _encode_709(path: Path, frames: list[Frame]) -> Path:
    """H.264 tagged BT.709 limited range, its planes written with the BT.709 matrix."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(24), options={"preset": "veryfast", "crf": "20"})
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.colorspace = 1
        stream.codec_context.color_range = 1
        for img in frames:
            vf = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p", dst_colorspace="ITU709")
            vf.colorspace, vf.color_range = 1, 1
            out.mux(stream.encode(vf))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("yuv-path")
    seam = [f for s in chained_segments("coffee", segments=2, frames=10) for f in s]
    return {
        "coffee 320x240 h264": make_video(root / "a.mp4", 16, size=(320, 240), photo_name="coffee"),
        "chelsea 512x512 h264": make_video(root / "b.mp4", 12, size=(512, 512), photo_name="chelsea"),
        "coffee seam 320x320 h264": make_video(root / "c.mp4", seam, size=(320, 320)),
        "rocket 320x240 mjpeg yuvj420p": make_video(root / "j.mkv", 12, codec="mjpeg", size=(320, 240)),
        "astronaut 321x241 ffv1 yuv420p": make_video(
            root / "o.mkv", 8, codec="ffv1", pix_fmt="yuv420p", size=(321, 241)
        ),
        "astronaut 1280x720 h264 bt709": _encode_709(root / "h.mp4", photo_frames(10, (1280, 720), "astronaut")),
    }


def _both(path: Path) -> tuple[list[Frame], list[YuvFrame]]:
    with FrameReader(path) as reader:
        return list(reader.frames()), list(reader.frames_yuv())


def test_features_and_pairs_match_the_rgb_path(clips: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    for name, path in clips.items():
        rgb, yuv = _both(path)
        assert len(rgb) == len(yuv) > 2
        g = AnalysisGeometry.for_frame(rgb[0])
        assert AnalysisGeometry.for_frame(yuv[0]) == g
        fr, fy = [extract(f, g) for f in rgb], [extract(f, g) for f in yuv]
        worst: dict[str, float] = dict.fromkeys((*TOL, "sharpness", "motion", "percentile"), 0.0)
        for a, b in zip(fr, fy, strict=True):
            worst["sharpness"] = max(worst["sharpness"], abs(b.sharpness / a.sharpness - 1))
            pct = max(abs(x - y) for x, y in zip(a.luma_percentiles, b.luma_percentiles, strict=True))
            worst["percentile"] = max(worst["percentile"], pct)
        for (a0, a1), (b0, b1) in zip(itertools.pairwise(fr), itertools.pairwise(fy), strict=True):
            pr, py = compare_features(a0, a1, g), compare_features(b0, b1, g)
            for key in TOL:
                worst[key] = max(worst[key], abs(float(getattr(pr, key)) - float(getattr(py, key))))
            worst["motion"] = max(worst["motion"], abs(py.motion - pr.motion) / max(pr.motion, 0.5))
        lines.append(f"{name:32s} " + " ".join(f"{k}={v:.3g}" for k, v in worst.items()))
        bt709 = "bt709" in name
        for key, tol in TOL.items():
            limit = TOL_709_DIFFERENCE if key == "difference" and bt709 else tol
            assert worst[key] <= limit, (name, key, worst[key])
        assert worst["sharpness"] <= TOL_SHARPNESS, (name, worst["sharpness"])
        assert worst["motion"] <= TOL_MOTION, (name, worst["motion"])
        assert worst["percentile"] <= TOL_PERCENTILE, (name, worst["percentile"])
    with capsys.disabled():
        print("\n\nYUV path minus rgb24 path, worst case per clip:")
        print("\n".join(lines))


def test_segment_reports_agree(clips: dict[str, Path]) -> None:
    for name, path in clips.items():
        rgb, yuv = _both(path)
        a, b = analyze_segment(rgb, identity_every=0), analyze_segment(yuv, identity_every=0)
        assert a.frame_count == b.frame_count
        assert [g.metric for g in a.grades] == [g.metric for g in b.grades]
        assert a.frozen_runs == b.frozen_runs, name
        np.testing.assert_allclose(b.ssim, a.ssim, atol=TOL["ssim"], err_msg=name)
        np.testing.assert_allclose(b.sharpness, a.sharpness, rtol=TOL_SHARPNESS, err_msg=name)
        assert [g.grade for g in a.grades] == [g.grade for g in b.grades], name


def test_identity_samples_come_from_the_planes(clips: dict[str, Path]) -> None:
    path = clips["astronaut 1280x720 h264 bt709"]
    seed = reference_from_image(seed_a(), "Seed A (astronaut)")
    with FrameReader(path) as reader:
        from_rgb = analyze_segment(reader.frames(), reference=seed, identity_every=3)
        from_yuv = analyze_segment(reader.frames_yuv(), reference=seed, identity_every=3, read_ahead=2)
    assert [s.frame for s in from_yuv.identity] == [s.frame for s in from_rgb.identity] == [0, 3, 6, 9]
    assert [s.box is None for s in from_yuv.identity] == [s.box is None for s in from_rgb.identity]
    measured = [(a.distance, b.distance) for a, b in zip(from_rgb.identity, from_yuv.identity, strict=True)]
    assert any(d is not None for d, _ in measured)  # the astronaut's face, found in YuvFrame.to_rgb()
    for d_rgb, d_yuv in measured:
        if d_rgb is not None:
            assert d_yuv == pytest.approx(d_rgb, abs=0.05)


def _same_reports(a: object, b: object) -> None:
    """Equal field by field; motion (DIS, whose worker threads may sum in another order) to 1e-6."""
    for field in a.__dataclass_fields__:  # type: ignore[attr-defined]
        va, vb = getattr(a, field), getattr(b, field)
        if field in ("motion", "motion_across", "motion_within"):
            assert vb == pytest.approx(va, rel=1e-6), field
        elif field == "grades":
            assert [(g.metric, g.grade) for g in va] == [(g.metric, g.grade) for g in vb]
            assert [g.value for g in vb] == pytest.approx([g.value for g in va], rel=1e-6)
        elif field == "score":
            assert vb == pytest.approx(va, rel=1e-6)
        else:
            assert va == vb, field


def test_seam_from_kept_features_equals_analyze_seam(clips: dict[str, Path]) -> None:
    with FrameReader(clips["coffee seam 320x320 h264"]) as reader:
        frames = list(reader.frames_yuv())
        scan = scan_segment(reader.frames_yuv(10, 20), seam_window=4, identity_every=0, read_ahead=3)
    assert scan.head is not None
    assert scan.tail is not None
    assert len(scan.head.features) == len(scan.tail.features) == 4
    # the scan's pair metrics within each side travel with it (the seam report reuses them)
    assert [p.ssim for p in scan.head.pairs] == list(scan.report.ssim[:3])
    assert [p.ssim for p in scan.tail.pairs] == list(scan.report.ssim[-3:])
    assert [p.motion for p in scan.tail.pairs] == list(scan.report.motion[-3:])
    assert seam_side(frames[6:10]).pairs == ()
    _same_reports(scan.report, analyze_segment(frames[10:20], identity_every=0))
    tail, head = frames[6:10], frames[10:14]
    _same_reports(
        analyze_seam_sides(seam_side(tail), scan.head, identity=False), analyze_seam(tail, head, identity=False)
    )
    head_only = scan_segment(frames[10:20], seam_window=4, tail_window=0, identity_every=0)
    assert head_only.tail is None
    assert head_only.head is not None
    assert len(head_only.head.features) == 4
    short = scan_segment(frames[10:13], seam_window=4, identity_every=0)  # shorter than the window
    assert short.head is not None
    assert short.tail is not None
    assert short.tail.features == short.head.features  # the very same objects, not re-extracted
    # the tail a scan keeps is that of its own last frames
    _same_reports(
        analyze_seam_sides(scan.tail, scan.head, identity=False),
        analyze_seam(frames[16:20], head, identity=False),
    )


def test_kept_sides_of_other_sizes_fall_back_to_frames() -> None:
    small = chained_segments("chelsea", segments=1, frames=3, size=160)[0]
    big = chained_segments("chelsea", segments=1, frames=3, size=320)[0]
    _same_reports(
        analyze_seam_sides(seam_side(small), seam_side(big), identity=False), analyze_seam(small, big, identity=False)
    )


def test_defect_set_through_the_yuv_path(capsys: pytest.CaptureFixture[str]) -> None:
    seed = reference_from_image(seed_a(), "Seed A (astronaut)")
    caught = alarms = defects = cleans = 0
    for case in defect_set():
        tail, head = case.window()
        ref = seed if case.photo == "astronaut" else None
        report = analyze_seam(as_planes(tail), as_planes(head), reference=ref)
        flagged = report.grade is not Grade.GREEN
        if case.defect.is_clean:
            cleans += 1
            alarms += flagged
        else:
            defects += 1
            caught += flagged
    with capsys.disabled():
        print(
            f"\nYUV path on the seam defect set: RECALL {caught / defects:.3f} ({caught}/{defects}); "
            f"FALSE ALARMS {alarms / cleans:.3f} ({alarms}/{cleans})"
        )
    assert caught == defects
    assert alarms == 0


def test_frames_for_analysis_falls_back_to_rgb24(clips: dict[str, Path], tmp_path: Path) -> None:
    with FrameReader(clips["rocket 320x240 mjpeg yuvj420p"]) as reader:
        planes = list(frames_for_analysis(reader, 2, 5))
    assert all(isinstance(f, YuvFrame) for f in planes)
    assert len(planes) == 3
    other = make_video(tmp_path / "444.mkv", 6, codec="ffv1", size=(160, 120))  # yuv444p
    with FrameReader(other) as reader:
        assert not reader.yuv_native
        frames = list(frames_for_analysis(reader))
        report = analyze_segment(frames_for_analysis(reader), identity_every=0)
    assert all(isinstance(f, np.ndarray) and f.shape == (120, 160, 3) for f in frames)
    _same_reports(report, analyze_segment(frames, identity_every=0))
