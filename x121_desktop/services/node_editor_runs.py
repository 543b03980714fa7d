"""Interactive test runs from the node editor: the open document runs straight on one ComfyUI server.

A TD debugging a workflow wants it to run now, on the server they chose, and to watch it, so the
run does not wait in the job queue. The document is converted with the loaded node list, submitted
with our client id, and the server's WebSocket stream (comfy.stream, its own thread) is turned into
frozen `RunEvent`s: run started, node started, progress, cached, finished (with its measured time),
preview frames (binary types 1/4) and the error pinned on the failing node. Given an `EditorRunJobs`
and the server's registered name, the run is also recorded as a job of kind `editor_test_run`
(node_editor_jobs: attempt, events, outputs, node timings, cost), renewed while it runs and
interrupted when that job is cancelled elsewhere. `run` blocks (call it in the io executor via
`start`); the sink is called on that worker thread, so the UI hands events over with a queued signal.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from x121_desktop.comfy.client import ComfyClient
from x121_desktop.comfy.convert import ui_to_api
from x121_desktop.comfy.protocol import (
    Executing,
    ExecutionCached,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
    PreviewImage,
    PreviewImageWithMetadata,
    Progress,
)
from x121_desktop.comfy.stream import ComfyStream, Connected, Disconnected, ServerEvent
from x121_desktop.core.errors import ComfyError, NotFound, X121Error

if TYPE_CHECKING:
    from x121_desktop.core.cancel import CancelToken
    from x121_desktop.core.graph.model import WorkflowDocument
    from x121_desktop.services.node_editor import NodeEditorService
    from x121_desktop.services.node_editor_jobs import EditorRunJob, EditorRunJobs
    from x121_desktop.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class RunStarted:
    prompt_id: str
    timestamp_ms: int  # the server's clock (`execution_start`)


@dataclass(frozen=True, slots=True)
class NodeStarted:
    node_id: str


@dataclass(frozen=True, slots=True)
class NodeProgressed:
    node_id: str
    value: int
    maximum: int


@dataclass(frozen=True, slots=True)
class NodesCached:
    node_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeFinished:
    node_id: str
    class_type: str
    seconds: float


@dataclass(frozen=True, slots=True)
class NodePreview:
    node_id: str | None
    """None when the server sent a type-1 frame without metadata and no node was running."""
    image_type: str
    image: bytes


@dataclass(frozen=True, slots=True)
class RunFailed:
    node_id: str | None
    sentence: str


@dataclass(frozen=True, slots=True)
class WaitingForSlot:
    """Every slot of the chosen server is taken: the run waits up to `wait_s` for one before it is refused."""

    server: str
    slots: int
    wait_s: float


@dataclass(frozen=True, slots=True)
class RunEnded:
    prompt_id: str
    ok: bool
    timings: tuple[NodeFinished, ...] = ()
    finished_ms: int | None = None  # the server's clock (`execution_success`)
    job_id: int | None = None  # the `editor_test_run` job that recorded the run, if one did


type RunEvent = (
    RunStarted
    | NodeStarted
    | NodeProgressed
    | NodesCached
    | NodeFinished
    | NodePreview
    | RunFailed
    | WaitingForSlot
    | RunEnded
)
Sink = Callable[[RunEvent], None]


@dataclass
class _Clock:
    """Which node runs since when; a node ends when the next starts or the prompt ends."""

    types: dict[str, str]
    job_id: int | None = None
    current: str | None = None
    since: float = 0.0
    done: list[NodeFinished] = field(default_factory=list)

    def switch(self, node_id: str | None, sink: Sink) -> None:
        now = time.monotonic()
        if self.current is not None:
            finished = NodeFinished(self.current, self.types.get(self.current, "?"), now - self.since)
            self.done.append(finished)
            sink(finished)
        self.current, self.since = node_id, now
        if node_id is not None:
            sink(NodeStarted(node_id))


def _error_sentence(err: ExecutionError, labels: dict[str, str]) -> str:
    who = labels.get(err.node_id, f"node #{err.node_id} ({err.node_type})")
    return (
        f"{who} failed: {err.exception_type}: {err.exception_message.strip().rstrip('.')}. "
        "Fix the input it names (or the file it reads) and run again."
    )


class TestRunService:
    """Runs editor documents on a ComfyUI server by base URL and reports what happens, node by node."""

    __test__ = False  # not a pytest class, despite the name

    def __init__(
        self,
        runtime: Runtime,
        editor_service: NodeEditorService,
        client: Callable[[str], ComfyClient] = ComfyClient,
        timeout_s: float = 600.0,
        jobs: EditorRunJobs | None = None,
    ) -> None:
        self._runtime, self._service, self._client, self._timeout = runtime, editor_service, client, timeout_s
        self.jobs = jobs

    def start(
        self,
        base_url: str,
        document: WorkflowDocument,
        sink: Sink,
        cancel: CancelToken | None = None,
        server: str | None = None,
    ) -> Future[RunEnded]:
        return self._runtime.io.submit(self.run, base_url, document, sink, cancel, server)

    def run(
        self,
        base_url: str,
        document: WorkflowDocument,
        sink: Sink,
        cancel: CancelToken | None = None,
        server: str | None = None,
    ) -> RunEnded:
        """Run `document` on `base_url`; recorded as a job when this service has `jobs` and `server` names it."""
        info = self._service.object_info
        if info is None:
            raise NotFound("No node list is loaded to convert the workflow with", "Load one from the server first.")
        conversion = ui_to_api(document, info)
        prompt = conversion.prompt
        types = {nid: str(node.get("class_type", "?")) for nid, node in prompt.items()}
        server_id = self.jobs.server_id(server) if self.jobs is not None and server else None
        client = self._client(base_url)
        events: queue.Queue[ServerEvent] = queue.Queue()
        stream = ComfyStream(client, events).start()
        try:
            self._await_connection(events, base_url)
            prompt_id = str(uuid.uuid4())
            job = None
            if self.jobs is not None and server and server_id is not None:
                wait_s = self.jobs.room_wait_s

                def waiting(slots: int, server: str = server) -> None:
                    sink(WaitingForSlot(server, slots, wait_s))

                job = self.jobs.open(server, server_id, prompt, prompt_id, client, waiting=waiting, cancel=cancel)
            stream.watch(prompt_id)
            try:
                client.submit(prompt, prompt_id=prompt_id)
                if job is not None:
                    job.submitted()
                    sink = job.observe(sink)
                clock = _Clock(types, job.job_id if job is not None else None)
                return self._follow(client, prompt_id, events, clock, dict(conversion.labels), sink, cancel, job)
            except X121Error as exc:
                if job is not None:
                    job.fail(exc.sentence)
                raise
        finally:
            stream.close()

    def _await_connection(self, events: queue.Queue[ServerEvent], base_url: str) -> None:
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            try:
                got = events.get(timeout=0.2).event
            except queue.Empty:
                continue
            if isinstance(got, Connected):
                return
            if isinstance(got, Disconnected) and time.monotonic() > deadline - 5.0:
                break
        raise ComfyError(f"Cannot follow {base_url}: its WebSocket did not connect", "Check that the server is up.")

    def _follow(
        self,
        client: ComfyClient,
        prompt_id: str,
        events: queue.Queue[ServerEvent],
        clock: _Clock,
        labels: dict[str, str],
        sink: Sink,
        cancel: CancelToken | None,
        job: EditorRunJob | None = None,
    ) -> RunEnded:
        deadline = time.monotonic() + self._timeout
        interrupted = False
        while time.monotonic() < deadline:
            wanted = cancel is not None and cancel.cancelled
            if job is not None:  # renews the job's lease; a cancel asked for elsewhere interrupts too
                job.cancel_requested = job.cancel_requested or wanted
                wanted = job.heartbeat()
            if wanted and not interrupted:
                client.interrupt(prompt_id)
                interrupted = True
            try:
                event = events.get(timeout=0.1).event
            except queue.Empty:
                continue
            if getattr(event, "prompt_id", prompt_id) not in (prompt_id, None, ""):
                continue
            ended = _terminal(event, prompt_id, clock, labels, sink)
            if ended is not None:
                return ended
            _progress(event, clock, sink)
        client.interrupt(prompt_id)
        raise ComfyError(f"The test run did not finish within {self._timeout:g} s", "It was interrupted; try again.")


def _progress(event: object, clock: _Clock, sink: Sink) -> None:
    if isinstance(event, ExecutionStart):
        sink(RunStarted(event.prompt_id, event.timestamp))
    elif isinstance(event, ExecutionCached):
        sink(NodesCached(event.nodes))
    elif isinstance(event, Executing) and event.node is not None:
        clock.switch(event.node, sink)
    elif isinstance(event, Progress) and event.node is not None:
        sink(NodeProgressed(event.node, event.value, event.max))
    elif isinstance(event, PreviewImageWithMetadata):
        sink(NodePreview(event.node_id or clock.current, event.image_type, event.image))
    elif isinstance(event, PreviewImage):
        sink(NodePreview(clock.current, event.image_type, event.image))
    # `executed` of a cached output node re-sends its old output; it did not run, so it is not timed


def _terminal(event: object, prompt_id: str, clock: _Clock, labels: dict[str, str], sink: Sink) -> RunEnded | None:
    if isinstance(event, ExecutionSuccess):
        clock.switch(None, sink)
        return _ended(prompt_id, True, clock, sink, event.timestamp)
    if isinstance(event, ExecutionError):
        clock.current = None  # the failing node has no time worth averaging
        sink(RunFailed(event.node_id, _error_sentence(event, labels)))
        return _ended(prompt_id, False, clock, sink)
    if isinstance(event, ExecutionInterrupted):
        clock.current = None
        sink(RunFailed(event.node_id, f"The run was interrupted at node #{event.node_id} ({event.node_type})."))
        return _ended(prompt_id, False, clock, sink)
    return None


def _ended(prompt_id: str, ok: bool, clock: _Clock, sink: Sink, finished_ms: int | None = None) -> RunEnded:
    ended = RunEnded(prompt_id, ok, tuple(clock.done), finished_ms, clock.job_id)
    sink(ended)
    return ended
