"""The review player: frame views (GPU with a QPainter fallback), cache bar, timeline, grid,
and the controller that plays them from one shared clock (see player.py)."""
