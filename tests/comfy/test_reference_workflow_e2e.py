"""Our own model-free reference workflow, filled through its manifest, runs on the stand-in and yields a real video.

The same client code talks to a real ComfyUI given its URL: nothing here is test-only except the server.
"""

from __future__ import annotations

import itertools
import json
import queue
import time
from pathlib import Path

import av
import numpy as np

from tests.comfy.conftest import astronaut_png
from tests.comfyui_server import ComfyTestServer
from tests.conftest import REPO
from x121_desktop.comfy import protocol as p
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.stream import ComfyStream, ServerEvent
from x121_desktop.comfy.templates import apply, load_manifest

WORKFLOWS = REPO / "workflows"


def _events_until_done(events: queue.Queue[ServerEvent], timeout: float = 60.0) -> list[object]:
    seen: list[object] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            item = events.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(item.event)
        if isinstance(item.event, p.TERMINAL_EVENTS):
            return seen
    raise AssertionError(f"the run did not finish within {timeout} s")


def test_reference_workflow_runs_through_its_manifest(comfy_server: ComfyTestServer, tmp_path: Path) -> None:
    manifest = load_manifest(WORKFLOWS / "x121-i2v-modelfree.manifest.json")
    prompt = json.loads((WORKFLOWS / "x121-i2v-modelfree.api.json").read_text())
    client = ComfyClient(comfy_server.url)
    seed_a = client.upload(astronaut_png(), name="seed_a.png", overwrite=True, content_type="image/png")
    filled = apply(
        manifest,
        prompt,
        {"seed_image_a": seed_a.name, "width": 256, "height": 256, "frame_count": 9, "seed": 7, "fps": 8.0},
    )
    with ComfyStream(client) as stream:
        client.submit(filled, prompt_id="x121-reference-1")
        seen = _events_until_done(stream.events)
    assert isinstance(seen[-1], p.ExecutionSuccess), seen[-1]

    video_node = manifest.outputs["segment_video"].node
    executed = {e.node: e.output for e in seen if isinstance(e, p.Executed)}
    video = client.download(executed[video_node].videos[0], tmp_path / "segment.mp4")
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
    assert len(frames) == 9
    assert frames[0].shape == (256, 256, 3)
    assert min(float(np.abs(a - b).mean()) for a, b in itertools.pairwise(frames)) > 0.5, "frames must differ"

    last = client.download(executed[manifest.outputs["last_frame"].node].files[0], tmp_path / "last.png")
    assert last.stat().st_size > 0
    assert executed[manifest.outputs["frame_count_text"].node].text == ("9",)
