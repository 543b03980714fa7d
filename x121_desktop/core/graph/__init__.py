"""Qt-free node-graph model of ComfyUI documents (nodes, sockets, links, groups, subgraphs)."""
