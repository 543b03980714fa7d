"""Video I/O with PyAV: probe, frame-accurate reading, encoding, assembly.

Stable API (other modules import only these names from `x121_desktop.core.media`):

    info = probe(path)                      # VideoInfo: codec, width, height, rate (Fraction),
                                            # frame_count (exact: counted from packets), duration
                                            # (FrameRange), rotation, pix_fmt, has_audio, is_vfr,
                                            # bit_rate, gop, keyframes, b_frames, truncated, metadata

    with FrameReader(path) as reader:       # random access by frame index, any GOP / B-frames
        img = reader.frame(41)              # rgb24 (H, W, 3) uint8; also reader[41], reader[-1]
        prev = reader.frame(40)             # backward single step: served from the GOP cache
        for img in reader.frames(0, 81):    # fast sequential decode (threaded), own container
            ...
    quarter = FrameReader(path, size=(w // 4, h // 4))   # frames scaled on decode (seam scans)
    for yuv in reader.frames_yuv(0, 81):    # YuvFrame: Y/U/V planes, matrix, range; no rgb24
        yuv.y, yuv.u, yuv.v, yuv.to_rgb()   # conversion (analysis from luma); see media/yuv.py
    reader.yuv_native                       # False: frames_yuv converts (prefer frames())
    reader.decode_path                      # "cuda" or "software" (CUDA tried first when offered)
    reader.info                             # the VideoInfo

    result = write_video(out_path, frames, Fraction(24), PROXY, metadata={"title": "…"})
    with VideoWriter(out_path, Fraction(24), LOSSLESS) as w:   # incremental; atomic on close
        w.write(img)

    report = assemble([SegmentCut(a), SegmentCut(b, start=8, length=40)], master_path,
                      metadata={"title": "…", "comment": json.dumps(...)})

Profiles: DELIVERY (H.264 crf 18, yuv420p), PROXY (H.264 crf 23, keyframe every ~1 s, no
B-frames: cheap scrubbing), INTERMEDIATE (H.264 qp 0 yuv444p: near-lossless, only the
rgb→yuv rounding, ±2 levels), LOSSLESS (FFV1 bgr0 in .mkv: bit-exact rgb24).

Rules and limits:
- Frame indices are the rank of each frame's pts among all video packets (presentation
  order); frame_count counts packets, not the container's claim. For variable frame rate files
  `is_vfr` is True, `rate` is the average, and indices still follow presentation order.
- Errors: MediaError (one sentence naming the file and the fix) for empty, truncated, damaged,
  audio-only, non-media or timestamp-less files; NotFound for a missing file.
  A truncated file whose header survives opens with `info.truncated` True and frame_count
  = the frames whose packets are complete; a file whose header is lost raises MediaError.
- Odd sizes: yuv420p profiles (DELIVERY, PROXY) pad one edge row/column (WriteResult.padded,
  WriteResult.width/height give the coded size); INTERMEDIATE and LOSSLESS keep odd sizes.
- Frames are returned as coded; `info.rotation` (degrees) says how to turn them for display.
- Writers go through a temp file in the target folder and os.replace: never a half file.
- Long calls take `cancel: CancelToken` and `progress: ProgressSink` (core/cancel.py).
- A FrameReader is not thread-safe; use one per thread.
"""

from __future__ import annotations

from x121_desktop.core.media.assembly import AssemblyReport, SegmentCut, SegmentReport, assemble
from x121_desktop.core.media.info import VideoInfo, probe
from x121_desktop.core.media.reader import Frame, FrameReader, ReaderStats
from x121_desktop.core.media.writer import (
    DELIVERY,
    INTERMEDIATE,
    LOSSLESS,
    PROFILES,
    PROXY,
    EncodeProfile,
    VideoWriter,
    WriteResult,
    write_video,
)
from x121_desktop.core.media.yuv import YuvFrame, YuvMatrix, yuv_from_av

__all__ = [
    "DELIVERY",
    "INTERMEDIATE",
    "LOSSLESS",
    "PROFILES",
    "PROXY",
    "AssemblyReport",
    "EncodeProfile",
    "Frame",
    "FrameReader",
    "ReaderStats",
    "SegmentCut",
    "SegmentReport",
    "VideoInfo",
    "VideoWriter",
    "WriteResult",
    "YuvFrame",
    "YuvMatrix",
    "assemble",
    "probe",
    "write_video",
    "yuv_from_av",
]
