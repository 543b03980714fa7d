"""`x121 seam analyze|heal` and `x121 stitch` run for real on small generated videos."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import pytest

from tests.media_factory import decode_all, make_video
from tests.seam_fixtures import Defect, animate, default_path, lab_shift, make_case, photo, seed_a
from x121_desktop.cli import main as cli_main
from x121_desktop.cli import seam as seam_cli
from x121_desktop.cli.seam import EXIT_NEEDS_REGENERATION
from x121_desktop.core.media import FrameReader
from x121_desktop.core.stitching.metrics import analyze_seam

FRAMES = 14
SIZE = 320
NEAR_LOSSLESS = {"crf": "10", "preset": "veryfast"}


def _encode(path: Path, frames: list) -> Path:  # type: ignore[type-arg]
    return make_video(path, frames, rate=24, gop=FRAMES, options=NEAR_LOSSLESS)


def _pair(tmp: Path, photo_name: str, defect: Defect) -> tuple[Path, Path]:
    case = make_case(photo_name, defect, frames=FRAMES, size=SIZE)
    return _encode(tmp / "a.mp4", list(case.tail)), _encode(tmp / "b.mp4", list(case.head))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # The real handlers and error handling of `x121`, with only this module's parser, so these
    # tests do not depend on other areas' command modules importing (as tests/cli/test_media_cli.py).
    parser = argparse.ArgumentParser(prog="x121")
    seam_cli.register(parser.add_subparsers(dest="command"))
    code = cli_main.run(parser.parse_args(list(argv)))
    out, err = capsys.readouterr()
    return code, out, err


def _one_sentence(err: str) -> None:
    line = err.strip()
    assert line.startswith("x121: error: ")
    assert "\n" not in line
    assert "Traceback" not in err


def test_seam_and_stitch_are_registered_in_the_entry_point() -> None:
    assert "x121_desktop.cli.seam" in cli_main.COMMAND_MODULES
    parser = argparse.ArgumentParser(prog="x121")
    seam_cli.register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["stitch", "a.mp4", "b.mp4", "-o", "m.mp4"]).mode == "simple"
    assert parser.parse_args(["seam", "heal", "a.mp4", "b.mp4", "-o", "h.mp4"]).space == "linear"


def test_analyze_reports_a_colour_shift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _pair(tmp_path, "chelsea", Defect.COLOUR)
    code, out, _ = _run(capsys, "seam", "analyze", str(a), str(b), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["report"]["grade"] == "red"
    bad = {g["metric"] for g in data["report"]["grades"] if g["grade"] != "green"}
    assert "colour" in bad
    code, out, _ = _run(capsys, "seam", "analyze", str(a), str(b))
    assert code == 0
    assert "seam: red" in out


def test_analyze_measures_on_the_yuv_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`seam analyze` grades the decoded planes (the path benchmarks/bench_seam.py times), not rgb24."""
    a, b = _pair(tmp_path, "coffee", Defect.EXPOSURE_UP)
    code, out, _ = _run(capsys, "seam", "analyze", str(a), str(b), "--json")
    assert code == 0
    report = json.loads(out)["report"]
    with FrameReader(a) as ra, FrameReader(b) as rb:
        assert ra.yuv_native  # H.264 yuv420p
        n, k = ra.frame_count, seam_cli.WINDOW
        planes = analyze_seam(list(ra.frames_yuv(n - k, n)), list(rb.frames_yuv(0, k)))
        rgb = analyze_seam(list(ra.frames(n - k, n)), list(rb.frames(0, k)))
    assert report["grade"] == planes.grade.value != "green"
    for key in ("ssim_across", "ssim_within", "exposure_jump", "delta_e_cast", "histogram_distance"):
        assert report[key] == pytest.approx(getattr(planes, key), rel=1e-9, abs=1e-12), key
    assert report["motion_across"] == pytest.approx(planes.motion_across, rel=1e-6)  # DIS threads
    assert (report["ssim_across"], report["exposure_jump"]) != pytest.approx((rgb.ssim_across, rgb.exposure_jump))


def test_analyze_with_seed_a_passes_a_clean_portrait_seam(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _pair(tmp_path, "astronaut", Defect.CLEAN)
    seed = tmp_path / "seed.png"
    cv2.imwrite(str(seed), cv2.cvtColor(seed_a(), cv2.COLOR_RGB2BGR))
    code, out, _ = _run(capsys, "seam", "analyze", str(a), str(b), "--seed-a", str(seed), "--json")
    assert code == 0
    report = json.loads(out)["report"]
    assert report["grade"] == "green"
    assert report["identity"]["reference"] == "seed"
    assert report["identity"]["head_distance"] < 0.5


def test_heal_writes_a_green_joined_video(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _pair(tmp_path, "coffee", Defect.EXPOSURE_DOWN)
    out_path = tmp_path / "healed.mp4"
    code, out, _ = _run(capsys, "seam", "heal", str(a), str(b), "-o", str(out_path), "--json")
    assert code == 0
    data = json.loads(out)
    report = data["report"]
    assert report["verdict"] == "healed"
    assert report["grade_before"] != "green"
    assert report["grade_after"] == "green"
    assert report["applied"][0]["remedy"] == "colour_match"
    assert data["output"]["frame_count"] == 2 * FRAMES
    assert len(decode_all(out_path)) == 2 * FRAMES
    # The written file really is healed: its own seam now grades green.
    healed_b = tmp_path / "healed_b.mp4"
    _encode(healed_b, decode_all(out_path)[FRAMES:])
    code, out, _ = _run(capsys, "seam", "analyze", str(a), str(healed_b), "--json")
    assert json.loads(out)["report"]["grade"] == "green"


def test_heal_identity_swap_needs_regeneration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _pair(tmp_path, "astronaut", Defect.IDENTITY)
    seed = tmp_path / "seed.jpg"
    cv2.imwrite(str(seed), cv2.cvtColor(seed_a(), cv2.COLOR_RGB2BGR))
    out_path = tmp_path / "healed.mp4"
    code, out, _ = _run(capsys, "seam", "heal", str(a), str(b), "-o", str(out_path), "--seed-a", str(seed))
    assert code == EXIT_NEEDS_REGENERATION
    assert "boundary 0 needs regeneration" in out
    assert "face changed" in out
    assert not out_path.exists()


def test_stitch_simple_keeps_every_frame(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img, path = photo("rocket"), default_path("rocket")
    files = [_encode(tmp_path / f"s{k}.mp4", animate(img, path, k * FRAMES, FRAMES)) for k in range(3)]
    out_path = tmp_path / "master.mp4"
    code, out, _ = _run(capsys, "stitch", *map(str, files), "-o", str(out_path), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["mode"] == "simple"
    assert [s["grade_before"] for s in data["seams"]] == ["green", "green"]
    assert data["assembly"]["frame_count"] == 3 * FRAMES
    assert data["assembly"]["method"] == "copy"  # every cut on a keyframe: nothing re-encoded
    assert len(decode_all(out_path)) == 3 * FRAMES


def test_stitch_advanced_cuts_past_a_flash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img, path = photo("chelsea"), default_path("chelsea")
    a = _encode(tmp_path / "a.mp4", animate(img, path, 0, 20))
    head = animate(img, path, 17, 20)  # generated over A's last 3 moments; its first 2 frames flash
    b = _encode(tmp_path / "b.mp4", [lab_shift(f, 1.15) for f in head[:2]] + head[2:])
    out_path = tmp_path / "master.mp4"
    code, out, _ = _run(capsys, "stitch", str(a), str(b), "-o", str(out_path), "--mode", "advanced", "--json")
    assert code == 0
    seam = json.loads(out)["seams"][0]
    assert seam["grade_before"] == "red"
    assert seam["grade_after"] == "green"
    assert seam["head_index"] >= 2
    assert 17 + seam["head_index"] == seam["tail_index"] + 1
    kept = (seam["tail_index"] + 1) + (20 - seam["head_index"])
    assert len(decode_all(out_path)) == kept
    code, out, _ = _run(capsys, "stitch", str(a), str(b), "-o", str(tmp_path / "m2.mp4"), "--mode", "advanced")
    assert code == 0
    assert "red -> green" in out


def test_bad_input_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _pair(tmp_path, "coffee", Defect.CLEAN)
    missing = tmp_path / "missing.mp4"
    code, _, err = _run(capsys, "seam", "analyze", str(missing), str(b))
    assert code == 5
    _one_sentence(err)
    assert "missing.mp4" in err

    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    code, _, err = _run(capsys, "seam", "heal", str(a), str(text), "-o", str(tmp_path / "o.mp4"))
    assert code == 2
    _one_sentence(err)
    assert "notes.mp4" in err

    code, _, err = _run(capsys, "stitch", str(a), str(text), "-o", str(tmp_path / "o.mp4"))
    assert code == 2
    _one_sentence(err)

    no_face = tmp_path / "cup.png"
    cv2.imwrite(str(no_face), cv2.cvtColor(photo("coffee"), cv2.COLOR_RGB2BGR))
    code, _, err = _run(capsys, "seam", "analyze", str(a), str(b), "--seed-a", str(no_face))
    assert code == 2
    _one_sentence(err)
    assert "No face found in Seed A" in err

    code, _, err = _run(capsys, "seam", "analyze", str(a), str(b), "--seed-a", str(text))
    assert code == 2
    _one_sentence(err)
    assert "not an image" in err

    small = make_video(tmp_path / "small.mp4", 6, size=(128, 96))
    code, _, err = _run(capsys, "seam", "heal", str(a), str(small), "-o", str(tmp_path / "o.mp4"))
    assert code == 2
    _one_sentence(err)
    assert "Conform the segments" in err
