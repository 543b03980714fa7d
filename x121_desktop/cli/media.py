"""`x121 media probe FILE [--json]`: what a video file holds, with an exact frame count.

Probing is pure file work (no database), so it calls core.media directly. Errors exit with
the error class's code: 2 for a bad media file, 5 for a missing one.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from x121_desktop.cli.output import print_json, print_table
from x121_desktop.core.timebase import frames_to_timecode


def register(sub: Any) -> None:
    media = sub.add_parser("media", help="video files: probe")
    msub = media.add_subparsers(dest="media_command", metavar="ACTION", required=True)
    probe = msub.add_parser("probe", help="codec, size, rate, exact frame count, GOP, VFR and damage of a video")
    probe.add_argument("file", type=Path, metavar="FILE")
    probe.add_argument("--json", action="store_true", help="print JSON")
    probe.set_defaults(handler=_probe)


def _probe(args: argparse.Namespace) -> int:
    from x121_desktop.core.media import probe

    info = probe(args.file)
    if args.json:
        print_json(info)
        return 0
    rate = info.rate
    fps = f"{rate.numerator}/{rate.denominator}" if rate.denominator != 1 else str(rate.numerator)
    rows: list[tuple[str, object]] = [
        ("file", info.path),
        ("container", info.container),
        ("codec", f"{info.codec} ({info.pix_fmt})"),
        ("size", f"{info.width}x{info.height}" + (f", rotated {info.rotation}°" if info.rotation else "")),
        ("rate", f"{fps} fps ({float(rate):.3f})" + (", variable frame rate: average" if info.is_vfr else "")),
        ("frames", info.frame_count),
        ("duration", frames_to_timecode(info.frame_count, rate)),
        ("gop", f"{info.gop} (longest), {info.keyframes} keyframes" + (", B-frames" if info.b_frames else "")),
        ("bit rate", f"{info.bit_rate // 1000} kb/s"),
        ("audio", "yes" if info.has_audio else "no"),
    ]
    if info.truncated:
        rows.append(("warning", f"truncated: only the first {info.frame_count} frames are whole"))
    rows += [(f"meta {k}", v) for k, v in sorted(info.metadata.items())]
    print_table(rows, ["field", "value"])
    return 0
