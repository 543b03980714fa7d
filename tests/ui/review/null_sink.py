"""A private PulseAudio server whose only sink is a null sink ("x121null", s16 stereo 48 kHz), on a
socket in a folder of its own, for playing through the real QAudioSink on a machine without a sound
card. `norewinds=1`: with rewinds on, the null sink started a new stream up to 2 s late (it renders
2 s blocks while idle), which no real output device does.

    with null_sink(tmp) as server:   # None where pulseaudio is not installed
        env = {**os.environ, "PULSE_SERVER": server.address}
        recording = server.record(seconds)   # the sink's monitor, s16 stereo 48 kHz (parec)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

SINK = "x121null"


@dataclass(frozen=True)
class NullSink:
    root: Path

    @property
    def address(self) -> str:
        return f"unix:{self.root / 'native'}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PULSE_SERVER": self.address, "HOME": str(self.root)}

    def recorder(self, out: Path) -> subprocess.Popen[bytes]:
        """parec on the sink's monitor into `out` (raw s16le stereo 48 kHz) until terminated."""
        args = ["parec", "-d", f"{SINK}.monitor", "--raw", "--format=s16le", "--rate=48000", "--channels=2"]
        return subprocess.Popen([*args, str(out)], env=self.env())


def recorded(path: Path) -> npt.NDArray[np.int16]:
    data = path.read_bytes()
    return np.frombuffer(data[: len(data) // 4 * 4], dtype=np.int16).reshape(-1, 2)


@contextmanager
def null_sink(root: Path) -> Iterator[NullSink | None]:
    """The server for the block (stopped after it); None where pulseaudio or parec is not installed."""
    daemon, parec, pactl = shutil.which("pulseaudio"), shutil.which("parec"), shutil.which("pactl")
    if daemon is None or parec is None or pactl is None:
        yield None
        return
    root.mkdir(parents=True, exist_ok=True)
    server = NullSink(root)
    env = {**server.env(), "PULSE_RUNTIME_PATH": str(root / "run")}
    env.pop("PULSE_SERVER")
    args = [daemon, "-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes", "--log-target=stderr",
            "-L", f"module-null-sink sink_name={SINK} rate=48000 channels=2 norewinds=1",
            "-L", f"module-native-protocol-unix socket={root / 'native'} auth-anonymous=1"]  # fmt: skip
    with (root / "pulse.log").open("wb") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            ready = subprocess.run([pactl, "info"], env=server.env(), capture_output=True, check=False)
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"the private PulseAudio server did not start: {(root / 'pulse.log').read_text()}")
        yield server
    finally:
        process.terminate()
        process.wait(10)
