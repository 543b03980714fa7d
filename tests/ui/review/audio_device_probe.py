"""Run by test_playback_audio_device.py (and benchmarks/bench_player.py) with PULSE_SERVER pointing at a
private PulseAudio server whose only sink is a null sink: plays a clip in a Review panel through the
real QAudioSink for SECONDS and prints one JSON line: the output devices Qt saw, the measured drift
of what the sound card consumes against the clock, and what was written. With more clips they fill a
2x2 grid (the first is heard) and the line also gives the frames the grid dropped.

    PULSE_SERVER=unix:/tmp/x/native python -m tests.ui.review.audio_device_probe SECONDS CLIP...
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import QApplication

from x121_desktop.ui.review.panel import ReviewPanel
from x121_desktop.ui.review.playback_audio import QtStreamOut


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)


def main(seconds: float, clips: list[Path]) -> dict[str, object]:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    side = 1 if len(clips) == 1 else 2
    panel = ReviewPanel(rows=side, columns=side, prefer_gl=False)
    panel.resize(1280, 800)
    panel.show()
    said: list[str] = []
    panel.sound.message.connect(said.append)
    panel.load(clips)
    end = time.monotonic() + 20
    while not (panel.controller.ready and panel.controller.clock.frame_count > 1) and time.monotonic() < end:
        app.processEvents()
    panel.controller.seek(0)
    end = time.monotonic() + 20
    while not all(panel.controller.frames_ready(f) for f in range(30)) and time.monotonic() < end:
        app.processEvents()  # pre-roll 1 s, as the grid benchmark does
    cpu0 = time.process_time()
    t0 = time.monotonic()
    panel.controller.play()
    pump(app, seconds)
    wall = time.monotonic() - t0
    out = panel.sound.output
    drift = panel.sound.drift
    found = {
        "outputs": [d.description() for d in QMediaDevices.audioOutputs()],
        "sink": isinstance(out, QtStreamOut),
        "said": said,
        "frame": panel.controller.clock.frame(),
        "processed": out.processed() if out is not None else 0,
        "drift_count": drift.count,
        "drift_max_ms": drift.max_ms(),
        "drift_mean_ms": drift.mean_ms(),
        "drift_p95_ms": drift.percentile_ms(0.95),
        "drift_p99_ms": drift.percentile_ms(0.99),
        "corrections": drift.corrections,
        "cpu_share": (time.process_time() - cpu0) / wall,
        "dropped": sum(c.scheduler.stats.dropped for c in panel.controller.cells),
        "load": os.getloadavg()[0],
    }
    panel.controller.stop()
    pump(app, 0.1)
    panel.close_player()
    return found


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]), [Path(p) for p in sys.argv[2:]])), flush=True)
