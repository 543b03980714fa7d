"""GL cells whose OpenGL context goes away (gl_context_probe.py, in its own process under Xvfb + Mesa).

Each cell's textures are freed in their own context as it goes. Freed later, when Python dropped them,
they crashed the process (a segmentation fault, exit status 139 before the fix): after "Open clips…" had
replaced a grid of GL cells (the dialog's context current then), and when the panel moved to another
window (a dock floated or docked again). A cell in a new window draws its frame again from the planes it
keeps, without a new decode."""

from __future__ import annotations

from pathlib import Path

from tests.ui.review.xvfb_probe import run_probe


def test_gl_cells_survive_a_reload_from_the_dialog_and_a_new_window(clips: dict[str, Path]) -> None:
    found = run_probe("tests.ui.review.gl_context_probe", str(clips["a"]), str(clips["b"]))
    assert found["gpu"] is True  # the cells really drew with OpenGL
    assert (found["first"], found["dialog"], found["second"]) == (True, True, True)
    assert found["mean_before_move"] > 40  # the picture, not the near-black background
    assert found["mean_after_move"] == found["mean_before_move"]  # the same picture in the new window …
    assert found["uploads_after_move"] == 1  # … uploaded once more into the new context, not decoded again
