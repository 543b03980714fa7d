"""What a node implementation sees: its context (files, progress, previews) and its result."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.float32]  # [batch, height, width, channels] in 0..1, like ComfyUI


@dataclass(frozen=True)
class Video:
    frames: Image
    fps: Fraction


class NodeFailure(Exception):
    """Raised by a node to fail like the real one would (its type name is reported)."""


@dataclass
class NodeContext:
    node_id: str
    input_dir: Path
    output_dir: Path
    temp_dir: Path
    progress: Callable[[int, int, bytes | None], None]  # value, max, optional PNG preview
    send_text: Callable[[str], None]
    counters: dict[tuple[str, str], int] = field(default_factory=dict)

    def resolve_input(self, name: str) -> Path:
        """`name`, `sub/name` or `sub/name [output|input|temp]` → a path inside that folder."""
        folder = self.input_dir
        match = re.fullmatch(r"(.*) \[(input|output|temp)\]", name)
        if match:
            name = match.group(1)
            folder = {"input": self.input_dir, "output": self.output_dir, "temp": self.temp_dir}[match.group(2)]
        path = (folder / name).resolve()
        if folder.resolve() not in path.parents:
            raise NodeFailure(f"{name} is outside the {folder.name} folder")
        return path

    def next_file(self, prefix: str, ext: str, *, temp: bool = False) -> tuple[Path, dict[str, str]]:
        """`<prefix>_<5-digit counter>_.<ext>`; the counter continues after existing files."""
        base = self.temp_dir if temp else self.output_dir
        subfolder, _, stem = prefix.rpartition("/")
        folder = base / subfolder
        folder.mkdir(parents=True, exist_ok=True)
        key = (str(folder), stem)
        if key not in self.counters:
            pattern = re.compile(re.escape(stem) + r"_(\d{5})_\.")
            found = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))]
            self.counters[key] = max(found, default=0)
        self.counters[key] += 1
        name = f"{stem}_{self.counters[key]:05d}_.{ext}"
        return folder / name, {"filename": name, "subfolder": subfolder, "type": "temp" if temp else "output"}


@dataclass(frozen=True)
class NodeResult:
    outputs: tuple[Any, ...] = ()
    ui: dict[str, Any] | None = None


NodeFn = Callable[..., NodeResult]


@dataclass(frozen=True)
class NodeImpl:
    run: NodeFn
    always_changed: bool = False
    # input name → how its cache key depends on the file it names ("hash" or "mtime")
    file_inputs: dict[str, str] = field(default_factory=dict)


def to_uint8(frames: Image) -> npt.NDArray[np.uint8]:
    return np.clip(np.rint(frames * 255.0), 0, 255).astype(np.uint8)
