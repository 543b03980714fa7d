"""Script manifests: `manifest.toml` beside each pipeline script says how to run it.

    format = "x121.script-manifest"
    version = 1
    name = "symmetry"
    description = "Facial symmetry of an aligned face crop"
    runtime = "cpp"              # shell | python | cpp
    entry = "symmetry.cpp"       # the script (cpp: every *.cpp in the folder is compiled)
    timeout_s = 30               # wall-clock limit of one run
    args = ["{face}", "{report}", "{threshold}"]   # {name} = an input's value or an output's path

    [inputs.face]
    type = "image"               # image | file | text | int | float
    format = "pgm"               # image only: png (default) | pgm | original
    required = true

    [inputs.threshold]
    type = "float"
    default = 0.5

    [outputs.report]
    type = "json"                # json | image | file
    path = "report.json"         # relative to the run's out/ folder

Python scripts get their own virtual environment built from `requirements.txt` beside the
manifest (see venvs.py); `inherit_studio_packages = false` makes it fully isolated.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from x121_desktop.core.errors import ConfigError

MANIFEST_FILE = "manifest.toml"
FORMAT = "x121.script-manifest"
RUNTIMES = ("shell", "python", "cpp")
INPUT_TYPES = ("image", "file", "text", "int", "float")
IMAGE_FORMATS = ("png", "pgm", "original")
OUTPUT_TYPES = ("json", "image", "file")
MAX_TIMEOUT_S = 3600.0
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class InputSpec:
    name: str
    type: str
    required: bool
    default: str | None
    format: str
    description: str


@dataclass(frozen=True, slots=True)
class OutputSpec:
    name: str
    type: str
    path: str
    description: str


@dataclass(frozen=True, slots=True)
class ScriptSpec:
    name: str
    folder: Path
    description: str
    runtime: str
    entry: str
    timeout_s: float
    args: tuple[str, ...]
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    inherit_studio_packages: bool

    @property
    def entry_path(self) -> Path:
        return self.folder / self.entry

    @property
    def requirements(self) -> Path:
        return self.folder / "requirements.txt"

    def input(self, name: str) -> InputSpec | None:
        return next((i for i in self.inputs if i.name == name), None)


def _err(path: Path, key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{path}: {key} {problem}", fix)


def _str(raw: Mapping[str, Any], key: str, path: Path, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise _err(path, f"'{where}{key}'", "must be text", f'Set {where}{key} = "…"')
    return value


def _inputs(raw: Any, path: Path) -> tuple[InputSpec, ...]:
    if not isinstance(raw, dict):
        raise _err(path, "'inputs'", "must be a table", "Write [inputs.NAME] sections")
    out: list[InputSpec] = []
    for name, spec in raw.items():
        where = f"inputs.{name}."
        if not _NAME.match(name) or not isinstance(spec, dict):
            raise _err(
                path, f"'inputs.{name}'", "is not a valid input", "Use lower-case names and [inputs.NAME] tables"
            )
        kind = _str(spec, "type", path, where)
        if kind not in INPUT_TYPES:
            raise _err(path, f"'{where}type'", f"is {kind!r}", f"Use one of {', '.join(INPUT_TYPES)}")
        fmt = _str(spec, "format", path, where, "png")
        if fmt not in IMAGE_FORMATS:
            raise _err(path, f"'{where}format'", f"is {fmt!r}", f"Use one of {', '.join(IMAGE_FORMATS)}")
        default = spec.get("default")
        if default is not None and (isinstance(default, bool) or not isinstance(default, (str, int, float))):
            raise _err(path, f"'{where}default'", "must be text or a number", "Give a plain value")
        out.append(
            InputSpec(
                name,
                kind,
                bool(spec.get("required", default is None)),
                None if default is None else str(default),
                fmt,
                _str(spec, "description", path, where, ""),
            )
        )
    return tuple(out)


def _outputs(raw: Any, path: Path) -> tuple[OutputSpec, ...]:
    if not isinstance(raw, dict):
        raise _err(path, "'outputs'", "must be a table", "Write [outputs.NAME] sections")
    out: list[OutputSpec] = []
    for name, spec in raw.items():
        where = f"outputs.{name}."
        if not _NAME.match(name) or not isinstance(spec, dict):
            raise _err(path, f"'outputs.{name}'", "is not a valid output", "Use lower-case names")
        kind = _str(spec, "type", path, where)
        if kind not in OUTPUT_TYPES:
            raise _err(path, f"'{where}type'", f"is {kind!r}", f"Use one of {', '.join(OUTPUT_TYPES)}")
        rel = _str(spec, "path", path, where)
        parts = Path(rel).parts
        if not rel or Path(rel).is_absolute() or ".." in parts:
            raise _err(path, f"'{where}path'", f"{rel!r} leaves the run folder", "Give a plain relative file name")
        out.append(OutputSpec(name, kind, rel, _str(spec, "description", path, where, "")))
    return tuple(out)


def load_manifest(folder: Path) -> ScriptSpec:
    """Read and check `folder/manifest.toml`; errors name the file and the key."""
    path = folder / MANIFEST_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", "Every script folder needs a manifest.toml") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})", "Fix the manifest") from None
    if raw.get("format") != FORMAT or raw.get("version") != 1:
        raise _err(
            path, "'format'/'version'", "are missing or unknown", f'Start it with format = "{FORMAT}", version = 1'
        )
    name = _str(raw, "name", path, "")
    if not _NAME.match(name):
        raise _err(path, "'name'", f"{name!r} is not a script name", "Use lower-case letters, digits and _")
    runtime = _str(raw, "runtime", path, "")
    if runtime not in RUNTIMES:
        raise _err(path, "'runtime'", f"is {runtime!r}", f"Use one of {', '.join(RUNTIMES)}")
    entry = _str(raw, "entry", path, "")
    if not (folder / entry).is_file() or Path(entry).is_absolute() or ".." in Path(entry).parts:
        raise _err(path, "'entry'", f"names {entry!r}, which is not a file in {folder}", "Name the script file")
    timeout = raw.get("timeout_s", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise _err(path, "'timeout_s'", f"is {timeout!r}", f"Give seconds between 0 and {MAX_TIMEOUT_S:g}")
    args = raw.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise _err(path, "'args'", "must be a list of text", 'Write args = ["{input}", "{output}"]')
    inputs, outputs = _inputs(raw.get("inputs", {}), path), _outputs(raw.get("outputs", {}), path)
    names = [i.name for i in inputs] + [o.name for o in outputs]
    if len(set(names)) != len(names):
        raise _err(path, "'inputs'/'outputs'", "share a name", "Give every input and output its own name")
    for arg in args:
        for ref in _PLACEHOLDER.findall(arg):
            if ref not in names:
                raise _err(path, "'args'", f"names {{{ref}}}, which is no input or output", "Fix the placeholder")
    return ScriptSpec(
        name=name,
        folder=folder,
        description=_str(raw, "description", path, "", ""),
        runtime=runtime,
        entry=entry,
        timeout_s=float(timeout),
        args=tuple(args),
        inputs=inputs,
        outputs=outputs,
        inherit_studio_packages=bool(raw.get("inherit_studio_packages", True)),
    )


def expand_args(args: tuple[str, ...], values: Mapping[str, str]) -> list[str]:
    """Replace each {name} with its value (inputs) or absolute path (outputs)."""
    return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], a) for a in args]
