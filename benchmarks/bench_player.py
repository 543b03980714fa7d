"""Review player: Ambilight cost per frame, 4 x 1080p30 H.264 in the 2x2 grid for 20 s (dropped
frames), frame step inside the cache window, random seek on a 1 s GOP 1080p file — originals and
review proxies — and A/V sync of playback sound over 20 s through the real QAudioSink on a private
PulseAudio null sink (max |audio clock - video clock|; needs pulseaudio, else it says so).
`X121_BENCH_PLAYER=av` (or ambilight, grid, seek; comma-separated) runs only those parts.

Runs offscreen (QPainter fallback: the decode workers deliver rgb24 at the cell size) with the
real monotonic clock. Inputs: four 20 s 1080p30 clips (libx264 veryfast crf 20, GOP 30 = 1 s) from
real photos — x264 chose P-frames only for them (B-frames were allowed, none were used) — one more
with a B-pyramid (3 B-frames, b-pyramid normal, b-adapt 0), and the review proxies of the four
(services.review_media.REVIEW_PROXY: 1 s GOP, no B-frames, fastdecode). They are kept in
$TMPDIR/x121-bench-player-v1 between runs (the first run spends about two minutes making them).

Seeks are measured before and after this round's changes in alternating blocks of 10 on the same
targets: "before" re-creates the former decode path in the worker (non-reference pictures decoded,
a stale prefetch run finished before the seek is served), "after" is the code as it is.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SECONDS = 20
RATE = 30
SIZE = (1920, 1080)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
GOALS = {"dropped": 0, "step_p95_ms": 5.0, "seek_p95_ms": 60.0, "ambilight_p95_ms": 2.0, "av_max_ms": 1000 / RATE}


def _inputs() -> tuple[list[Path], list[Path], Path]:
    from tests.media_factory import make_video
    from x121_desktop.services.review_media import make_review_proxy

    root = Path(tempfile.gettempdir()) / "x121-bench-player-v1"
    root.mkdir(exist_ok=True)
    originals, proxies = [], []
    for name in PHOTOS:
        src, proxy = root / f"{name}.mp4", root / f"{name}.proxy.mp4"
        if not src.exists():
            t0 = time.perf_counter()
            tmp = root / f"{name}.part.mp4"
            make_video(tmp, SECONDS * RATE, rate=RATE, size=SIZE, gop=RATE, photo_name=name)
            tmp.replace(src)
            print(f"  made {src.name} in {time.perf_counter() - t0:.1f} s")
        if not proxy.exists():
            t0 = time.perf_counter()
            make_review_proxy(src, proxy)
            print(f"  made {proxy.name} in {time.perf_counter() - t0:.1f} s")
        originals.append(src)
        proxies.append(proxy)
    pyramid = root / "astronaut.bpyramid.mp4"
    if not pyramid.exists():
        t0 = time.perf_counter()
        tmp = root / "astronaut.bpyramid.part.mp4"
        x264 = {"x264-params": "b-pyramid=normal:b-adapt=0"}
        make_video(tmp, SECONDS * RATE, rate=RATE, size=SIZE, gop=RATE, bframes=3, options=x264)
        tmp.replace(pyramid)
        print(f"  made {pyramid.name} in {time.perf_counter() - t0:.1f} s")
    return originals, proxies, pyramid


def _pump(app: object, until: Callable[[], bool], timeout: float) -> bool:
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    end = time.perf_counter() + timeout
    while not until():
        if time.perf_counter() > end:
            return False
        app.processEvents()
        time.sleep(0.0002)
    return True


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _grid_play(app: object, paths: list[Path]) -> dict[str, float]:
    from x121_desktop.ui.review.grid import ReviewGrid
    from x121_desktop.ui.review.player import PlayerController

    grid = ReviewGrid(2, 2, prefer_gl=False)
    grid.resize(1280, 720)
    grid.show()
    controller = PlayerController()
    for p in paths:
        controller.add_source(p, grid.add_cell(p.name))
    try:
        _pump(app, lambda: controller.ready and controller.clock.frame_count > 1, 20)
        controller.seek(0)
        _pump(app, lambda: all(controller.frames_ready(f) for f in range(30)), 20)  # pre-roll 1 s
        cpu0, t0 = time.process_time(), time.perf_counter()
        controller.play()
        _pump(app, lambda: time.perf_counter() - t0 >= SECONDS - 0.05, SECONDS + 1)
        controller.stop()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        stats = [c.scheduler.stats for c in controller.cells]
        shown = sum(s.shown for s in stats)
        return {
            "dropped": float(sum(s.dropped for s in stats)),
            "shown": float(shown),
            "due": float(len(stats) * (controller.clock.frame() + 1)),
            "late_ticks": float(sum(s.late_ticks for s in stats)),
            "behind_max": float(max(s.behind_max for s in stats)),
            "cpu_share": cpu / wall,
            "step": _steps(app, controller),
        }
    finally:
        controller.close()
        grid.deleteLater()


def _steps(app: object, controller: object) -> float:
    """p95 of step → all four cells repainted, inside the cache window (ms)."""
    from x121_desktop.ui.review.frame_view import PainterFrameCanvas
    from x121_desktop.ui.review.player import PlayerController

    assert isinstance(controller, PlayerController)
    controller.seek(300)
    _pump(app, lambda: all(controller.frames_ready(f) for f in range(285, 330)), 20)
    _pump(app, lambda: all(c.source.idle for c in controller.cells), 30)  # the window is full
    canvases = [c.view.canvas for c in controller.cells]
    times: list[float] = []
    for n in [1] * 25 + [-1] * 25 + [1] * 25 + [-1] * 25:
        before = [c.paints for c in canvases if isinstance(c, PainterFrameCanvas)]
        t0 = time.perf_counter()
        controller.step(n)
        target = controller.clock.frame()

        def painted(t: int = target, b: list[int] = before) -> bool:
            fresh = [c.paints for c in canvases if isinstance(c, PainterFrameCanvas)]
            return all(c.view.shown_index == t for c in controller.cells) and all(
                x > y for x, y in zip(fresh, b, strict=True)
            )

        _pump(app, painted, 2)
        times.append((time.perf_counter() - t0) * 1000)
    return _p(times, 0.95)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} /{_p(values, 0.95):6.1f} /{max(values):6.1f}"


def _painted(view: Any, frame: int, paints_before: int) -> bool:
    """`frame` is on the view and the canvas has painted since the seek (paused, the scheduler shows
    the target only, so that paint drew it)."""
    return bool(view.shown_index == frame and view.canvas.paints > paints_before)


@contextmanager
def _former_decode_path() -> Iterator[None]:
    """The worker's reader as it was before: every picture decoded, and a request in flight never
    cancelled (so a seek waits for the prefetch run in progress)."""
    from x121_desktop.core.cancel import CancelToken
    from x121_desktop.services import review_media

    current = review_media._ReviewReader

    class Former(current):  # type: ignore[valid-type,misc]  # a class made at run time on purpose
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, skip_nonref=False, **kwargs)

        def av_frame(self, index: int, *, cancel: CancelToken | None = None) -> Any:
            return super().av_frame(index)

    review_media._ReviewReader = Former  # type: ignore[misc]
    try:
        yield
    finally:
        review_media._ReviewReader = current  # type: ignore[misc]


def _seeks(app: object, path: Path, targets: list[int]) -> tuple[list[float], list[float]]:
    """Seeks to `targets` (frames not in the cache: a fresh player): seek → the frame painted (ms), and
    the CPU time the decode worker spent meanwhile (ms: the work, which the machine's load does not
    stretch the way it stretches wall-clock time)."""
    from x121_desktop.ui.review.frame_view import FrameView, PainterFrameCanvas
    from x121_desktop.ui.review.player import PlayerController

    view = FrameView(path.name, prefer_gl=False)
    view.resize(1280, 720)
    view.show()
    canvas = view.canvas
    assert isinstance(canvas, PainterFrameCanvas)
    controller = PlayerController()
    cell = controller.add_source(path, view)
    times: list[float] = []
    cpu: list[float] = []
    try:
        _pump(app, lambda: controller.ready and controller.clock.frame_count > 1, 20)
        worker = next(t for t in threading.enumerate() if t.name == f"x121-review-{path.name}" and t.is_alive())
        assert worker.ident is not None
        worker_clock = time.pthread_getcpuclockid(worker.ident)
        for target in targets:
            if cell.source.has(target):
                continue
            paints = canvas.paints
            c0, t0 = time.clock_gettime(worker_clock), time.perf_counter()
            controller.seek(target)
            _pump(app, partial(_painted, view, target, paints), 5)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.clock_gettime(worker_clock) - c0) * 1000)
            _pump(app, lambda: False, 0.25)  # a reviewer's pause between clicks; prefetch runs
    finally:
        controller.close()
        view.deleteLater()
    return times, cpu


def _seeks_before_after(app: object, path: Path, count: int = 40, block: int = 10) -> dict[str, list[float]]:
    """Random seeks, before and after in alternating blocks (same targets, each block a new player):
    wall-clock ms under "before"/"after", the decode worker's CPU ms under "before_cpu"/"after_cpu"."""
    rng = random.Random(121)
    frames = SECONDS * RATE
    out: dict[str, list[float]] = {"before": [], "after": [], "before_cpu": [], "after_cpu": []}
    for b in range(count // block):
        targets = [rng.randrange(frames) for _ in range(block)]
        for label in ("before", "after")[:: 1 if b % 2 == 0 else -1]:
            with _former_decode_path() if label == "before" else nullcontext():
                wall, cpu = _seeks(app, path, targets)
            out[label] += wall
            out[f"{label}_cpu"] += cpu
    return out


def _ambilight(frames: int = 120) -> dict[str, list[float]]:
    """Per-frame cost of cinema mode's glow at 1080p: border zones from the GL path's Y'CbCr planes or
    the QPainter path's rgb24, smoothing, and painting the surround (software QPainter, 2340x1316
    screen with the picture at 82 %: rendered at 1/4 resolution, margins blown up), on real photo
    frames. The surround is painted twice per frame, in alternating order on the same glow: "before"
    is the former QPainter-gradient painter (tests/ui/review/glow_reference.py: a fresh image, gradient
    fills, DestinationIn fades), "after" is cinema.GlowSurround (cached geometry, reused buffer)."""
    import av
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QImage, QPainter

    from tests.media_factory import photo_frames
    from tests.ui.review.glow_reference import render_glow
    from x121_desktop.core.media.yuv import yuv_from_av
    from x121_desktop.core.review.ambilight import GlowSmoother, border_glow, border_glow_yuv
    from x121_desktop.ui.review.cinema import GlowSurround, blit_glow

    rgbs = [f for name in PHOTOS for f in photo_frames(frames // len(PHOTOS), SIZE, name)]
    yuvs = [yuv_from_av(av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")) for f in rgbs]
    screen = QImage(round(SIZE[0] / 0.82) // 2 * 2, round(SIZE[1] / 0.82) // 2 * 2, QImage.Format.Format_RGB32)
    size = screen.size()
    picture = QRect((screen.width() - SIZE[0]) // 2, (screen.height() - SIZE[1]) // 2, *SIZE)
    surround = GlowSurround()

    def before(glow: Any) -> None:
        image = render_glow(screen.rect(), picture, glow)  # CinemaWindow.set_glow, before
        p = QPainter(screen)
        blit_glow(p, size, picture, image)  # CinemaWindow.paintEvent (the surround)
        p.end()

    def after(glow: Any) -> None:
        surround.render(size, picture, glow)  # CinemaWindow.set_glow
        p = QPainter(screen)
        surround.blit(p, size, picture)  # CinemaWindow.paintEvent (the surround)
        p.end()

    out: dict[str, list[float]] = {}
    for label, inputs, glow_of in (("yuv", yuvs, border_glow_yuv), ("rgb", rgbs, border_glow)):
        smoother = GlowSmoother()
        for n, item in enumerate(inputs):
            t0 = time.perf_counter()
            glow = smoother.update(glow_of(item))  # type: ignore[arg-type]  # each list meets its function
            zones = (time.perf_counter() - t0) * 1000
            out.setdefault(label, []).append(zones)
            for name, paint in (("before", before), ("after", after))[:: 1 if n % 2 else -1]:
                t1 = time.perf_counter()
                paint(glow)
                ms = (time.perf_counter() - t1) * 1000
                out.setdefault(f"paint_{name}", []).append(ms)
                out.setdefault(f"{label}_total_{name}", []).append(zones + ms)
    return out


def _print_ambilight(amb: dict[str, list[float]]) -> None:
    goal = GOALS["ambilight_p95_ms"]
    print("Ambilight per 1080p frame (ms), p50 / p95: zones + smoothing, surround painted in software")
    print(f"  {'':26}{'before':>16}{'after':>16}")
    rows = (("zones from Y'CbCr (GL)", "yuv", "yuv"), ("zones from rgb24", "rgb", "rgb"),
            ("paint surround", "paint_before", "paint_after"),
            ("total, GL path", "yuv_total_before", "yuv_total_after"),
            ("total, QPainter path", "rgb_total_before", "rgb_total_after"))  # fmt: skip
    for label, b, a in rows:
        vb, va = amb[b], amb[a]
        cells = "".join(f"{statistics.median(v):7.2f} /{_p(v, 0.95):6.2f}" for v in (vb, va))
        met = ""
        if "total" in label:
            met = "   MET" if _p(va, 0.95) <= goal else "   NOT MET"
            met += f" (goal p95 ≤ {goal:g} ms; after/before p95 {_p(va, 0.95) / _p(vb, 0.95):.2f})"
        print(f"  {label:26}{cells}{met}")


def _with_sound(src: Path, dst: Path) -> Path:
    """`src`'s video (packets copied) with AAC stereo 48 kHz as long: a tone per frame plus a little noise."""
    import av
    import numpy as np

    from tests.core.media.test_audio import pcm_stereo

    samples = pcm_stereo(SECONDS, Fraction(RATE))
    samples = (samples + np.random.default_rng(1).integers(-300, 300, samples.shape)).astype(np.int16)
    tmp = dst.with_suffix(".part.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        video = out.add_stream_from_template(inp.streams.video[0])
        audio: Any = out.add_stream("aac", rate=48000, layout="stereo")
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = video
                out.mux(packet)
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(
                samples[start : start + 1024].reshape(1, -1), format="s16", layout="stereo"
            )
            frame.sample_rate, frame.pts = 48000, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    tmp.replace(dst)
    return dst


def _av_sync(originals: list[Path]) -> None:
    """Playback sound against the clock for SECONDS at 1x, through the real QAudioSink on a null sink,
    in its own process (tests/ui/review/audio_device_probe.py): alone, and heard in the 2x2 grid."""
    from tests.ui.review.null_sink import null_sink

    sounding = originals[0].with_name("astronaut.sound.mp4")
    if not sounding.exists():
        _with_sound(originals[0], sounding)
    goal = GOALS["av_max_ms"]
    print(f"A/V sync, {SECONDS} s at 1x, QAudioSink on a private PulseAudio null sink (card use vs clock)")
    with tempfile.TemporaryDirectory() as tmp, null_sink(Path(tmp) / "pulse") as server:
        if server is None:
            print("  not measured: pulseaudio, pactl or parec is missing (apt-get install pulseaudio pulseaudio-utils)")
            return
        print(
            f"  {'':34}{'|drift| ms mean / p95 / p99 / max':>36}{'n':>6}{'fixes':>6}{'drops':>8}{'CPU':>5}{'load':>5}"
        )
        cases = (("1080p30 + AAC alone", [sounding]), ("heard in 2x2 grid of 4 x 1080p30", [sounding, *originals[1:]]))
        for label, clips in cases:
            env = {**server.env(), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(Path(__file__).parents[1])}
            args = [sys.executable, "-m", "tests.ui.review.audio_device_probe", str(SECONDS), *map(str, clips)]
            done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=SECONDS + 120, check=False)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode or not lines:
                print(f"  {label:34}probe failed: {done.stderr[-500:]}")
                continue
            r = json.loads(lines[-1])
            met = "MET" if r["drift_max_ms"] <= goal else "NOT MET"
            spread = " /".join(
                f"{r[k]:6.1f}" for k in ("drift_mean_ms", "drift_p95_ms", "drift_p99_ms", "drift_max_ms")
            )
            print(
                f"  {label:34}{spread:>36}{r['drift_count']:6d}{r['corrections']:6d}{r['dropped']:8d}"
                f"{r['cpu_share']:5.0%}{r['load']:5.1f}   max {met} (goal ≤ {goal:.1f} ms, one frame)"
            )


def run() -> None:
    from PySide6.QtWidgets import QApplication

    parts = set((os.environ.get("X121_BENCH_PLAYER") or "ambilight,grid,seek,av").split(","))
    app = QApplication.instance() or QApplication([])
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores; figures are wall-clock on a shared machine)")
    if "ambilight" in parts:
        _print_ambilight(_ambilight())
    originals, proxies, pyramid = _inputs()
    if "av" in parts:
        _av_sync(originals)
    if "grid" in parts:
        _print_grid(app, originals, proxies)
    if "seek" in parts:
        _print_seeks(app, originals, proxies, pyramid)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def _print_grid(app: object, originals: list[Path], proxies: list[Path]) -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores; figures are wall-clock on a shared machine)")
    print(f"4 x {SIZE[0]}x{SIZE[1]} {RATE} fps H.264, {SECONDS} s, 2x2 grid offscreen (QPainter path), real clock")
    print(f"{'':24}{'dropped':>8}{'shown/due':>14}{'late ticks':>11}{'behind':>7}{'CPU':>7}{'step p95':>10}")
    for label, paths in (("originals (GOP 30, P)", originals), ("review proxies", proxies)):
        r = _grid_play(app, paths)
        met = "MET" if r["dropped"] <= GOALS["dropped"] else "NOT MET"
        step_met = "MET" if r["step"] <= GOALS["step_p95_ms"] else "NOT MET"
        print(
            f"{label:24}{r['dropped']:8.0f}{r['shown']:8.0f}/{r['due']:<5.0f}{r['late_ticks']:11.0f}"
            f"{r['behind_max']:7.0f}{r['cpu_share']:6.0%} {r['step']:7.2f} ms"
            f"   drops {met} (goal 0), step {step_met} (goal ≤ 5 ms)"
        )


def _print_seeks(app: object, originals: list[Path], proxies: list[Path], pyramid: Path) -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("random seek, 1080p 1 s GOP, frames not cached, seek → frame painted (ms), p50 / p95 / max")
    print(f"  {'':28}{'before':>22}{'after':>22}")
    for label, path in (("original (GOP 30, P only)", originals[0]), ("original (GOP 30, B-pyramid)", pyramid),
                        ("review proxy", proxies[0])):  # fmt: skip
        t = _seeks_before_after(app, path)
        cells = "".join(
            f"{statistics.median(t[k]):7.1f} /{_p(t[k], 0.95):6.1f} /{max(t[k]):6.1f}" for k in ("before", "after")
        )
        p95 = _p(t["after"], 0.95)
        met = "MET" if p95 <= GOALS["seek_p95_ms"] else "NOT MET"
        print(f"  {label:28}{cells}   {met} (goal p95 ≤ 60 ms; after/before p95 {p95 / _p(t['before'], 0.95):.2f})")
        cpu = "".join(
            f"{statistics.median(t[k]):7.1f} /{_p(t[k], 0.95):6.1f} /{max(t[k]):6.1f}"
            for k in ("before_cpu", "after_cpu")
        )
        print(f"  {'  decode worker CPU ms':28}{cpu}")
