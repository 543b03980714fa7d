"""The script engine: pipeline steps as shell scripts, Python scripts in their own cached
virtual environment, or C++ compiled with g++ (cached by source hash).

    engine = ScriptEngine(studio.paths.cache_dir)
    spec = engine.find("symmetry")                     # ScriptSpec from scripts/pipeline/symmetry
    result = await engine.run(runtime, ScriptRequest("symmetry", {"face": "chip.png"}), cancel=tok)
    result.documents["report"]["score"]

Scripts are found in the folders of ``X121_SCRIPTS_PATH`` (os.pathsep-separated), then in the
studio's own ``scripts/pipeline``; each script is a folder holding ``manifest.toml`` (see
manifest.py). Runs are kept under ``<cache_dir>/script-runs`` with their logs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from x121_desktop.core.bundled import DataTree, locate
from x121_desktop.core.cancel import CancelToken, ProgressSink, no_progress
from x121_desktop.core.errors import NotFound
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.script_engine.errors import ScriptFailed
from x121_desktop.services.script_engine.manifest import MANIFEST_FILE, ScriptSpec, load_manifest
from x121_desktop.services.script_engine.runner import ScriptRequest, ScriptResult, run_script

SCRIPTS_PATH_ENV = "X121_SCRIPTS_PATH"
BUILTIN_SCRIPTS = locate(DataTree.PIPELINE_SCRIPTS).path  # the installed package's, else the checkout's

__all__ = [
    "BUILTIN_SCRIPTS",
    "ScriptEngine",
    "ScriptFailed",
    "ScriptRequest",
    "ScriptResult",
    "ScriptSpec",
]


def default_search_path() -> tuple[Path, ...]:
    extra = [Path(p) for p in os.environ.get(SCRIPTS_PATH_ENV, "").split(os.pathsep) if p]
    return (*extra, BUILTIN_SCRIPTS)


class ScriptEngine:
    """Finds scripts by name and runs them; build products and runs live under `cache_dir`."""

    def __init__(self, cache_dir: Path, search_path: Sequence[Path] | None = None) -> None:
        self.cache_dir = cache_dir
        self.runs_dir = cache_dir / "script-runs"
        self.search_path = tuple(search_path) if search_path is not None else default_search_path()

    def names(self) -> list[str]:
        found: set[str] = set()
        for root in self.search_path:
            if root.is_dir():
                found.update(p.parent.name for p in root.glob(f"*/{MANIFEST_FILE}"))
        return sorted(found)

    def find(self, name: str) -> ScriptSpec:
        for root in self.search_path:
            folder = root / name
            if (folder / MANIFEST_FILE).is_file():
                return load_manifest(folder)
        known = ", ".join(self.names()) or "none"
        raise NotFound(f"There is no pipeline script {name!r}", f"Known scripts: {known}")

    def run_blocking(
        self, request: ScriptRequest, *, cancel: CancelToken | None = None, progress: ProgressSink = no_progress
    ) -> ScriptResult:
        spec = self.find(request.name)
        return run_script(
            spec, request, cache_dir=self.cache_dir, runs_dir=self.runs_dir, cancel=cancel, progress=progress
        )

    async def run(
        self,
        runtime: Runtime,
        request: ScriptRequest,
        *,
        cancel: CancelToken | None = None,
        progress: ProgressSink = no_progress,
    ) -> ScriptResult:
        """Run on the studio's io executor (the work is a child process); cancelling sets `cancel`."""
        token = cancel or CancelToken()
        try:
            return await runtime.run(runtime.io, self.run_blocking, request, cancel=token, progress=progress)
        except BaseException:
            token.cancel()  # an awaiting task that is cancelled stops the child too
            raise
