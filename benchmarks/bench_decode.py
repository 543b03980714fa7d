"""Decode throughput (the limit for seam QA) and random-seek cost vs GOP size.

Generates 1080p and 512x512 clips from a real photo (slow pan) with libx264, then prints:
- decode fps: one thread vs thread_type AUTO, with and without to_ndarray("rgb24"),
  plain PyAV and our FrameReader.frames();
- random seek p50/p95 (FrameReader, cache cleared each time) at GOP 24 vs GOP 250, and the
  cost of stepping back one frame (served from the GOP cache).
Figures vary ±20 % on a shared machine; read them as orders of magnitude.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

import av

from tests.media_factory import make_video
from x121_desktop.core.media import FrameReader


def _decode_fps(path: Path, *, threads: str, convert: bool) -> float:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        if threads == "AUTO":
            stream.thread_type = "AUTO"
        else:
            stream.codec_context.thread_count = 1
        t0 = time.perf_counter()
        n = 0
        for frame in c.decode(stream):
            if convert:
                frame.to_ndarray(format="rgb24")
            n += 1
        return n / (time.perf_counter() - t0)


def _reader_fps(path: Path) -> float:
    with FrameReader(path, hwaccel=False) as reader:
        t0 = time.perf_counter()
        n = sum(1 for _ in reader.frames())
        return n / (time.perf_counter() - t0)


def _seek_ms(path: Path, samples: int) -> tuple[float, float, float]:
    """(p50, p95) of random seeks, and the mean of one-frame backward steps, in ms."""
    rng = random.Random(7)
    times: list[float] = []
    back: list[float] = []
    with FrameReader(path, hwaccel=False) as reader:
        n = reader.frame_count
        for _ in range(samples):
            reader._cache.clear()  # measure the seek, not the cache
            target = rng.randrange(1, n)
            t0 = time.perf_counter()
            reader.frame(target)
            times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            reader.frame(target - 1)
            back.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], statistics.mean(back)


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="x121-bench-") as tmp:
        d = Path(tmp)
        specs = [
            ("1080p gop24", "hd24.mp4", 150, (1920, 1080), 24),
            ("1080p gop250", "hd250.mp4", 150, (1920, 1080), 250),
            ("512² gop24", "sq24.mp4", 240, (512, 512), 24),
            ("512² gop250", "sq250.mp4", 240, (512, 512), 250),
        ]
        clips: dict[str, Path] = {}
        for label, name, count, size, gop in specs:
            t0 = time.perf_counter()
            clips[label] = make_video(d / name, count, size=size, gop=gop)
            print(f"  made {label} in {time.perf_counter() - t0:.1f} s")
        print("\ndecode fps (plain PyAV; FrameReader.frames() returns rgb24 arrays)")
        print(f"  {'clip':<14}{'1 thread':>10}{'AUTO':>8}{'1t+rgb':>9}{'AUTO+rgb':>10}{'reader':>8}")
        for name in ("1080p gop24", "512² gop24"):
            path = clips[name]
            figs = [
                _decode_fps(path, threads="1", convert=False),
                _decode_fps(path, threads="AUTO", convert=False),
                _decode_fps(path, threads="1", convert=True),
                _decode_fps(path, threads="AUTO", convert=True),
                _reader_fps(path),
            ]
            print(f"  {name:<14}" + "".join(f"{f:>{w}.0f}" for f, w in zip(figs, (10, 8, 9, 10, 8), strict=True)))
        print("\nrandom seek by frame index (FrameReader, cache cleared before each seek)")
        print(f"  {'clip':<14}{'p50 ms':>8}{'p95 ms':>8}{'step back ms':>14}")
        for name, path in clips.items():
            p50, p95, back = _seek_ms(path, 25 if name.startswith("1080p") else 40)
            print(f"  {name:<14}{p50:>8.1f}{p95:>8.1f}{back:>14.2f}")
