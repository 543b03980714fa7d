"""Canvas items: nodes (with sockets and painted widgets), links, groups, reroutes, notes, subgraph ports."""
