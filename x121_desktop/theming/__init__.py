"""theming layer (see ARCHITECTURE.md)."""
