"""Node editor: open the largest templates, open a generated 1,000-node graph, pan it.

Goals (issue 8): the largest Wan animate template opens (read, parse, build the canvas, first paint)
in <= 300 ms; a generated 1,000-node graph in <= 1 s; the longest event-loop stall while panning it
<= 16 ms. Panning is measured as what blocks the loop per frame: one 24 px scroll step plus the
synchronous repaint of the viewport (1600x1000, raster, offscreen), at 100 %, 50 % and fit-all zoom.
Opening is timed median of 5 (after one warm-up run, which is printed too).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

TEMPLATES = ("video_wan_animate2_distilled", "video_wan_animate2", "templates-6-key-frames")
CHAIN_TYPES = (
    "ImageScaleBy",
    "ImageBlur",
    "ImageSharpen",
    "ImageInvert",
    "ImageFlip",
    "ImageRotate",
    "ImageQuantize",
    "Morphology",
)


def _generated(n_chains: int, length: int) -> Any:
    from tests.ui.node_editor.conftest import recorded_catalog
    from x121_desktop.core.graph.edits import AddNodes
    from x121_desktop.core.graph.model import Graph, Link, WorkflowDocument
    from x121_desktop.core.graph.ops import new_node

    catalog = recorded_catalog()
    nodes, links = [], []
    next_id = 1
    for chain in range(n_chains):
        prev = None
        for step in range(length):
            if step == 0:
                name = "LoadImage"
            elif step == length - 1:
                name = "PreviewImage"
            else:
                name = CHAIN_TYPES[(chain + step) % len(CHAIN_TYPES)]
            node_type = catalog.get(name)
            assert node_type is not None, name
            node = new_node(next_id, node_type, (step * 320.0, chain * 260.0))
            nodes.append(node)
            if prev is not None:
                links.append(Link(len(links) + 1, prev, 0, next_id, 0, "IMAGE"))
            prev = next_id
            next_id += 1
    doc = AddNodes(None, tuple(nodes), tuple(links)).apply(WorkflowDocument(graph=Graph()))
    return doc, catalog


def run() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from tests.comfy.test_convert_support import templates_dir
    from tests.ui.node_editor.conftest import recorded_catalog
    from x121_desktop.ui.node_editor.editor import NodeEditor
    from x121_desktop.ui.theme_qt import apply_theme_named

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    apply_theme_named(app, "obsidian-dark")
    catalog = recorded_catalog()
    editor = NodeEditor(catalog)
    editor.resize(1600, 1000)
    editor.show()
    app.processEvents()

    def open_and_paint(action: Any) -> float:
        t0 = time.perf_counter()
        action()
        editor.view.viewport().repaint()
        return (time.perf_counter() - t0) * 1000

    for name in TEMPLATES:
        path = Path(templates_dir()) / f"{name}.json"
        first = open_and_paint(lambda p=path: editor.open_path(p))
        times = [open_and_paint(lambda p=path: editor.open_path(p)) for _ in range(5)]
        nodes = sum(len(g.nodes) for _, g in editor.document.all_graphs())
        print(
            f"open {name} ({path.stat().st_size / 1024:.0f} KB, {nodes} nodes incl. subgraphs): "
            f"median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms, "
            f"first {first:.1f} ms (goal <= 300 ms)"
        )

    doc, _ = _generated(100, 10)
    first = open_and_paint(lambda: editor.open_document(doc))
    times = [open_and_paint(lambda: editor.open_document(doc)) for _ in range(5)]
    print(
        f"open generated graph ({len(doc.graph.nodes)} nodes, {len(doc.graph.links)} links): "
        f"median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms, first {first:.1f} ms (goal <= 1000 ms)"
    )

    view = editor.view
    for label, zoom in (("100 %", 1.0), ("50 %", 0.5), ("fit all", None)):
        if zoom is None:
            view.fit()
        else:
            view.set_zoom(zoom)
            view.ensure_room()
            view.centerOn(QPointF(1500, 12000))
        view.viewport().repaint()
        frames = []
        for i in range(240):
            dx = 24.0 if (i // 60) % 2 == 0 else -24.0
            t0 = time.perf_counter()
            view.pan_by_pixels(QPointF(dx, 12.0 if i % 2 else -12.0))
            view.viewport().repaint()
            editor.minimap.repaint()
            frames.append((time.perf_counter() - t0) * 1000)
        ordered = sorted(frames)
        print(
            f"pan at {label} (zoom {view.zoom:.2f}): longest stall {ordered[-1]:.1f} ms, "
            f"p99 {ordered[int(len(ordered) * 0.99) - 1]:.1f} ms, median {statistics.median(frames):.1f} ms "
            f"over {len(frames)} frames (goal <= 16 ms)"
        )
    editor.close()
