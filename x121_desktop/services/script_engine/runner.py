"""Running one script: a fresh working folder, declared inputs in, declared outputs out.

Layout of a run folder (kept after the run, so its log can be read)::

    <runs>/<name>-<time>-<random>/
        in/       file and image inputs, copied (or converted to the declared image format)
        out/      where the script writes its declared outputs (paths given as arguments/env)
        inputs.json   every input value, for scripts that prefer reading a file
        log.txt   stdout and stderr, interleaved

The script runs with the run folder as its working directory, in its own process group, with
``X121_IN_<NAME>``/``X121_OUT_<NAME>`` in its environment. On the time limit or a cancel the
whole group gets SIGTERM, then SIGKILL after ``KILL_GRACE_S``. A run succeeds only if it exits 0
and every declared output exists (JSON outputs must parse); otherwise ``ScriptFailed`` carries
its log.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import Cancelled, InvalidInput, NotFound
from x121_desktop.core.preprocess.image import encode_pgm, encode_png, read_image, to_gray
from x121_desktop.services.script_engine.builds import ensure_binary, ensure_venv, venv_python
from x121_desktop.services.script_engine.errors import ScriptFailed, read_log
from x121_desktop.services.script_engine.manifest import InputSpec, ScriptSpec, expand_args

KILL_GRACE_S = 2.0
POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class ScriptRequest:
    name: str
    inputs: Mapping[str, str]
    """Input name → value as text (a path for image/file inputs)."""
    timeout_s: float | None = None
    """None: the manifest's limit."""


@dataclass(frozen=True, slots=True)
class ScriptResult:
    name: str
    run_dir: Path
    exit_status: int
    elapsed_ms: int
    outputs: Mapping[str, Path]
    documents: Mapping[str, Any]
    """Parsed JSON outputs by name."""
    log: str


def _bad_input(spec: ScriptSpec, problem: str, fix: str) -> InvalidInput:
    return InvalidInput(f"Script {spec.name!r}: {problem}", fix)


def _check_value(spec: ScriptSpec, item: InputSpec, value: str) -> str:
    if item.type == "int":
        try:
            return str(int(value))
        except ValueError:
            raise _bad_input(
                spec, f"input {item.name}={value!r} is not a whole number", "Give a whole number"
            ) from None
    if item.type == "float":
        try:
            return repr(float(value))
        except ValueError:
            raise _bad_input(spec, f"input {item.name}={value!r} is not a number", "Give a number") from None
    return value


def resolve_inputs(spec: ScriptSpec, given: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(given) - {i.name for i in spec.inputs})
    if unknown:
        names = ", ".join(i.name for i in spec.inputs) or "none"
        raise _bad_input(spec, f"there is no input {', '.join(unknown)}", f"Its inputs are: {names}")
    values: dict[str, str] = {}
    for item in spec.inputs:
        value = given.get(item.name, item.default)
        if value is None:
            raise _bad_input(spec, f"the required input {item.name} is missing", f"Give --input {item.name}=…")
        values[item.name] = _check_value(spec, item, value)
    return values


def _stage_file(spec: ScriptSpec, item: InputSpec, value: str, in_dir: Path) -> Path:
    source = Path(value).expanduser()
    if not source.is_file():
        raise NotFound(f"Script {spec.name!r}: input {item.name} names {source}, which is not a file", "Check the path")
    if item.type == "image" and item.format != "original":
        image = read_image(source)  # a corrupt image fails here, before the script runs
        data = encode_pgm(to_gray(image)) if item.format == "pgm" else encode_png(image)
        target = in_dir / f"{item.name}.{item.format}"
        target.write_bytes(data)
        return target
    target = in_dir / f"{item.name}{source.suffix.lower()}"
    shutil.copyfile(source, target)
    return target


def command_for(spec: ScriptSpec, cache_dir: Path) -> list[str]:
    if spec.runtime == "shell":
        shell = shutil.which("bash") or "/bin/sh"
        return [shell, str(spec.entry_path)]
    if spec.runtime == "python":
        return [str(venv_python(ensure_venv(spec, cache_dir))), str(spec.entry_path)]
    return [str(ensure_binary(spec, cache_dir))]


def _new_run_dir(runs_dir: Path, name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_dir = runs_dir / f"{name}-{stamp}-{secrets.token_hex(3)}"
    (run_dir / "in").mkdir(parents=True)
    (run_dir / "out").mkdir()
    return run_dir


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _prepare(spec: ScriptSpec, values: dict[str, str], run_dir: Path) -> tuple[dict[str, str], dict[str, Path]]:
    """Stage inputs into in/, name outputs under out/; returns (environment, output paths)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("X121_")}
    try:
        for item in spec.inputs:
            if item.type in ("image", "file"):
                values[item.name] = str(_stage_file(spec, item, values[item.name], run_dir / "in"))
            env[f"X121_IN_{item.name.upper()}"] = values[item.name]
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # a bad input leaves no run folder behind
        raise
    outputs = {o.name: run_dir / "out" / o.path for o in spec.outputs}
    for name, path in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        env[f"X121_OUT_{name.upper()}"] = str(path)
        values[name] = str(path)
    (run_dir / "inputs.json").write_text(json.dumps(values, indent=2), encoding="utf-8")
    env["X121_RUN_DIR"] = str(run_dir)
    return env, outputs


def _execute(
    cmd: list[str], run_dir: Path, env: dict[str, str], limit: float, cancel: CancelToken | None
) -> tuple[int, str | None]:
    """Run in its own process group; (exit status, None | "timeout" | "cancelled")."""
    started = time.monotonic()
    with (run_dir / "log.txt").open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=run_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while proc.poll() is None:
            stop = "cancelled" if cancel is not None and cancel.cancelled else None
            if stop is None and time.monotonic() - started > limit:
                stop = "timeout"
            if stop is not None:
                _stop_group(proc)
                return proc.wait(), stop
            time.sleep(POLL_S)
        return proc.wait(), None


def _collect(spec: ScriptSpec, outputs: dict[str, Path], log_text: str, log_path: Path) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    for out in spec.outputs:
        path = outputs[out.name]
        if not path.is_file():
            raise ScriptFailed(
                f"Script {spec.name!r} exited 0 but wrote no {out.name} output ({out.path})",
                f"See its log in {log_path}",
                log=log_text,
                log_path=log_path,
            )
        if out.type == "json":
            try:
                documents[out.name] = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ScriptFailed(
                    f"Script {spec.name!r} wrote a {out.name} output that is not valid JSON ({exc})",
                    f"See its log in {log_path}",
                    log=log_text,
                    log_path=log_path,
                ) from None
    return documents


def run_script(
    spec: ScriptSpec,
    request: ScriptRequest,
    *,
    cache_dir: Path,
    runs_dir: Path,
    cancel: CancelToken | None = None,
    progress: ProgressSink = no_progress,
) -> ScriptResult:
    """Run `spec` with the request's inputs; blocking (call it on an executor)."""
    values = resolve_inputs(spec, request.inputs)
    limit = spec.timeout_s if request.timeout_s is None else request.timeout_s
    progress(0, 3, f"preparing {spec.name}")
    program = command_for(spec, cache_dir)  # a failed build leaves no run folder behind
    run_dir = _new_run_dir(runs_dir, spec.name)
    env, outputs = _prepare(spec, values, run_dir)
    progress(1, 3, f"running {spec.name}")
    started = time.monotonic()
    code, stop = _execute([*program, *expand_args(spec.args, values)], run_dir, env, limit, cancel)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    log_path = run_dir / "log.txt"
    log_text = read_log(log_path)
    if stop == "cancelled":
        raise Cancelled(f"Script {spec.name!r}")
    if stop == "timeout":
        raise ScriptFailed(
            f"Script {spec.name!r} ran past its {limit:g} s time limit and was stopped",
            f"See its log in {log_path}; raise timeout_s in its manifest if it needs longer",
            log=log_text,
            log_path=log_path,
        )
    if code != 0:
        raise ScriptFailed(
            f"Script {spec.name!r} exited with status {code}",
            f"See its log in {log_path}",
            log=log_text,
            log_path=log_path,
        )
    documents = _collect(spec, outputs, log_text, log_path)
    progress(3, 3, f"{spec.name} finished")
    return ScriptResult(spec.name, run_dir, code, elapsed_ms, outputs, documents, log_text)
