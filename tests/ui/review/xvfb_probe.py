"""Run a probe module in its own process under Xvfb (offscreen Qt has no OpenGL) and read its findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]


def run_probe(module: str, *args: str, timeout: float = 90) -> dict[str, Any]:
    """`python -m module args…` under xvfb-run with the xcb platform; its last JSON line. Without xvfb-run
    the test skips, saying why, or fails under CI (scripts/setup.sh installs it). A probe that crashes or
    prints no findings fails the test with its output."""
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        missing = "xvfb-run is not installed, and offscreen Qt has no OpenGL to test the GL path with"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(REPO)}
    env.pop("DISPLAY", None)
    command = [xvfb, "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-m", module, *args]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr[-2000:]}"
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    found: dict[str, Any] = json.loads(lines[-1])
    assert found["platform"] == "xcb"
    return found
