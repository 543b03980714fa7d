"""The recorded image-to-video workflow, end to end through the client and stream on the stand-in."""

from __future__ import annotations

import itertools
import queue
import time
from pathlib import Path

import av
import numpy as np

from tests.comfy.conftest import astronaut_png
from tests.comfy.recordings import workflow
from tests.comfyui_server import ComfyTestServer
from x121_desktop.comfy import protocol as p
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.stream import ComfyStream, Connected, PromptLost, ServerEvent, ServerRestarted


def _until(events: queue.Queue[ServerEvent], kinds: tuple[type, ...], timeout: float = 30.0) -> list[object]:
    seen: list[object] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            item = events.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(item.event)
        if isinstance(item.event, kinds):
            return seen
    raise AssertionError(f"no {kinds} within {timeout} s; saw {[type(e).__name__ for e in seen]}")


def test_segment_runs_end_to_end_and_the_video_plays(comfy_server: ComfyTestServer, tmp_path: Path) -> None:
    client = ComfyClient(comfy_server.url)
    uploaded = client.upload(astronaut_png(), name="astronaut.png", overwrite=True, content_type="image/png")
    prompt = workflow("image-to-video-segment.api.json")
    prompt["1"]["inputs"]["image"] = uploaded.name
    with ComfyStream(client) as stream:
        _until(stream.events, (p.Status,))
        accepted = client.submit(prompt, prompt_id="job-0001")
        assert accepted.prompt_id == "job-0001"
        seen = _until(stream.events, p.TERMINAL_EVENTS)
    assert isinstance(seen[-1], p.ExecutionSuccess)
    executed = {e.node: e.output for e in seen if isinstance(e, p.Executed)}
    mp4 = executed["6"].videos[0]
    assert mp4.filename == "segment_mp4_00001_.mp4"
    assert executed["12"].text == ("16",)
    assert any(isinstance(e, p.ProgressText) and e.node_id == "11" for e in seen)
    path = client.download(mp4, tmp_path / "segment.mp4")
    with av.open(str(path)) as container:
        stream_info = container.streams.video[0]
        assert (stream_info.codec_context.name, stream_info.codec_context.pix_fmt) == ("h264", "yuv420p")
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(stream_info)]
    assert len(frames) == 16
    assert frames[0].shape == (512, 512, 3)
    differences = [float(np.abs(a - b).mean()) for a, b in itertools.pairwise(frames)]
    assert min(differences) > 1.0, differences
    entry = client.history("job-0001")
    assert entry is not None
    assert entry.succeeded
    assert {o.node_id for o in entry.outputs} == {"6", "7", "8", "10", "12"}


def test_restart_mid_job_is_reported_and_nothing_is_resubmitted(comfy_server: ComfyTestServer) -> None:
    client = ComfyClient(comfy_server.url)
    object_info = client.object_info()
    assert client.object_info() is object_info  # cached while the server lives
    comfy_server.faults.restart_before_node = "3"
    stream = ComfyStream(client, backoff_s=0.05)
    with stream:
        _until(stream.events, (Connected,))
        accepted = client.submit(workflow("quick-png.api.json"))
        stream.watch(accepted.prompt_id)
        seen = _until(stream.events, (PromptLost,))
    restarted = [e for e in seen if isinstance(e, ServerRestarted)]
    assert restarted == [ServerRestarted((accepted.prompt_id,))]
    lost = seen[-1]
    assert isinstance(lost, PromptLost)
    assert "restarted" in lost.reason
    assert client.queue().pending == ()
    assert client.history(accepted.prompt_id) is None
    assert client.object_info() is not object_info  # a restart invalidates the cache


def test_closing_an_idle_stream_wakes_its_reader_at_once(comfy_client: ComfyClient) -> None:
    stream = ComfyStream(comfy_client).start()
    _until(stream.events, (Connected,))
    time.sleep(0.5)  # the reader is now blocked in recv() on a quiet socket
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 2.0  # was the whole 5 s join timeout
    assert not stream._thread.is_alive()
