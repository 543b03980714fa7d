"""Cached build products: Python virtual environments and compiled C++ programs.

Both live under ``<cache_dir>/script-engine`` and are keyed by a hash of what they are built
from, so an unchanged script reuses them and a changed one gets a fresh build:

* **Python:** the key hashes requirements.txt, the interpreter version and whether the studio's
  packages are inherited. The venv is made with ``python -m venv --without-pip`` (no ensurepip:
  ~0.1 s instead of ~4 s); by default a ``.pth`` file then puts the studio's own site-packages
  *after* the venv's, so requirements the studio already has (numpy, opencv) are satisfied
  without a download and anything else is installed into the venv, where it takes precedence.
  Requirements are installed with the studio's pip (``pip --python <venv>``), which honours
  pip's configuration (index, find-links, wheel cache). Offline, a requirement that is neither
  inherited nor in a local wheel folder fails the build with pip's log.
* **C++:** the key hashes every source file, the flags and ``g++ --version``; the program is
  compiled to a temporary name and renamed into place.

A build happens under an exclusive file lock and is marked complete only at the end, so two
processes never build the same thing at once and a half-built folder is rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from x121_desktop.services.script_engine.errors import ScriptFailed, read_log
from x121_desktop.services.script_engine.manifest import ScriptSpec

BUILD_VERSION = "1"
READY = ".x121-ready"
CXX = "g++"
CXX_FLAGS = ("-std=c++17", "-O2", "-Wall", "-Wextra")
PIP_TIMEOUT_S = 900.0
COMPILE_TIMEOUT_S = 300.0


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run_logged(cmd: list[str], log_path: Path, timeout_s: float, cwd: Path | None = None) -> int:
    with log_path.open("ab") as log:
        try:
            return subprocess.run(
                cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, timeout=timeout_s, check=False
            ).returncode
        except subprocess.TimeoutExpired:
            return -1


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def venv_key(spec: ScriptSpec) -> str:
    digest = hashlib.sha256()
    req = spec.requirements.read_bytes() if spec.requirements.is_file() else b""
    for part in (BUILD_VERSION, sys.version, str(spec.inherit_studio_packages)):
        digest.update(part.encode() + b"\0")
    digest.update(req)
    return digest.hexdigest()[:20]


def _requirements_listed(path: Path) -> bool:
    if not path.is_file():
        return False
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return any(lines)


def ensure_venv(spec: ScriptSpec, cache_dir: Path) -> Path:
    """The cached venv for this script's requirements (built on first use); its folder."""
    root = cache_dir / "script-engine" / "venvs"
    key = venv_key(spec)
    venv = root / key
    if (venv / READY).is_file():
        return venv
    with _locked(root / f"{key}.lock"):
        if (venv / READY).is_file():
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # a build that died half-way
        venv.mkdir(parents=True)
        log_path = venv / "build.log"
        code = _run_logged([sys.executable, "-m", "venv", "--without-pip", str(venv)], log_path, 120.0)
        if code != 0:
            _fail_build(spec, venv, log_path, "creating its virtual environment")
        if spec.inherit_studio_packages:
            site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
            studio = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
            (site / "x121-studio-packages.pth").write_text("".join(f"{p}\n" for p in sorted(studio)), encoding="utf-8")
        if _requirements_listed(spec.requirements):
            cmd = [sys.executable, "-m", "pip", "--python", str(venv_python(venv)), "install", "--quiet"]
            cmd += ["--no-input", "-r", str(spec.requirements)]
            if _run_logged(cmd, log_path, PIP_TIMEOUT_S) != 0:
                _fail_build(spec, venv, log_path, f"installing {spec.requirements.name}")
        (venv / READY).write_text(spec.requirements.name + "\n", encoding="utf-8")
    return venv


def _fail_build(spec: ScriptSpec, folder: Path, log_path: Path, step: str) -> None:
    log = read_log(log_path)
    keep = folder.parent / f"{folder.name}.failed.log"
    keep.write_text(log, encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    raise ScriptFailed(
        f"Preparing script {spec.name!r} failed while {step}",
        "Read the build log; without network access only requirements already in the studio "
        "or in pip's local wheel folder can be installed",
        log=log,
        log_path=keep,
    )


def cpp_sources(spec: ScriptSpec) -> list[Path]:
    return sorted(p for p in spec.folder.iterdir() if p.suffix in (".cpp", ".cc", ".h", ".hpp") and p.is_file())


def compiler_version() -> str:
    if shutil.which(CXX) is None:
        raise ScriptFailed(
            f"The C++ compiler {CXX} is not installed, so C++ scripts cannot be built",
            "Install it (Debian: apt-get install g++)",
        )
    out = subprocess.run([CXX, "--version"], capture_output=True, text=True, check=False, timeout=30)
    return out.stdout.splitlines()[0] if out.stdout else CXX


def binary_key(spec: ScriptSpec) -> str:
    digest = hashlib.sha256()
    for part in (BUILD_VERSION, compiler_version(), " ".join(CXX_FLAGS)):
        digest.update(part.encode() + b"\0")
    for source in cpp_sources(spec):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def ensure_binary(spec: ScriptSpec, cache_dir: Path) -> Path:
    """The compiled program for this script's sources (compiled on first use)."""
    root = cache_dir / "script-engine" / "bin"
    key = binary_key(spec)
    program = root / key / spec.name
    if program.is_file():
        return program
    with _locked(root / f"{key}.lock"):
        if program.is_file():
            return program
        folder = program.parent
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        log_path = folder / "compile.log"
        tmp = folder / f".{spec.name}.tmp"
        units = [str(p) for p in cpp_sources(spec) if p.suffix in (".cpp", ".cc")]
        code = _run_logged([CXX, *CXX_FLAGS, "-o", str(tmp), *units], log_path, COMPILE_TIMEOUT_S, cwd=spec.folder)
        if code != 0 or not tmp.is_file():
            _fail_build(spec, folder, log_path, f"compiling {spec.entry} with {CXX}")
        os.replace(tmp, program)
    return program
