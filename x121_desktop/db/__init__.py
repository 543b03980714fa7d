"""db layer (see ARCHITECTURE.md)."""
