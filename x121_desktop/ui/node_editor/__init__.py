"""The node editor: a QGraphicsScene canvas over the Qt-free graph model (core/graph)."""
