"""Refinement steps run on every new, validated Seed A, through the script engine.

Two shipped scripts (scripts/pipeline/) run on the portrait a character will be generated
from (the auto-crop, or the original when the crop changes nothing):

* `symmetry` (C++, compiled and cached by the engine) scores the face's left/right symmetry on
  an aligned face chip (dlib's 5 landmarks: eyes level and centred, core/preprocess/align.py);
* `skin_texture` (Python, in its cached virtual environment) normalizes the skin texture by
  frequency separation on a skin mask and writes the refined portrait with its statistics.

Both run *before* the registration's transaction, after validation: a script that fails, times
out or writes no output raises `ScriptFailed` with its log, and the seed is not registered at
all (nothing is written, not even a file), so a registration is never half-done and a failure
is never dropped. Their results are kept as one REFINED Seed A variant, child of the portrait
they ran on: the refined image, and in `params` each step's script (name, runtime, a hash of
its source folder), inputs, JSON result, run folder (with its log) and duration. The hero stays
the validated portrait; a person may make the refined variant the hero (`x121 seed hero`).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from x121_desktop.core.preprocess import SeedReport, aligned_face, apply_crop, decode_image, encode_png
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.script_engine import ScriptEngine, ScriptRequest, ScriptResult, ScriptSpec

SYMMETRY = "symmetry"
SKIN_TEXTURE = "skin_texture"


@dataclass(frozen=True, slots=True)
class Refinement:
    """What the refinement steps made of one portrait: the refined PNG and every step's provenance."""

    png: bytes
    params: dict[str, Any]


def script_digest(spec: ScriptSpec) -> str:
    """sha256 over the script folder's files (names and bytes): which source produced a result."""
    digest = hashlib.sha256()
    for path in sorted(p for p in spec.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(spec.folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _step(engine: ScriptEngine, result: ScriptResult, inputs: dict[str, Any]) -> dict[str, Any]:
    spec = engine.find(result.name)
    return {
        "script": {"name": spec.name, "runtime": spec.runtime, "entry": spec.entry, "sha256": script_digest(spec)},
        "inputs": inputs,
        "result": dict(result.documents),
        "exit_status": result.exit_status,
        "elapsed_ms": result.elapsed_ms,
        "run_dir": str(result.run_dir),
    }


class SeedRefiner:
    """Runs the refinement steps on a validated portrait (`refine`) on the studio's executors."""

    def __init__(self, runtime: Runtime, engine: ScriptEngine, work_dir: Path) -> None:
        self._runtime = runtime
        self.engine = engine
        self._work_dir = work_dir

    @classmethod
    def for_studio(cls, studio: Studio, engine: ScriptEngine | None = None) -> SeedRefiner:
        """The studio's refiner: scripts and their builds under the studio's cache folder."""
        cache = studio.paths.cache_dir
        return cls(studio.runtime, engine or ScriptEngine(cache), cache / "refine")

    def _inputs(self, original: bytes, report: SeedReport, label: str, folder: Path, crop: bool) -> tuple[Path, Path]:
        """The aligned face chip and the portrait (cropped or whole), as PNG files in `folder` (blocking, cpu)."""
        if report.face is None:
            raise ValueError("refinement needs a validated portrait with a face")
        image = decode_image(original, label)
        chip, portrait = folder / "face-chip.png", folder / "portrait.png"
        chip.write_bytes(encode_png(aligned_face(image, report.face)))
        whole = not crop or report.crop_is_whole_image
        portrait.write_bytes(encode_png(image if whole else apply_crop(image, report.crop)))
        return chip, portrait

    def _new_folder(self) -> Path:
        self._work_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="x121-refine-", dir=self._work_dir))

    def _provenance(self, symmetry: ScriptResult, skin: ScriptResult) -> dict[str, Any]:
        """Each step's script, inputs and results (blocking: reads the script folders)."""
        spec = self.engine.find(SKIN_TEXTURE)
        strength = next((i.default for i in spec.inputs if i.name == "strength"), None)
        return {
            "step": "refinement",
            SYMMETRY: _step(self.engine, symmetry, {"face": "aligned face chip of the portrait"}),
            SKIN_TEXTURE: _step(self.engine, skin, {"image": "the portrait", "strength": strength}),
        }

    async def refine(self, original: bytes, report: SeedReport, label: str, *, crop: bool = True) -> Refinement:
        """Run symmetry and skin_texture on the portrait (its auto-crop unless `crop` is False);
        ScriptFailed (with the log) if either fails."""
        io, cpu = self._runtime.io, self._runtime.cpu
        folder = await self._runtime.run(io, self._new_folder)
        try:
            chip, portrait = await self._runtime.run(cpu, self._inputs, original, report, label, folder, crop)
            symmetry = await self.engine.run(self._runtime, ScriptRequest(SYMMETRY, {"face": str(chip)}))
            skin = await self.engine.run(self._runtime, ScriptRequest(SKIN_TEXTURE, {"image": str(portrait)}))
            png = await self._runtime.run(io, skin.outputs["result"].read_bytes)
        finally:
            await self._runtime.run(io, shutil.rmtree, folder, True)
        return Refinement(png, await self._runtime.run(io, self._provenance, symmetry, skin))
