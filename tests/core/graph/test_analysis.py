"""Cycles and execution order over dependency edges."""

from __future__ import annotations

from x121_desktop.core.graph.analysis import dependency_edges, execution_order, find_cycle
from x121_desktop.core.graph.document import load_document


def test_execution_order_puts_sources_first() -> None:
    edges = {"10": {"2"}, "2": {"1"}, "1": set(), "3": {"1", "2"}}
    assert execution_order(edges) == ["1", "2", "3", "10"]
    assert find_cycle(edges) is None


def test_cycle_is_reported_in_order() -> None:
    edges = {"1": set(), "2": {"1", "4"}, "3": {"2"}, "4": {"3"}}
    cycle = find_cycle(edges)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"2", "3", "4"}
    assert execution_order(edges) is None


def test_self_loop_and_subgraph_ids() -> None:
    assert find_cycle({"5": {"5"}}) == ("5", "5")
    assert execution_order({"5:2": {"5:1"}, "5:1": set(), "5": set()}) == ["5", "5:1", "5:2"]


def test_edges_from_a_document() -> None:
    doc = load_document(
        {
            "nodes": [{"id": 1, "type": "A"}, {"id": 2, "type": "B"}],
            "links": [[1, 1, 0, 2, 0, "X"], [2, 2, 0, 1, 0, "X"]],
        }
    )
    edges = dependency_edges(doc.graph)
    assert edges == {"1": {"2"}, "2": {"1"}}
    assert find_cycle(edges) in {("1", "2", "1"), ("2", "1", "2")}
