"""`x121 server test NAME`: a tiny core-node workflow run end to end on the ComfyUI stand-in (which really runs
LoadImage, ImageScale and SaveImage), each step timed; a slow, unreachable or cancelled run names its step."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.services.test_servers import closed_port_url
from x121_desktop.cli.main import main
from x121_desktop.comfy.client import ComfyClient
from x121_desktop.core.cancel import CancelToken
from x121_desktop.services.server_probe import STEPS, ServerProbe

__all__ = ["comfy_server"]


def _added(db: list[str], url: str, capsys: pytest.CaptureFixture[str]) -> str:
    name = f"probe-{uuid.uuid4().hex[:8]}"
    assert main([*db, "server", "add", url, "--name", name]) == 0
    capsys.readouterr()
    return name


def test_a_working_server_passes_every_step_and_keeps_no_history(
    migrated_url: str, comfy_server: ComfyTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", migrated_url]
    name = _added(db, comfy_server.url, capsys)
    assert main([*db, "server", "test", name, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["failed_step"], report["problem"]) == (True, None, None)
    assert [s["step"] for s in report["steps"]] == list(STEPS)
    details = {s["step"]: s["detail"] for s in report["steps"]}
    assert details["reach"] == "ComfyUI 0.3.64 on cpu"
    assert details["download"] == "40 x 30 PNG"
    prompt_id = details["submit"].removeprefix("prompt ")
    uploaded = comfy_server.root / "input" / details["upload"].removeprefix("input/")
    assert uploaded.is_file()
    assert uploaded.parent.name == "x121-probe"
    assert [p.name for p in (comfy_server.root / "output" / "x121-probe").iterdir()] == ["probe_00001_.png"]
    assert ComfyClient(comfy_server.url).history(prompt_id) is None  # the probe tidied its history entry

    assert main([*db, "server", "test", name]) == 0  # again, as text: a fresh picture, so it really runs
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["ok", step] for step in STEPS]
    assert lines[-1].startswith(f"{name} ({comfy_server.url}) ran the test workflow end to end in ")
    assert len(list((comfy_server.root / "output" / "x121-probe").iterdir())) == 2


def test_a_run_that_does_not_finish_in_time_is_interrupted_and_named(
    migrated_url: str, comfy_server: ComfyTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", migrated_url]
    name = _added(db, comfy_server.url, capsys)
    comfy_server.faults.node_delay_s = 1.5
    try:
        assert main([*db, "server", "test", name, "--timeout", "1"]) == 6
        captured = capsys.readouterr()
        assert [line.split()[:2] for line in captured.out.splitlines()] == [
            ["ok", "reach"],
            ["ok", "websocket"],
            ["ok", "upload"],
            ["ok", "submit"],
            ["FAIL", "run"],
            ["-", "history"],
            ["-", "download"],
        ]
        assert captured.err == (
            f"x121: The probe prompt ran but did not finish within 1 s on {comfy_server.url}. Look at the server's "
            "queue and console, or give the test more time (--timeout).\n"
        )
        client, deadline = ComfyClient(comfy_server.url), time.monotonic() + 10
        while (client.queue().running or client.queue().pending) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.queue().running == ()  # interrupted, not left to run
    finally:
        comfy_server.faults.clear()


def test_an_unreachable_server_fails_at_the_first_step(migrated_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--database-url", migrated_url]
    url = closed_port_url()
    name = _added(db, url, capsys)
    assert main([*db, "server", "test", name, "--json"]) == 6
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["steps"], report["failed_step"]) == (False, [], "reach")
    assert report["problem"] == (
        f"ComfyUI at {url} refused the connection. Start ComfyUI on that machine, or check the host and port in the "
        "server settings."
    )


def test_a_cancel_stops_the_probe_and_interrupts_its_prompt(comfy_server: ComfyTestServer) -> None:
    cancel = CancelToken()
    comfy_server.faults.node_delay_s = 1.0

    def progress(step: str) -> None:
        if step == "run":
            cancel.cancel()  # the person presses Cancel once the prompt is on the server

    try:
        probe = ServerProbe(comfy_server.url, timeout_s=30, progress=progress, cancel=cancel)
        began = time.monotonic()
        report = probe.run()
        assert time.monotonic() - began < 5
        assert (report.failed_step, report.problem) == (
            "run",
            "The server test was cancelled; its prompt was interrupted.",
        )
        assert [s.name for s in report.steps] == ["reach", "websocket", "upload", "submit"]
        client, deadline = ComfyClient(comfy_server.url), time.monotonic() + 10
        while client.queue().running and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.queue().running == ()
        entry = client.history(probe.prompt_id)  # an interrupt may land after the probe deleted its entry
        assert entry is None or not entry.succeeded
    finally:
        comfy_server.faults.clear()
