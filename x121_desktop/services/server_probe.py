"""An end-to-end test of one ComfyUI server with core nodes only: what an admin runs after adding a server.

`x121 server check` asks a server what it is; this makes it *work* the way a dispatcher will, step by
step, each timed, and stops at the first step that fails with a sentence naming it and what to check:

1. reach: GET /system_stats (version, device);
2. websocket: /ws connects with our client id (progress and results arrive there);
3. upload: POST /upload/image of a small picture made for this test (random pixels, so nothing of it
   is cached on the server and the run really executes), under the input subfolder `x121-probe`;
4. submit: POST /prompt with our own prompt_id: LoadImage → ImageScale (nearest-exact, to a size
   no input has) → SaveImage, all core nodes, no model;
5. run: the WebSocket reports execution_start … execution_success, then `executing null` (ComfyUI has
   written the history entry by then), for that prompt_id;
6. history: GET /history/{prompt_id} lists the SaveImage output;
7. download: GET /view returns it, and it decodes as a PNG of the requested size.

The probe's history entry is deleted afterwards; its small input and output files stay in the server's
`input/x121-probe` and `output/x121-probe` folders (ComfyUI has no API to delete them). A cancel
interrupts the prompt if it was sent.
"""

from __future__ import annotations

import io
import queue
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
from PIL import Image

from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.protocol import (
    Executing,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
)
from x121_desktop.comfy.stream import ComfyStream, Connected, ServerEvent
from x121_desktop.core.errors import ComfyError, X121Error

if TYPE_CHECKING:
    from x121_desktop.core.cancel import CancelToken
    from x121_desktop.services.runtime import Runtime
    from x121_desktop.services.servers import ServerService

SUBFOLDER = "x121-probe"
SOURCE_SIZE = (64, 48)
SCALED_SIZE = (40, 30)
HISTORY_WAIT_S = 5.0
"""After execution_success, how long the run step waits for `executing null` (history written)."""
STEPS = ("reach", "websocket", "upload", "submit", "run", "history", "download")


@dataclass(frozen=True, slots=True)
class ProbeStep:
    name: str
    ms: float
    detail: str


@dataclass(frozen=True, slots=True)
class ProbeReport:
    url: str
    steps: tuple[ProbeStep, ...]
    """The steps that passed, in order."""
    failed_step: str | None = None
    problem: str | None = None
    """Why `failed_step` failed, one sentence with what to check; None when every step passed."""

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def total_ms(self) -> float:
        return sum(s.ms for s in self.steps)


class _StepFailed(Exception):
    def __init__(self, step: str, sentence: str) -> None:
        super().__init__(sentence)
        self.step, self.sentence = step, sentence


def probe_prompt(image: str, prefix: str) -> dict[str, Any]:
    """The probe's API prompt: core nodes only, no model."""
    width, height = SCALED_SIZE
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": image}},
        "2": {
            "class_type": "ImageScale",
            "inputs": {
                "image": ["1", 0],
                "upscale_method": "nearest-exact",
                "width": width,
                "height": height,
                "crop": "disabled",
            },
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": prefix}},
    }


def _picture() -> bytes:
    pixels = np.random.default_rng().integers(0, 256, (SOURCE_SIZE[1], SOURCE_SIZE[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG")
    return out.getvalue()


class ServerProbe:
    """One probe of one server (blocking: run it on the io executor). `progress(step)` before each step."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 120.0,
        client: Callable[[str], ComfyClient] = ComfyClient,
        progress: Callable[[str], object] | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self.client = client(url)
        self.timeout_s, self.progress, self.cancel = timeout_s, progress, cancel
        self.passed: list[ProbeStep] = []
        self.prompt_id = str(uuid.uuid4())
        self._sent = False

    def run(self) -> ProbeReport:
        events: queue.Queue[ServerEvent] = queue.Queue()
        stream = ComfyStream(self.client, events)
        try:
            self._steps(stream, events)
        except _StepFailed as failed:
            if self._sent:
                self._tidy(interrupt=True)
            return ProbeReport(self.client.url, tuple(self.passed), failed.step, failed.sentence)
        finally:
            stream.close()
        self._tidy(interrupt=False)
        return ProbeReport(self.client.url, tuple(self.passed))

    def _steps(self, stream: ComfyStream, events: queue.Queue[ServerEvent]) -> None:
        stats = self._step("reach", self.client.system_stats)
        device = stats.devices[0].name if stats.devices else "no device listed"
        self._note(f"ComfyUI {stats.comfyui_version or '?'} on {device}")
        self._step("websocket", lambda: self._connect(stream, events))
        self._note(f"client id {self.client.client_id}")
        name = f"probe-{self.prompt_id[:8]}.png"
        uploaded = self._step("upload", lambda: self.client.upload(_picture(), name=name, subfolder=SUBFOLDER))
        image = f"{uploaded.subfolder}/{uploaded.name}" if uploaded.subfolder else uploaded.name
        self._note(f"input/{image}")
        stream.watch(self.prompt_id)
        prompt = probe_prompt(image, f"{SUBFOLDER}/probe")
        self._step("submit", lambda: self.client.submit(prompt, prompt_id=self.prompt_id))
        self._sent = True
        self._note(f"prompt {self.prompt_id}")
        self._step("run", lambda: self._follow(events))
        entry = self._step("history", lambda: self.client.history(self.prompt_id))
        files = [f for o in entry.outputs if o.node_id == "3" for f in o.files] if entry is not None else []
        if not files:
            self._fail("history", f"ComfyUI at {self.client.url} lists no SaveImage output for the probe", "")
        self._note(f"{files[0].type}/{files[0].subfolder}/{files[0].filename}".replace("//", "/"))
        size = self._step("download", lambda: self._download(files[0]))
        self._note(f"{size[0]} x {size[1]} PNG")

    def _step[T](self, name: str, work: Callable[[], T]) -> T:
        if self.cancel is not None and self.cancel.cancelled:
            self._fail(name, "The server test was cancelled", "")
        if self.progress is not None:
            self.progress(name)
        began = time.perf_counter()
        try:
            result = work()
        except _StepFailed:
            raise
        except X121Error as exc:
            raise _StepFailed(name, exc.sentence) from exc
        self.passed.append(ProbeStep(name, (time.perf_counter() - began) * 1000.0, ""))
        return result

    def _note(self, detail: str) -> None:
        last = self.passed[-1]
        self.passed[-1] = ProbeStep(last.name, last.ms, detail)

    def _fail(self, step: str, problem: str, fix: str) -> NoReturn:
        raise _StepFailed(step, X121Error(problem, fix).sentence)

    def _connect(self, stream: ComfyStream, events: queue.Queue[ServerEvent]) -> None:
        stream.start()
        deadline = time.monotonic() + min(10.0, self.timeout_s)
        while time.monotonic() < deadline:
            try:
                if isinstance(events.get(timeout=0.2).event, Connected):
                    return
            except queue.Empty:
                continue
        self._fail(
            "websocket",
            f"The WebSocket of ComfyUI at {self.client.url} did not connect within 10 s",
            "Check that a proxy in front of it passes WebSocket upgrades (/ws).",
        )

    def _follow(self, events: queue.Queue[ServerEvent]) -> None:
        deadline = time.monotonic() + self.timeout_s
        started, succeeded = False, None
        while time.monotonic() < deadline:
            if self.cancel is not None and self.cancel.cancelled:
                self._fail("run", "The server test was cancelled; its prompt was interrupted", "")
            if succeeded is not None and time.monotonic() - succeeded > HISTORY_WAIT_S:
                return  # no `executing null` (a newer ComfyUI may drop it): the history step will tell
            try:
                event = events.get(timeout=0.2).event
            except queue.Empty:
                continue
            if getattr(event, "prompt_id", None) != self.prompt_id:
                continue
            if isinstance(event, ExecutionStart):
                started = True
            elif isinstance(event, ExecutionSuccess):
                succeeded = time.monotonic()  # ComfyUI writes the history entry next, then says `executing null`
            elif isinstance(event, Executing) and event.node is None and succeeded is not None:
                return
            elif isinstance(event, ExecutionError):
                self._fail(
                    "run",
                    f"Node {event.node_id} ({event.node_type}) failed on {self.client.url}: "
                    f"{event.exception_type}: {event.exception_message.strip()}",
                    "Check the ComfyUI console log on that server.",
                )
            elif isinstance(event, ExecutionInterrupted):
                self._fail("run", f"Someone interrupted the probe on {self.client.url}", "Run the test again.")
        where = "ran but did not finish" if started else "never started (is its queue busy?)"
        self._fail(
            "run",
            f"The probe prompt {where} within {self.timeout_s:g} s on {self.client.url}",
            "Look at the server's queue and console, or give the test more time (--timeout).",
        )

    def _download(self, file: Any) -> tuple[int, int]:
        with tempfile.TemporaryDirectory(prefix="x121-probe-") as folder:
            path = self.client.download(file, Path(folder) / file.filename)
            try:
                with Image.open(path) as picture:
                    size, kind = picture.size, picture.format
            except OSError as exc:
                self._fail("download", f"The probe's output from {self.client.url} is not an image ({exc})", "")
        if kind != "PNG" or size != SCALED_SIZE:
            self._fail(
                "download",
                f"The probe's output from {self.client.url} is a {kind} of {size[0]} x {size[1]}, "
                f"not the {SCALED_SIZE[0]} x {SCALED_SIZE[1]} PNG it asked for",
                "Check that the server's core nodes are not overridden by a custom node pack.",
            )
        return size

    def _tidy(self, *, interrupt: bool) -> None:
        """Leave no queued or running probe and no history entry behind (best effort: the verdict is made)."""
        try:
            if interrupt:
                self.client.delete_from_queue([self.prompt_id])
                self.client.interrupt(self.prompt_id)
            self.client.delete_history([self.prompt_id])
        except ComfyError:
            pass


async def probe_server(
    servers: ServerService,
    runtime: Runtime,
    name: str,
    *,
    timeout_s: float = 120.0,
    progress: Callable[[str], object] | None = None,
    cancel: CancelToken | None = None,
) -> ProbeReport:
    """Probe the registered server `name` (NotFound when there is none) on the io executor."""
    server = await servers.get(name)
    probe = ServerProbe(server.url, timeout_s=timeout_s, progress=progress, cancel=cancel)
    return await runtime.run(runtime.io, probe.run)
