"""The script engine on real scripts: the shipped C++ symmetry and Python skin-texture steps, shell
scripts that fail, time out or are cancelled, builds cached by content, manifests checked."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from x121_desktop.core.cancel import CancelToken
from x121_desktop.core.errors import Cancelled, ConfigError, InvalidInput, NotFound
from x121_desktop.core.likeness import detect_faces
from x121_desktop.core.preprocess import aligned_face, encode_png
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.script_engine import BUILTIN_SCRIPTS, ScriptEngine, ScriptFailed, ScriptRequest

SHELL_MANIFEST = """\
format = "x121.script-manifest"
version = 1
name = "{name}"
runtime = "shell"
entry = "run.sh"
timeout_s = {timeout}
args = ["{{text}}", "{{result}}"]

[inputs.text]
type = "text"
default = "hello"

[outputs.result]
type = "file"
path = "result.txt"
"""


def _shell(root: Path, name: str, body: str, timeout: float = 10) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(SHELL_MANIFEST.format(name=name, timeout=timeout), encoding="utf-8")
    (folder / "run.sh").write_text(textwrap.dedent(body), encoding="utf-8")


@pytest.fixture
def engine(tmp_path: Path) -> ScriptEngine:
    return ScriptEngine(tmp_path / "cache", [tmp_path / "scripts", BUILTIN_SCRIPTS])


@pytest.fixture(scope="module")
def chip_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    image = np.ascontiguousarray(data.astronaut())
    chip = aligned_face(image, detect_faces(image)[0])
    path = tmp_path_factory.mktemp("chip") / "chip.png"
    path.write_bytes(encode_png(chip))
    return path


def _png(path: Path, image: np.ndarray) -> Path:
    path.write_bytes(encode_png(np.ascontiguousarray(image)))
    return path


def test_symmetry_scores_real_and_mirrored_faces(engine: ScriptEngine, chip_png: Path, tmp_path: Path) -> None:
    real = engine.run_blocking(ScriptRequest("symmetry", {"face": str(chip_png)}))
    report = real.documents["report"]
    assert real.exit_status == 0
    assert 0.5 < report["score"] < 1.0
    assert report["symmetric"] is (report["score"] >= 0.6)
    assert "symmetry score" in real.log
    assert (real.run_dir / "in" / "face.pgm").read_bytes().startswith(b"P5\n150 150\n255\n")

    chip = cv2.cvtColor(cv2.imread(str(chip_png)), cv2.COLOR_BGR2RGB)
    mirrored = chip.copy()
    mirrored[:, 75:] = chip[:, :75][:, ::-1]  # left half mirrored onto the right: perfectly symmetric
    perfect = engine.run_blocking(ScriptRequest("symmetry", {"face": str(_png(tmp_path / "m.png", mirrored))}))
    assert perfect.documents["report"]["score"] > 0.99

    half_dark = chip.copy()
    half_dark[:, 75:] = np.random.default_rng(1).integers(0, 255, half_dark[:, 75:].shape, dtype=np.uint8)
    broken = engine.run_blocking(
        ScriptRequest("symmetry", {"face": str(_png(tmp_path / "n.png", half_dark)), "threshold": "0.9"})
    )
    assert broken.documents["report"]["score"] < report["score"] - 0.3
    assert broken.documents["report"]["symmetric"] is False
    assert broken.documents["report"]["threshold"] == pytest.approx(0.9)


def test_cpp_is_compiled_once_per_source(engine: ScriptEngine, chip_png: Path, tmp_path: Path) -> None:
    engine.run_blocking(ScriptRequest("symmetry", {"face": str(chip_png)}))
    bins = list((engine.cache_dir / "script-engine" / "bin").glob("*/symmetry"))
    assert len(bins) == 1
    built_at = bins[0].stat().st_mtime_ns
    engine.run_blocking(ScriptRequest("symmetry", {"face": str(chip_png)}))
    assert bins[0].stat().st_mtime_ns == built_at  # reused, not recompiled
    # a changed source is a new program
    copy = tmp_path / "scripts" / "symmetry"
    copy.mkdir(parents=True)
    for f in (BUILTIN_SCRIPTS / "symmetry").iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    with (copy / "symmetry.cpp").open("a") as handle:
        handle.write("\n// changed\n")
    engine.run_blocking(ScriptRequest("symmetry", {"face": str(chip_png)}))
    assert len(list((engine.cache_dir / "script-engine" / "bin").glob("*/symmetry"))) == 2


def test_a_compile_error_is_reported_with_the_compiler_log(engine: ScriptEngine, tmp_path: Path) -> None:
    folder = tmp_path / "scripts" / "broken"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(
        'format = "x121.script-manifest"\nversion = 1\nname = "broken"\nruntime = "cpp"\nentry = "main.cpp"\n',
        encoding="utf-8",
    )
    (folder / "main.cpp").write_text("int main() { return undefined_thing; }\n", encoding="utf-8")
    with pytest.raises(ScriptFailed, match=r"compiling main\.cpp with g\+\+") as caught:
        engine.run_blocking(ScriptRequest("broken", {}))
    assert "undefined_thing" in caught.value.log_tail
    assert caught.value.log_path is not None
    assert caught.value.log_path.is_file()
    assert not list((engine.cache_dir / "script-engine" / "bin").glob("*/broken"))
    assert not engine.runs_dir.exists() or not list(engine.runs_dir.iterdir())


def test_skin_texture_runs_in_its_cached_venv(engine: ScriptEngine, tmp_path: Path) -> None:
    portrait = _png(tmp_path / "a.png", data.astronaut())
    first = engine.run_blocking(ScriptRequest("skin_texture", {"image": str(portrait)}))
    venvs = [p for p in (engine.cache_dir / "script-engine" / "venvs").iterdir() if p.is_dir()]
    assert len(venvs) == 1
    assert (venvs[0] / ".x121-ready").is_file()
    stats = first.documents["stats"]
    assert 0.05 < stats["skin_fraction"] < 0.6
    assert abs(stats["texture_after"] - stats["target"]) < abs(stats["texture_before"] - stats["target"])
    out = cv2.cvtColor(cv2.imread(str(first.outputs["result"])), cv2.COLOR_BGR2RGB)
    original = data.astronaut()
    assert out.shape == original.shape
    diff = np.abs(out.astype(np.int16) - original.astype(np.int16)).max(axis=2)
    assert diff.max() > 10  # skin changed
    changed = diff > 2
    # what changed is skin: the YCrCb skin range, or within the feathered edge of the mask
    ycrcb = cv2.cvtColor(cv2.cvtColor(original, cv2.COLOR_RGB2BGR), cv2.COLOR_BGR2YCrCb)
    skin = cv2.inRange(ycrcb, np.array([0, 133, 77], np.uint8), np.array([255, 173, 127], np.uint8)) > 0
    near_skin = cv2.dilate(skin.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert changed[~near_skin].mean() < 0.01

    venv_time = venvs[0].stat().st_mtime_ns
    same = engine.run_blocking(ScriptRequest("skin_texture", {"image": str(portrait), "strength": "0"}))
    assert venvs[0].stat().st_mtime_ns == venv_time  # the venv was reused
    unchanged = cv2.cvtColor(cv2.imread(str(same.outputs["result"])), cv2.COLOR_BGR2RGB)
    assert np.abs(unchanged.astype(np.int16) - original.astype(np.int16)).max() <= 1


def test_a_venv_that_cannot_be_built_is_reported(engine: ScriptEngine, tmp_path: Path) -> None:
    folder = tmp_path / "scripts" / "needs_junk"
    folder.mkdir(parents=True)
    (folder / "manifest.toml").write_text(
        'format = "x121.script-manifest"\nversion = 1\nname = "needs_junk"\nruntime = "python"\nentry = "m.py"\n',
        encoding="utf-8",
    )
    (folder / "m.py").write_text("print('never runs')\n", encoding="utf-8")
    (folder / "requirements.txt").write_text("this is not === a requirement !!\n", encoding="utf-8")
    with pytest.raises(ScriptFailed, match=r"installing requirements\.txt") as caught:
        engine.run_blocking(ScriptRequest("needs_junk", {}))
    assert caught.value.log.strip()
    venvs = engine.cache_dir / "script-engine" / "venvs"
    assert not [p for p in venvs.iterdir() if p.is_dir()]  # nothing half-built is kept


def test_non_zero_exit_and_missing_output_are_failures_with_their_log(engine: ScriptEngine, tmp_path: Path) -> None:
    _shell(tmp_path / "scripts", "fails", 'echo "about to fail: $1" >&2\nexit 3\n')
    with pytest.raises(ScriptFailed, match="exited with status 3") as caught:
        engine.run_blocking(ScriptRequest("fails", {"text": "bad frame"}))
    assert "about to fail: bad frame" in caught.value.log_tail
    _shell(tmp_path / "scripts", "lazy", "echo done\n")
    with pytest.raises(ScriptFailed, match="wrote no result output"):
        engine.run_blocking(ScriptRequest("lazy", {}))
    _shell(tmp_path / "scripts", "good", 'printf "%s" "$1" > "$2"\n[ "$X121_IN_TEXT" = "$1" ]\n')
    result = engine.run_blocking(ScriptRequest("good", {"text": "héllo wörld"}))
    assert result.outputs["result"].read_text(encoding="utf-8") == "héllo wörld"
    assert json.loads((result.run_dir / "inputs.json").read_text(encoding="utf-8"))["text"] == "héllo wörld"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_time_limit_kills_the_whole_process_group(engine: ScriptEngine, tmp_path: Path) -> None:
    _shell(tmp_path / "scripts", "sleepy", "sleep 30 &\necho $! > child.pid\necho waiting\nwait\n", timeout=1)
    started = time.monotonic()
    with pytest.raises(ScriptFailed, match="ran past its 1 s time limit") as caught:
        engine.run_blocking(ScriptRequest("sleepy", {}))
    assert time.monotonic() - started < 6
    assert "waiting" in caught.value.log
    run_dir = next(engine.runs_dir.iterdir())
    child = int((run_dir / "child.pid").read_text())
    deadline = time.monotonic() + 3
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_cancel_stops_a_running_script(engine: ScriptEngine, tmp_path: Path) -> None:
    _shell(tmp_path / "scripts", "long", "sleep 30\n", timeout=60)
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        engine.run_blocking(ScriptRequest("long", {}), cancel=token)
    assert time.monotonic() - started < 5


def test_async_run_on_the_runtime(engine: ScriptEngine, tmp_path: Path) -> None:
    _shell(tmp_path / "scripts", "echoer", 'printf "%s" "$1" > "$2"\n')
    runtime = Runtime()
    try:
        result = asyncio.run(engine.run(runtime, ScriptRequest("echoer", {"text": "async"})))
    finally:
        runtime.shutdown()
    assert result.outputs["result"].read_text() == "async"


def test_bad_inputs_are_refused_before_anything_runs(engine: ScriptEngine, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no pipeline script 'nope'"):
        engine.run_blocking(ScriptRequest("nope", {}))
    with pytest.raises(InvalidInput, match="there is no input colour"):
        engine.run_blocking(ScriptRequest("symmetry", {"colour": "red"}))
    with pytest.raises(InvalidInput, match="required input face is missing"):
        engine.run_blocking(ScriptRequest("symmetry", {}))
    with pytest.raises(InvalidInput, match="is not a number"):
        engine.run_blocking(ScriptRequest("symmetry", {"face": "x.png", "threshold": "high"}))
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(encode_png(data.astronaut())[:3000])
    with pytest.raises(InvalidInput, match="is truncated"):
        engine.run_blocking(ScriptRequest("symmetry", {"face": str(corrupt)}))
    assert not engine.runs_dir.exists() or not list(engine.runs_dir.iterdir())  # no half-made run folder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('format = "x"\nversion = 1\n', "'format'/'version' are missing"),
        ('format = "x121.script-manifest"\nversion = 1\nname = "m"\nruntime = "ruby"\nentry = "run.sh"\n', "'runtime'"),
        (
            'format = "x121.script-manifest"\nversion = 1\nname = "m"\nruntime = "shell"\nentry = "run.sh"\n'
            'args = ["{ghost}"]\n',
            "names {ghost}",
        ),
        (
            'format = "x121.script-manifest"\nversion = 1\nname = "m"\nruntime = "shell"\nentry = "run.sh"\n'
            '[outputs.o]\ntype = "file"\npath = "../escape"\n',
            "leaves the run folder",
        ),
        ("not toml = = =", "not valid TOML"),
    ],
)
def test_manifest_errors_name_the_file_and_key(engine: ScriptEngine, tmp_path: Path, text: str, message: str) -> None:
    folder = tmp_path / "scripts" / "m"
    folder.mkdir(parents=True)
    (folder / "run.sh").write_text("true\n")
    (folder / "manifest.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"manifest\.toml") as caught:
        engine.find("m")
    assert message in caught.value.sentence


def test_shipped_scripts_are_listed(engine: ScriptEngine) -> None:
    assert {"symmetry", "skin_texture"} <= set(engine.names())
