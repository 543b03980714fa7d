"""comfy layer (see ARCHITECTURE.md)."""
