"""`x121 seam analyze|heal` and `x121 stitch`: seam QA, healing and assembly on video files.

    x121 seam analyze A B [--seed-a IMG] [--json]      grade the seam from A's end into B
    x121 seam heal A B -o OUT [--json]                 heal it and write A+B joined to OUT
    x121 stitch FILES… -o OUT [--mode simple|advanced] [--json]

Pure file work (no database), so these call core.media and core.stitching directly, as
`x121 media probe` does. `seam analyze` measures decoded planes (the YUV path of
core/stitching/frames.py, what benchmarks/bench_seam.py times); `heal` and `stitch` change or
write pixels, so they read rgb24 frames. Exit codes: 0 done; 2 bad input (not a video, unreadable image, no face
in the seed); 5 a file is missing; 10 `seam heal` found no remedy: the boundary needs
regeneration (nothing is written). `seam analyze` exits 0 whatever the grade: read it from the output.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from x121_desktop.cli.output import print_json, print_table
from x121_desktop.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from x121_desktop.core.likeness import IdentityReference
    from x121_desktop.core.media import Frame, FrameReader
    from x121_desktop.core.stitching.report import SeamReport

EXIT_NEEDS_REGENERATION = 10
WINDOW = 6  # frames each side of a seam read for analysis
SEARCH = 8  # overlap window searched by advanced stitching


def register(sub: Any) -> None:
    seam = sub.add_parser("seam", help="seam QA and healing between two segment files")
    ssub = seam.add_subparsers(dest="seam_command", metavar="ACTION", required=True)

    analyze = ssub.add_parser("analyze", help="grade the seam from the end of A into the start of B")
    _pair_args(analyze)
    analyze.set_defaults(handler=_analyze)

    heal = ssub.add_parser("heal", help="heal the seam (colour match, crossfade) and write A+B joined")
    _pair_args(heal)
    heal.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="joined, healed video")
    heal.add_argument("--overlap", type=int, default=0, metavar="N", help="B's first N frames repeat A's last N")
    heal.add_argument("--decay", type=int, default=None, metavar="FRAMES", help="fade the colour match out")
    heal.add_argument("--space", choices=("linear", "lab", "srgb"), default="linear", help="crossfade space")
    heal.add_argument("--profile", default="delivery", help="encode profile (delivery, proxy, intermediate, lossless)")
    heal.set_defaults(handler=_heal)

    stitch = sub.add_parser("stitch", help="join segment files into one video (simple or validated cuts)")
    stitch.add_argument("files", type=Path, nargs="+", metavar="FILES")
    stitch.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    stitch.add_argument("--mode", choices=("simple", "advanced"), default="simple", help="default: simple")
    stitch.add_argument("--seed-a", type=Path, metavar="IMG", help="Seed A for the identity check")
    stitch.add_argument("--json", action="store_true", help="print JSON")
    stitch.set_defaults(handler=_stitch)


def _pair_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=Path, metavar="A", help="segment N")
    p.add_argument("b", type=Path, metavar="B", help="segment N+1")
    p.add_argument("--seed-a", type=Path, metavar="IMG", help="Seed A: identity is measured against it")
    p.add_argument("--json", action="store_true", help="print JSON")


# ------------------------------------------------------------------ analyze


def _analyze(args: argparse.Namespace) -> int:
    from x121_desktop.core.media import FrameReader
    from x121_desktop.core.stitching.metrics import analyze_seam, frames_for_analysis

    reference = _seed(args.seed_a)
    with FrameReader(args.a) as ra, FrameReader(args.b) as rb:
        # The YUV path (decoded planes, no rgb24 conversion; rgb24 for other pixel formats), as
        # benchmarks/bench_seam.py measures it. The planes view decoder memory: kept frames stay valid.
        n = ra.frame_count
        tail = list(frames_for_analysis(ra, max(0, n - WINDOW), n))
        head = list(frames_for_analysis(rb, 0, min(WINDOW, rb.frame_count)))
    report = analyze_seam(tail, head, reference=reference)
    if args.json:
        print_json({"a": args.a, "b": args.b, "seed_a": args.seed_a, "report": report})
        return 0
    _print_seam(report)
    return 0


def _print_seam(report: SeamReport) -> None:
    rows = [(g.metric.value, g.grade.value, f"{g.value:.3f}", g.detail) for g in report.grades]
    print_table(rows, ["metric", "grade", "value", "detail"])
    print(f"seam: {report.grade.value} (score {report.score:.2f})")
    if report.identity is not None and report.identity.reason:
        print(f"note: {report.identity.reason}")


# ------------------------------------------------------------------ heal


def _heal(args: argparse.Namespace) -> int:
    from x121_desktop.core.media import PROFILES, FrameReader, write_video
    from x121_desktop.core.stitching.crossfade import BlendSpace
    from x121_desktop.core.stitching.healing import HealRequest, HealVerdict, heal_seam

    profile = PROFILES.get(args.profile)
    if profile is None:
        raise InvalidInput(f"There is no encode profile '{args.profile}'", f"Use one of {', '.join(PROFILES)}.")
    reference = _seed(args.seed_a)
    with FrameReader(args.a) as ra, FrameReader(args.b) as rb:
        _check_pair(ra, rb)
        keep = max(WINDOW, 8) + 1  # the scorer's context plus the longest crossfade
        n_a = ra.frame_count
        tail = tuple(_tail(ra, keep))
        head = tuple(rb.frames(0, rb.frame_count))
        result = heal_seam(
            HealRequest(
                tail, head, overlap=args.overlap, reference=reference,
                decay_frames=args.decay, blend_space=BlendSpace(args.space),
            )
        )  # fmt: skip
        report = result.report
        written = None
        if report.verdict is not HealVerdict.NEEDS_REGENERATION:
            frames = [*ra.frames(0, n_a - len(tail)), *result.tail, *result.head]
            written = write_video(args.output, frames, ra.info.rate, profile)
    if args.json:
        print_json({"a": args.a, "b": args.b, "output": written, "report": report})
    else:
        print(f"seam: {report.grade_before.value} -> {report.grade_after.value} ({report.remedy}); {report.reason}")
        for attempt in report.attempts:
            params = ", ".join(f"{k}={v}" for k, v in attempt.parameters.items())
            verdict = "passes" if attempt.passed else "fails"
            print(f"  tried {attempt.remedy.value} ({params}): {attempt.grade_after.value}, {verdict}")
        if written is not None:
            print(f"wrote {written.path} ({written.frame_count} frames)")
    return EXIT_NEEDS_REGENERATION if report.verdict is HealVerdict.NEEDS_REGENERATION else 0


# ------------------------------------------------------------------ stitch


def _stitch(args: argparse.Namespace) -> int:
    from x121_desktop.core.media import FrameReader
    from x121_desktop.core.media.assembly import SegmentCut, assemble
    from x121_desktop.core.stitching.modes import CutRequest, advanced_cut, simple_cut

    files: Sequence[Path] = args.files
    reference = _seed(args.seed_a)
    readers = [FrameReader(f) for f in files]
    try:
        for r in readers[1:]:
            _check_pair(readers[0], r)
        starts = [0] * len(files)
        ends = [r.frame_count for r in readers]
        seams = []
        for i, (ra, rb) in enumerate(itertools.pairwise(readers)):
            n_a = ra.frame_count
            first = max(starts[i], n_a - SEARCH - WINDOW)
            req = CutRequest(tuple(ra.frames(first, n_a)), tuple(_head(rb, SEARCH + WINDOW)), tail_start=first,
                             window=SEARCH, reference=reference)  # fmt: skip
            choice = advanced_cut(req) if args.mode == "advanced" else simple_cut(req)
            ends[i], starts[i + 1] = choice.tail_index + 1, choice.head_index
            seams.append({
                "boundary": i, "a": files[i], "b": files[i + 1], "tail_index": choice.tail_index,
                "head_index": choice.head_index, "trimmed_tail": choice.trimmed_tail,
                "trimmed_head": choice.trimmed_head, "grade_before": choice.grade_before,
                "grade_after": choice.grade_after, "score_before": choice.score_before,
                "score_after": choice.score_after, "reasons": choice.after.reasons,
            })  # fmt: skip
    finally:
        for r in readers:
            r.close()
    cuts = [SegmentCut(f, s, e - s) for f, s, e in zip(files, starts, ends, strict=True)]
    assembly = assemble(cuts, args.output)
    if args.json:
        print_json({"mode": args.mode, "output": args.output, "seams": seams, "assembly": assembly})
        return 0
    rows = [(s["boundary"], f"{s['grade_before']} -> {s['grade_after']}", s["trimmed_tail"], s["trimmed_head"])
            for s in seams]  # fmt: skip
    if rows:
        print_table(rows, ["seam", "grade", "trimmed from A", "trimmed from B"])
    print(f"wrote {assembly.path} ({assembly.frame_count} frames, {assembly.method}: {assembly.reason})")
    return 0


# ------------------------------------------------------------------ shared


def _tail(reader: FrameReader, count: int) -> list[Frame]:
    n = reader.frame_count
    return list(reader.frames(max(0, n - count), n))


def _head(reader: FrameReader, count: int) -> list[Frame]:
    return list(reader.frames(0, min(count, reader.frame_count)))


def _check_pair(a: FrameReader, b: FrameReader) -> None:
    ia, ib = a.info, b.info
    if (ia.width, ia.height, ia.rate) != (ib.width, ib.height, ib.rate):
        raise InvalidInput(
            f"{a.path} is {ia.width}x{ia.height} at {ia.rate} fps but {b.path} is {ib.width}x{ib.height} "
            f"at {ib.rate} fps",
            "Conform the segments to one size and rate first.",
        )


def _seed(path: Path | None) -> IdentityReference | None:
    """Seed A's identity from an image file (None without one)."""
    if path is None:
        return None
    import cv2
    import numpy as np

    from x121_desktop.core.likeness import reference_from_image

    if not path.is_file():
        raise NotFound(f"The seed image {path} does not exist", "Check the path.")
    data = np.fromfile(path, dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise InvalidInput(f"{path} is not an image OpenCV can read", "Give a PNG or JPEG of Seed A.")
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    return reference_from_image(rgb, label=f"Seed A ({path.name})")
