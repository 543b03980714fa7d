"""Canvas validation without Qt: a finding inside a subgraph is placed on the nested node and on its
instance node at the top level (ids as the converter writes them, "19:1")."""

from __future__ import annotations

import json

from tests.comfy.test_convert_support import recorded_info, templates_dir
from x121_desktop.core.graph.document import load_document
from x121_desktop.services.node_editor_validation import check_document


def test_nested_findings_are_pinned_inside_and_on_the_instance_node() -> None:
    doc = load_document(json.loads((templates_dir() / "3d_hunyuan3d-v2.1.json").read_text()))
    assert doc.subgraphs
    report = check_document(doc, recorded_info())
    nested = [f for f in report.findings if f.scope is not None]
    assert nested
    for f in nested:
        assert f.scope in doc.subgraphs
        assert any(n.id == int(f.node_id) or str(n.id) == f.node_id for n in doc.subgraphs[f.scope].graph.nodes)
        outer = f.text.split("#", 1)[1].split(":", 1)[0]
        on_top = [t for t in report.findings if t.scope is None and t.node_id == outer and t.text == f.text]
        assert on_top, f"no marker on instance node #{outer}"
        assert any(n.type == f.scope for n in doc.graph.nodes if str(n.id) == outer)
    assert all(f.level == "error" for f in nested if f.kind == "missing_model")
    assert report.errors >= len(nested)
