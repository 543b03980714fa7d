"""actions layer (see ARCHITECTURE.md)."""
