"""The prompt worker: takes queue entries in number order and executes them like ComfyUI."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from tests.comfyui_server.executor import Abandoned, Interrupted, Run, _exception_type, _is_link
from tests.comfyui_server.state import QueueEntry, ServerState, now_ms


class ExecutionList:
    """ComfyUI's "ux friendly" topological pick: outputs first, then what unblocks an output."""

    def __init__(self, run: Run, cached: set[str]) -> None:
        self.run = run
        self.cached = cached
        self.pending: dict[str, None] = {}
        self.blocking: dict[str, dict[str, None]] = {}
        self.block_count: dict[str, int] = {}

    def add(self, node_id: str) -> None:
        stack, links = [node_id], []
        while stack:
            current = stack.pop()
            if current in self.pending:
                continue
            self.pending[current] = None
            self.block_count[current] = 0
            self.blocking[current] = {}
            for value in self.run.prompt[current].get("inputs", {}).values():
                if _is_link(value) and value[0] not in self.cached:
                    stack.append(value[0])
                    links.append((value[0], current))
        for source, target in links:
            if source not in self.cached and target not in self.blocking[source]:
                self.blocking[source][target] = None
                self.block_count[target] += 1

    def is_output(self, node_id: str) -> bool:
        return bool(self.run.info[self.run.prompt[node_id]["class_type"]].get("output_node"))

    def pick(self) -> str:
        ready = [n for n in self.pending if self.block_count[n] == 0]
        for node in ready:
            if self.is_output(node):
                return node
        for node in ready:
            if any(self.is_output(b) for b in self.blocking[node]):
                return node
        for node in ready:
            if any(self.is_output(c) for b in self.blocking[node] for c in self.blocking[b]):
                return node
        return ready[0]

    def done(self, node_id: str) -> None:
        del self.pending[node_id]
        for blocked in self.blocking.pop(node_id):
            self.block_count[blocked] -= 1


async def worker(state: ServerState) -> None:
    while True:
        while not state.pending:
            state.wake.clear()
            await state.wake.wait()
        entry = min(state.pending, key=lambda e: e.number)
        state.pending.remove(entry)
        state.running = entry
        await state.send_status()
        generation = state.generation
        try:
            status_str, completed, run = await execute(state, entry, generation)
        except Abandoned:
            continue
        if generation != state.generation:
            continue
        meta = {n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n} for n in run.outputs}
        state.history[entry.prompt_id] = {
            "prompt": entry.as_list(),
            "outputs": run.outputs,
            "status": {"status_str": status_str, "completed": completed, "messages": run.messages},
            "meta": meta,
        }
        state.running = None
        await state.send_status()
        if run.sid:
            await state.send("executing", {"node": None, "prompt_id": entry.prompt_id}, run.sid)


async def execute(state: ServerState, entry: QueueEntry, generation: int) -> tuple[str, bool, Run]:
    loop = asyncio.get_running_loop()
    client_id = entry.extra_data.get("client_id")
    used = [n["class_type"] for n in entry.prompt.values() if isinstance(n, dict) and "class_type" in n]
    sid = client_id if isinstance(client_id, str) else None
    run = Run(state, entry, loop, generation, sid, state.object_info(used))
    state.interrupted = False
    if state.free_pending:
        state.cache.clear()
        state.free_pending = False
    pid = entry.prompt_id
    await run.send("execution_start", {"prompt_id": pid, "timestamp": now_ms()}, history=True)
    cached = {n for n in run.prompt if run.signature(n) in state.cache}
    cached_list = [n for n in run.prompt if n in cached]
    await run.send("execution_cached", {"nodes": cached_list, "prompt_id": pid, "timestamp": now_ms()}, history=True)
    for node_id in cached:
        run.values[node_id] = state.cache[run.signature(node_id)][0]
    order = ExecutionList(run, cached)
    for output in entry.outputs:
        order.add(output)
    result: tuple[str, bool] = ("success", True)
    while order.pending:
        node_id = order.pick()
        try:
            await _execute_node(run, node_id, node_id in cached)
        except Interrupted:
            node = run.prompt[node_id]["class_type"]
            data = {"prompt_id": pid, "node_id": node_id, "node_type": node, "executed": run.executed}
            await run.send("execution_interrupted", {**data, "timestamp": now_ms()}, history=True)
            result = ("error", False)
            break
        except Abandoned:
            raise
        except Exception as exc:
            await _report_error(run, node_id, exc)
            result = ("error", False)
            break
        order.done(node_id)
    else:
        await run.send("execution_success", {"prompt_id": pid, "timestamp": now_ms()}, history=True)
    keep = {run.signature(n) for n in run.prompt}
    for key in [k for k in state.cache if k not in keep]:
        del state.cache[key]
    return result[0], result[1], run


async def _execute_node(run: Run, node_id: str, cached: bool) -> None:
    state, pid = run.state, run.pid
    if cached:
        ui = state.cache[run.signature(node_id)][1]
        if ui is not None:
            run.outputs[node_id] = ui
            await run.send("executed", {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": pid})
        run._finish(node_id)
        await run.send_progress_state()
        return
    faults = state.faults
    if faults.drop_before_node == node_id:
        faults.drop_before_node = None
        await state.drop_sockets()
    if faults.restart_before_node == node_id:
        faults.restart_before_node = None
        await state.restart()
        raise Abandoned
    run._node_state(node_id, 0.0, 1.0, "running")
    await run.send_progress_state()
    await run.send("executing", {"node": node_id, "display_node": node_id, "prompt_id": pid})
    state.executing_node = node_id
    kwargs: dict[str, Any] = {}
    for name, value in run.prompt[node_id].get("inputs", {}).items():
        kwargs[name] = run.values[value[0]][value[1]] if _is_link(value) else value
    try:
        result = await asyncio.get_running_loop().run_in_executor(None, run._run_node, node_id, kwargs)
    finally:
        state.executing_node = None
    run.values[node_id] = result.outputs
    run.executed.append(node_id)
    state.cache[run.signature(node_id)] = (result.outputs, result.ui)
    if result.ui is not None:
        run.outputs[node_id] = result.ui
        await run.send("executed", {"node": node_id, "display_node": node_id, "output": result.ui, "prompt_id": pid})
    run._finish(node_id)
    await run.send_progress_state()


async def _report_error(run: Run, node_id: str, exc: Exception) -> None:
    node = run.prompt[node_id]
    current_inputs = {k: [v] for k, v in node.get("inputs", {}).items() if not _is_link(v)}
    data = {
        "prompt_id": run.pid,
        "node_id": node_id,
        "node_type": node["class_type"],
        "executed": run.executed,
        "exception_message": f"{exc}\n",
        "exception_type": _exception_type(exc),
        "traceback": traceback.format_tb(exc.__traceback__),
        "current_inputs": current_inputs,
        "current_outputs": list(run.prompt),
        "timestamp": now_ms(),
    }
    await run.send("execution_error", data, history=True)
